//! The accept loop on an `embassy-net` TCP stack.

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;

use crate::config::Config;
use crate::conn::{ConnectionBuffers, serve_connection};
use crate::handler::Handler;
use crate::log::debug;
use crate::timer::Timer;

/// Accepts clients on `port`, one at a time, forever; run it from N
/// executor tasks (each with its own buffers) to serve N at once, or use
/// [`serve_concurrently`] to run N from one task.
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

/// What one of [`serve_concurrently`]'s connections owns: its TCP socket
/// buffers, its message buffers, its handler, timer and RNG.
pub struct ConnectionSlot<'a, H, T, R, const INPUT: usize, const OUTPUT: usize> {
    /// The TCP receive buffer.
    pub rx: &'a mut [u8],
    /// The TCP send buffer.
    pub tx: &'a mut [u8],
    /// The protocol's input and output buffers.
    pub buffers: &'a mut ConnectionBuffers<INPUT, OUTPUT>,
    /// Answers this connection's queries.
    pub handler: H,
    /// Stall and idle timeouts.
    pub timer: T,
    /// Salts, nonces and cancel keys.
    pub rng: R,
}

/// Serves up to `N` clients at once on `port` from one task: `N` accept
/// loops ([`listen_and_serve`]), one per slot, polled together. All memory
/// is the caller's: `N` is fixed at compile time, and nothing grows.
///
/// ```ignore
/// let mut slots: [ConnectionSlot<'_, _, _, _, 1024, 1024>; 2] = ...;
/// serve_concurrently(stack, 5432, &config, &mut slots).await
/// ```
pub async fn serve_concurrently<H, T, R, const N: usize, const INPUT: usize, const OUTPUT: usize>(
    stack: Stack<'_>,
    port: u16,
    config: &Config<'_>,
    slots: &mut [ConnectionSlot<'_, H, T, R, INPUT, OUTPUT>; N],
) -> !
where
    H: Handler,
    T: Timer,
    R: rand_core::CryptoRng,
{
    let mut index = 0i32;
    let loops = slots.each_mut().map(|slot| {
        index += 1;
        let ConnectionSlot { rx, tx, buffers, handler, timer, rng } = slot;
        // Each loop numbers its sessions in its own range.
        listen_and_serve(stack, port, rx, tx, buffers, config, handler, timer, rng, index << 20)
    });
    embassy_futures::join::join_array(loops).await;
    // Every loop runs forever; this only satisfies the type.
    loop {
        core::future::pending::<()>().await;
    }
}
