//! PostgreSQL's wire protocol on a microcontroller: a `no_std`, heap-free
//! driver for the `postwire-codec` backend machine.
//!
//! The protocol lives in the codec; this crate only moves bytes between a
//! socket (any [`embedded_io_async`] `Read + Write`, or an `embassy-net` TCP
//! socket with the `embassy-net` feature) and the machine, and hands queries
//! to your [`Handler`]. Every buffer comes from the caller, as in picoserve:
//! [`ConnectionBuffers`] holds one connection's input, output, statement and
//! parameter storage.
//!
//! ```no_run
//! # async fn demo(socket: impl embedded_io_async::Read + embedded_io_async::Write,
//! #               rng: &mut impl rand_core::CryptoRng) {
//! use postwire_embedded::{Config, ConnectionBuffers, Credentials, NoTimer, Table, User, serve_connection};
//! use postwire_codec::oid;
//!
//! static USERS: [User; 1] = [User { name: "sensor", credentials: Credentials::Password("secret") }];
//! let readings = [(1_i32, 21.5_f64), (2, 21.7)];
//! let mut table = Table::new("readings", &[("id", oid::INT4), ("celsius", oid::FLOAT8)], &readings,
//!     |(id, celsius), row| { row.value(id)?; row.value(celsius) });
//! let mut buffers = ConnectionBuffers::<1024, 1024>::new();
//! let config = Config::new(&USERS);
//! let _ = serve_connection(socket, &mut buffers, &config, &mut table, &mut NoTimer, rng, 1).await;
//! # }
//! ```
//!
//! With an `embassy-net` stack, [`serve_concurrently`] serves `N` clients at
//! once from one task (`N` a const generic, one [`ConnectionSlot`] of
//! caller-owned buffers each); [`listen_and_serve`] is one such loop, to run
//! from a task of its own.
//!
//! Features: `embassy-net` (the TCP accept loops), `embassy-time` (timeouts
//! with `embassy-time`), `defmt` (logging and `defmt::Format` on errors).
#![no_std]

mod config;
mod conn;
mod handler;
mod log;
#[cfg(feature = "embassy-net")]
mod net;
mod params;
mod table;
mod timer;

pub use config::{Config, Credentials, User};
pub use conn::{ConnectionBuffers, Error, PORTALS, STATEMENTS, serve_connection};
pub use handler::{Description, Handler, QueryError, RowWriter, Rows, Tag};
#[cfg(feature = "embassy-net")]
pub use net::{ConnectionSlot, listen_and_serve, serve_concurrently};
pub use params::Params;
pub use table::{MAX_TABLE_COLUMNS, Table};
#[cfg(feature = "embassy-time")]
pub use timer::EmbassyTimer;
pub use timer::{NoTimer, TimedOut, Timer};
