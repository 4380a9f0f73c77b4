//! Thread-per-core serving: one single-threaded runtime per thread, each
//! connection pinned to one of them.

use std::io;
use std::num::NonZeroUsize;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::runtime::{Builder, Handle};

use super::Server;
use crate::handler::{AuthSource, Peer, Service};
use crate::tls::TlsMode;

/// The threads started by [`Server::serve_tcp_on_threads`].
#[derive(Debug)]
pub struct ServerThreads {
    threads: Vec<JoinHandle<()>>,
}

impl ServerThreads {
    /// How many threads serve connections.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Whether there are none (never: at least one thread is started).
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Blocks until every thread has ended, which happens once
    /// [`Server::shutdown`] has closed every connection.
    pub fn join(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

impl<S: Service, A: AuthSource> Server<S, A> {
    /// Serves `listener` from `threads` new OS threads, each running its own
    /// single-threaded tokio runtime. Connections are handed to the threads
    /// in turn and stay on theirs: a session's reads, handler calls and
    /// writes never cross threads, so there is no work stealing and no
    /// wake-up of another thread per message, which makes many small queries
    /// cheaper than on tokio's multi-threaded runtime. The trade: a handler
    /// that blocks or computes for long holds up the other sessions on its
    /// thread. Everything else (limits, cancel, NOTIFY, [`Server::shutdown`])
    /// works as with [`Server::serve_tcp`]; the threads end once shutdown
    /// has closed every connection.
    ///
    /// Call it from outside a runtime or from within one; either way the
    /// connections run on the new threads.
    ///
    /// ```no_run
    /// use std::num::NonZeroUsize;
    /// use postwire_server::{Config, Server, TlsMode, Trust};
    /// # use postwire_server::{ClientInfo, PgError, Service, Session};
    /// # struct MyService;
    /// # struct MySession;
    /// # impl Session for MySession {}
    /// # impl Service for MyService {
    /// #     type Session = MySession;
    /// #     async fn open(&self, _: &ClientInfo) -> Result<MySession, PgError> { Ok(MySession) }
    /// # }
    /// # fn run() -> std::io::Result<()> {
    /// let server = Server::new(MyService, Trust, Config::default());
    /// let listener = std::net::TcpListener::bind("127.0.0.1:5433")?;
    /// let cores = std::thread::available_parallelism()?;
    /// let threads = server.serve_tcp_on_threads(listener, TlsMode::Disabled, cores)?;
    /// threads.join(); // until another thread calls server.shutdown(…)
    /// # Ok(()) }
    /// ```
    pub fn serve_tcp_on_threads(
        &self,
        listener: std::net::TcpListener,
        tls: TlsMode,
        threads: NonZeroUsize,
    ) -> io::Result<ServerThreads> {
        listener.set_nonblocking(true)?;
        let runtimes = (0..threads.get())
            .map(|_| Builder::new_current_thread().enable_all().build())
            .collect::<io::Result<Vec<_>>>()?;
        let handles: Vec<Handle> = runtimes.iter().map(|runtime| runtime.handle().clone()).collect();
        {
            // The listener and its accept loop live on the first thread.
            let _entered = handles[0].enter();
            let listener = TcpListener::from_std(listener)?;
            let server = self.clone();
            let mut next = 0;
            self.accept_tcp(listener, move |stream, peer| {
                let turn = next;
                next = (next + 1) % handles.len();
                if turn == 0 {
                    // This thread's turn: no hand-over needed.
                    return server.serve_connection(stream, Peer::Tcp(peer), tls.clone());
                }
                // Re-registered with the other thread's reactor, so its I/O
                // is driven there.
                let stream = match stream.into_std() {
                    Ok(stream) => stream,
                    Err(e) => return tracing::warn!(error = %e, "could not hand a connection over"),
                };
                let (server2, tls) = (server.clone(), tls.clone());
                handles[turn].spawn(server.shared.tracker.track_future(async move {
                    match tokio::net::TcpStream::from_std(stream) {
                        Ok(stream) => server2.serve_connection(stream, Peer::Tcp(peer), tls),
                        Err(e) => tracing::warn!(error = %e, "could not hand a connection over"),
                    }
                }));
            });
        }
        let mut started = Vec::with_capacity(runtimes.len());
        for (i, runtime) in runtimes.into_iter().enumerate() {
            let shared = self.shared.clone();
            let thread = std::thread::Builder::new().name(format!("postwire-{i}")).spawn(move || {
                runtime.block_on(async {
                    shared.shutdown.cancelled().await;
                    shared.tracker.wait().await;
                })
            })?;
            started.push(thread);
        }
        Ok(ServerThreads { threads: started })
    }
}
