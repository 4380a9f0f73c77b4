//! The accept loop on an `embassy-net` TCP stack.

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;

use crate::config::Config;
use crate::conn::{ConnectionBuffers, serve_connection};
use crate::handler::Handler;
use crate::log::debug;
use crate::timer::Timer;

/// Accepts clients on `port`, one at a time, forever; run it from N
/// executor tasks (each with its own buffers) to serve N at once.
/// `rx`/`tx` are the TCP socket buffers; `first_process_id` numbers this
/// task's sessions (give each task its own range).
#[allow(clippy::too_many_arguments)]
pub async fn listen_and_serve<H, T, R, const INPUT: usize, const OUTPUT: usize>(
    stack: Stack<'_>,
    port: u16,
    rx: &mut [u8],
    tx: &mut [u8],
    buffers: &mut ConnectionBuffers<INPUT, OUTPUT>,
    config: &Config<'_>,
    handler: &mut H,
    timer: &mut T,
    rng: &mut R,
    first_process_id: i32,
) -> !
where
    H: Handler,
    T: Timer,
    R: rand_core::CryptoRng,
{
    let mut process_id = first_process_id;
    loop {
        let mut socket = TcpSocket::new(stack, rx, tx);
        if socket.accept(port).await.is_err() {
            continue;
        }
        process_id = process_id.wrapping_add(1);
        let _outcome = serve_connection(&mut socket, buffers, config, handler, timer, rng, process_id).await;
        debug!("connection ended");
        socket.close();
        // Let the FIN and anything pending go out before the buffers are reused.
        let _ = timer.with_timeout(1_000, socket.flush()).await;
        socket.abort();
    }
}
