//! The embedded serve loop on the host: embassy-net over a TAP device, the
//! same code a microcontroller runs. `embedded/tap-test.sh` starts it inside
//! a network namespace of its own:
//!
//! ```sh
//! tap_server tap0 10.77.0.2/24
//! ```
//!
//! Users: `postwire` (SCRAM-SHA-256, password `postwire`, from a stored
//! verifier) and `trusted` (trust). Table `readings`: 10,000 rows of
//! (id int4, place text, celsius float8).

use embassy_executor::Spawner;
use embassy_net::{Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use postwire_codec::auth::scram::ScramVerifier;
use postwire_codec::{EncodeError, oid};
use postwire_embedded::{
    Config, ConnectionBuffers, ConnectionSlot, Credentials, EmbassyTimer, RowWriter, Table, User, serve_concurrently,
};
use static_cell::StaticCell;

/// Connections served at once.
const TASKS: usize = 4;
const PORT: u16 = 5432;

type Reading = (i32, &'static str, f64);

fn write_reading((id, place, celsius): &Reading, row: &mut RowWriter<'_, '_>) -> Result<(), EncodeError> {
    row.value(id)?;
    row.value(*place)?;
    row.value(celsius)
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

/// All the connections, served from one task by `serve_concurrently`.
#[embassy_executor::task]
async fn pg_task(stack: Stack<'static>, config: &'static Config<'static>, rows: &'static [Reading]) -> ! {
    let mut rx = [[0u8; 4096]; TASKS];
    let mut tx = [[0u8; 4096]; TASKS];
    let mut buffers: [ConnectionBuffers<2048, 2048>; TASKS] = core::array::from_fn(|_| ConnectionBuffers::new());
    let table = || {
        Table::new(
            "readings",
            &[("id", oid::INT4), ("place", oid::TEXT), ("celsius", oid::FLOAT8)],
            rows,
            write_reading,
        )
    };
    let mut rx = rx.iter_mut();
    let mut tx = tx.iter_mut();
    let mut buffers = buffers.iter_mut();
    let mut slots: [_; TASKS] = core::array::from_fn(|_| ConnectionSlot {
        rx: rx.next().expect("one per slot"),
        tx: tx.next().expect("one per slot"),
        buffers: buffers.next().expect("one per slot"),
        handler: table(),
        timer: EmbassyTimer,
        rng: rand::rng(),
    });
    serve_concurrently(stack, PORT, config, &mut slots).await
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let mut args = std::env::args().skip(1);
    let tap = args.next().unwrap_or_else(|| "tap0".into());
    let address: Ipv4Cidr = args.next().unwrap_or_else(|| "10.77.0.2/24".into()).parse().expect("an IPv4 CIDR");

    let device = TunTapDevice::new(&tap).expect("open the TAP device (run as root, inside the test namespace)");
    let net_config =
        embassy_net::Config::ipv4_static(StaticConfigV4 { address, gateway: None, dns_servers: Default::default() });
    static RESOURCES: StaticCell<StackResources<{ TASKS + 2 }>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, net_config, RESOURCES.init(StackResources::new()), rand::random());
    spawner.spawn(net_task(runner).expect("net task"));

    // The verifier is made here for the demo; a device stores it instead.
    let verifier = ScramVerifier::derive(b"postwire", b"postwire-tap-salt", 4096).expect("verifier");
    let verifier: &'static str = Box::leak(verifier.to_text().to_string().into_boxed_str());
    let users: &'static [User<'static>] = Box::leak(Box::new([
        User { name: "postwire", credentials: Credentials::Scram(verifier) },
        User { name: "trusted", credentials: Credentials::Trust },
    ]));
    static CONFIG: StaticCell<Config<'static>> = StaticCell::new();
    let config: &'static Config<'static> = CONFIG.init(Config::new(users).with_stall_timeout_ms(5_000));
    let places = ["hall", "attic", "cellar", "garage"];
    let rows: Vec<Reading> =
        (0..10_000).map(|i| (i, places[i as usize % 4], 15.0 + f64::from(i % 100) / 10.0)).collect();
    let rows: &'static [Reading] = rows.leak();
    spawner.spawn(pg_task(stack, config, rows).expect("pg task"));
    println!("listening on {address} port {PORT} ({TASKS} connections)");
}
