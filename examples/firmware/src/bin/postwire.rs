//! postwire on a Nucleo-F767ZI: `psql "host=192.168.1.50 user=postwire
//! password=postwire" -c 'SELECT * FROM readings'` reads the sensor table
//! straight from the board. Two connections at once.
#![no_std]
#![no_main]

use core::cell::RefCell;
use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_stm32::peripherals::RNG;
use embassy_stm32::rng::Rng;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use panic_halt as _;
use postwire_codec::{EncodeError, oid};
use postwire_embedded::{
    Config, ConnectionBuffers, Credentials, EmbassyTimer, RowWriter, Table, User, listen_and_serve,
};
use postwire_firmware::board;
use static_cell::StaticCell;

/// A SCRAM-SHA-256 verifier for the password `postwire`, made on the host
/// (`ScramVerifier::derive(b"postwire", b"postwire-fw-salt", 4096)`) so the
/// board never runs PBKDF2.
const VERIFIER: &str = "SCRAM-SHA-256$4096:cG9zdHdpcmUtZnctc2FsdA==$\
    leOeVQT+dwtr+rlAEEBtAVXlNX5SvyGNEnqZurcEPG4=:rc8GMS7ZR2u1MbdlvHNIp02kGzUa5WcxhJpXpatmtt0=";

static USERS: [User<'static>; 1] = [User { name: "postwire", credentials: Credentials::Scram(VERIFIER) }];
static CONFIG: Config<'static> = Config::new(&USERS).with_stall_timeout_ms(5_000);

/// One sensor reading: id, place, degrees Celsius.
type Reading = (i32, &'static str, f64);

const TASKS: usize = 2;

/// rand_core 0.10 over the one hardware RNG, shared by the connection
/// tasks (embassy-stm32 implements older rand_core versions).
#[derive(Clone, Copy)]
struct HardwareRng(&'static Mutex<CriticalSectionRawMutex, RefCell<Rng<'static, RNG>>>);

impl rand_core::TryRng for HardwareRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.lock(|rng| rng.borrow_mut().next_u32()))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.lock(|rng| rng.borrow_mut().next_u64()))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.lock(|rng| rng.borrow_mut().fill_bytes(dst));
        Ok(())
    }
}

impl rand_core::TryCryptoRng for HardwareRng {}

fn write_reading((id, place, celsius): &Reading, row: &mut RowWriter<'_, '_>) -> Result<(), EncodeError> {
    row.value(id)?;
    row.value(*place)?;
    row.value(celsius)
}

#[embassy_executor::task(pool_size = TASKS)]
async fn pg_task(stack: Stack<'static>, index: usize, readings: &'static [Reading], mut rng: HardwareRng) -> ! {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 2048];
    let mut buffers = ConnectionBuffers::<1024, 1024>::new();
    let mut table = Table::new(
        "readings",
        &[("id", oid::INT4), ("place", oid::TEXT), ("celsius", oid::FLOAT8)],
        readings,
        write_reading,
    );
    let first_process_id = (index as i32 + 1) << 16;
    listen_and_serve(
        stack,
        5432,
        &mut rx,
        &mut tx,
        &mut buffers,
        &CONFIG,
        &mut table,
        &mut EmbassyTimer,
        &mut rng,
        first_process_id,
    )
    .await
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let (stack, rng) = board::start(&spawner);
    static RNG_CELL: StaticCell<Mutex<CriticalSectionRawMutex, RefCell<Rng<'static, RNG>>>> = StaticCell::new();
    let rng = HardwareRng(RNG_CELL.init(Mutex::new(RefCell::new(rng))));

    // A real board samples its sensors here; the table is a heapless::Vec
    // the application refreshes.
    static READINGS: StaticCell<heapless::Vec<Reading, 16>> = StaticCell::new();
    let readings = READINGS.init(heapless::Vec::new());
    for (i, place) in ["hall", "attic", "cellar", "garage"].into_iter().enumerate() {
        let _ = readings.push((i as i32 + 1, place, 20.0 + i as f64 * 0.5));
    }
    let readings: &'static [Reading] = readings;
    for index in 0..TASKS {
        spawner.spawn(pg_task(stack, index, readings, rng).unwrap());
    }
}
