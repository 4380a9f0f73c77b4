//! Counts the instructions of one server-side SCRAM-SHA-256 login with a
//! stored verifier, as the device runs it (thumbv7em, opt-level z, LTO, the
//! compact SHA-256 backend), on QEMU's MPS2 Cortex-M4 board.
//!
//! QEMU runs with `-icount shift=0`: its virtual clock advances one
//! nanosecond per instruction, and SysTick (on the 25 MHz system clock)
//! follows that clock, so SysTick ticks count instructions. A loop of known
//! length calibrates the ratio. QEMU does not model pipelines, wait states
//! or the DWT cycle counter: these are instruction counts; cycles are
//! estimated from them in BENCHMARKS.md.
//!
//! Run with `bash examples/scram-cycles/run.sh`.
#![no_std]
#![no_main]

use core::convert::Infallible;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use postwire_codec::auth::scram::{ChannelBindingFlag, ScramClient, ScramServer, ScramVerifier};

/// The firmware's verifier (examples/firmware): password `postwire`, 4,096
/// iterations.
const VERIFIER: &str = "SCRAM-SHA-256$4096:cG9zdHdpcmUtZnctc2FsdA==$\
    leOeVQT+dwtr+rlAEEBtAVXlNX5SvyGNEnqZurcEPG4=:rc8GMS7ZR2u1MbdlvHNIp02kGzUa5WcxhJpXpatmtt0=";
const PASSWORD: &[u8] = b"postwire";

/// SysTick counts down through 24 bits.
const SYSTICK_MASK: u32 = 0x00FF_FFFF;

/// A xorshift generator standing in for the hardware RNG (its cost is the
/// board's, not postwire's).
struct TestRng(u32);

impl rand_core::TryRng for TestRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        Ok(self.0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let high = u64::from(self.try_next_u32()?);
        Ok(high << 32 | u64::from(self.try_next_u32()?))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(4) {
            let word = self.try_next_u32()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for TestRng {}

/// SysTick ticks spent in `work` (at most 2^24 - 1).
fn ticks<T>(work: impl FnOnce() -> T) -> (u32, T) {
    let start = SYST::get_current();
    let value = work();
    let end = SYST::get_current();
    (start.wrapping_sub(end) & SYSTICK_MASK, value)
}

/// Two instructions per iteration (`subs`, `bne`).
fn countdown(iterations: u32) {
    // SAFETY: a register-only loop; no memory is touched.
    unsafe {
        core::arch::asm!("1:", "subs {0}, {0}, #1", "bne 1b", inout(reg) iterations => _, options(nomem, nostack));
    }
}

fn fail(what: &str) -> ! {
    hprintln!("scram-cycles: {}", what);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    let mut core = cortex_m::Peripherals::take().unwrap_or_else(|| fail("no core peripherals"));
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(SYSTICK_MASK);
    core.SYST.clear_current();
    core.SYST.enable_counter();

    const LOOP: u32 = 2_000_000;
    let (loop_ticks, ()) = ticks(|| countdown(LOOP));
    let per_tick = (2 * LOOP) / loop_ticks.max(1);
    hprintln!("calibration: {} instructions in {} ticks: {} instructions per tick", 2 * LOOP, loop_ticks, per_tick);

    // The client's side runs outside the measured spans.
    let mut rng = TestRng(0x2545_f491);
    let mut client = ScramClient::with_nonce(b"rOprNGfwEbeRWgbNEkqO").unwrap_or_else(|_| fail("client nonce"));
    let mut client_first = [0u8; 256];
    let n = client.client_first("", ChannelBindingFlag::Unsupported, &mut client_first).unwrap_or_else(|_| fail("c1"));
    let client_first = &client_first[..n];

    let mut server_first = [0u8; 512];
    let (first_ticks, (mut server, n)) = ticks(|| {
        let verifier = ScramVerifier::parse(VERIFIER).unwrap_or_else(|_| fail("verifier"));
        let mut server = ScramServer::new(verifier, None, &mut rng).unwrap_or_else(|_| fail("server"));
        let n = server.client_first("SCRAM-SHA-256", client_first, &mut server_first).unwrap_or_else(|_| fail("s1"));
        (server, n)
    });

    client.server_first(&server_first[..n], 4096).unwrap_or_else(|_| fail("client: server-first"));
    let mut client_final = [0u8; 256];
    let n = client.client_final(PASSWORD, None, &mut client_final).unwrap_or_else(|_| fail("client-final"));

    let mut server_final = [0u8; 256];
    let (final_ticks, result) = ticks(|| server.client_final(&client_final[..n], &mut server_final));
    let n = result.unwrap_or_else(|_| fail("the server refused a right password"));
    client.server_final(&server_final[..n]).unwrap_or_else(|_| fail("the client refused the server's signature"));

    let (derive_ticks, _) = ticks(|| ScramVerifier::derive(PASSWORD, b"postwire-fw-salt", 4096));

    let login = (first_ticks + final_ticks) * per_tick;
    hprintln!(
        "server, client-first (parse the verifier, draw the nonce, answer): {} instructions",
        first_ticks * per_tick
    );
    hprintln!("server, client-final (verify the proof, sign): {} instructions", final_ticks * per_tick);
    hprintln!("one login, server side: {} instructions", login);
    hprintln!(
        "deriving the verifier from the password (PBKDF2, 4,096 iterations): {} instructions",
        derive_ticks * per_tick
    );
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    fail("panicked")
}
