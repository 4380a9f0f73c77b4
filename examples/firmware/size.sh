#!/usr/bin/env bash
# Flash and RAM of the firmware against its goals (BENCHMARKS.md, Embedded):
# postwire's part of the flash (the `postwire` binary minus the `echo` one
# on the same board and stack) at most 64 KiB, and per-connection state
# (one connection task's storage minus its 4 KiB of TCP and 2 KiB of message
# buffers) at most 4 KiB. Run after `cargo build --release` here.
set -euo pipefail
cd "$(dirname "$0")"
dir=target/thumbv7em-none-eabihf/release
size=$(command -v llvm-size || find "$(rustc --print sysroot)" -name llvm-size -type f | head -n1)
nm=$(command -v llvm-nm || find "$(rustc --print sysroot)" -name llvm-nm -type f | head -n1)
flash() { "$size" "$dir/$1" | awk 'NR == 2 { print $1 + $2 }'; }
echo_flash=$(flash echo)
postwire_flash=$(flash postwire)
part=$((postwire_flash - echo_flash))
tasks=$("$nm" -S -C --radix=d "$dir/postwire" | awk '/pg_task::POOL/ { print $2 + 0 }')
per_connection=$((tasks / 2 - 4096 - 2048))
echo "flash: echo $echo_flash B, postwire $postwire_flash B, postwire's part $part B (goal <= 65536)"
echo "per-connection state: $per_connection B (goal <= 4096)"
[ "$part" -le 65536 ] && [ "$per_connection" -le 4096 ]
