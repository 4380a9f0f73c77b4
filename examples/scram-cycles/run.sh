#!/usr/bin/env bash
# Builds the SCRAM measurement for thumbv7em and runs it on QEMU's MPS2
# Cortex-M4 board (installing qemu-system-arm when missing). Prints the
# instruction counts; exits non-zero if the login fails on the device.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v qemu-system-arm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq qemu-system-arm >/dev/null
fi
cargo build -q --release
timeout 300 cargo run -q --release
