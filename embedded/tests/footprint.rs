//! Per-connection memory besides the socket and message buffers: the
//! statement/portal storage and the serve loop's future (which holds the
//! backend machine). Printed for BENCHMARKS.md, and guarded so growth is
//! a conscious choice. Measured on the 64-bit host, where pointers and
//! `usize` are twice their size on a Cortex-M; the firmware's figure is in
//! BENCHMARKS.md.

use postwire_codec::oid;
use postwire_embedded::{Config, ConnectionBuffers, NoTimer, Table, serve_connection};

struct NoSocket;

impl embedded_io_async::ErrorType for NoSocket {
    type Error = core::convert::Infallible;
}
impl embedded_io_async::Read for NoSocket {
    async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(0)
    }
}
impl embedded_io_async::Write for NoSocket {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn per_connection_state_stays_small() {
    let rows = [(1i32,)];
    let mut table = Table::new("t", &[("id", oid::INT4)], &rows, |r: &(i32,), w| w.value(&r.0));
    let mut buffers = ConnectionBuffers::<0, 0>::new();
    let config = Config::new(&[]);
    let mut rng = rand::rng();
    let mut timer = NoTimer;
    let future = serve_connection(NoSocket, &mut buffers, &config, &mut table, &mut timer, &mut rng, 1);
    let future_size = size_of_val(&future);
    drop(future);
    let storage = size_of::<ConnectionBuffers<0, 0>>();
    println!("serve_connection future: {future_size} bytes; statement and portal storage: {storage} bytes");
    assert!(future_size + storage <= 4608, "per-connection state grew to {} bytes", future_size + storage);
}

#[test]
fn machine_size() {
    use postwire_codec::session::backend::Backend;
    let machine =
        size_of::<Backend<&'static mut [u8], { postwire_embedded::STATEMENTS }, { postwire_embedded::PORTALS }>>();
    println!("backend machine: {machine} bytes");
}
