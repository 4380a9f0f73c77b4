//! The server: listeners, the in-process loopback, connection admission and
//! graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::config::Config;
use crate::context::{Broker, Phase, SessionRegistry};
use crate::handler::{AuthSource, Peer, Service};
use crate::tls::TlsMode;

mod threads;
pub use threads::ServerThreads;

/// Whether a connection may have a session.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Yes; the permit counts it against `max_connections`.
    Admitted(#[allow(dead_code)] OwnedSemaphorePermit),
    /// Over the limit: told 53300 after its startup packet (cancel requests
    /// still work).
    TooMany(#[allow(dead_code)] OwnedSemaphorePermit),
}

/// What every connection of a server shares.
pub(crate) struct Shared<S, A> {
    pub(crate) service: S,
    pub(crate) auth: A,
    pub(crate) config: Config,
    pub(crate) broker: Arc<Broker>,
    /// Established sessions: cancel requests and shutdown reach them here.
    pub(crate) registry: SessionRegistry,
    next_pid: AtomicI32,
    sessions: Arc<Semaphore>,
    overflow: Arc<Semaphore>,
    /// Stop accepting; end idle sessions (established sessions watch the
    /// registry's phase instead, which is cheaper to check).
    pub(crate) shutdown: CancellationToken,
    /// End every session now, running queries included (likewise).
    pub(crate) force: CancellationToken,
    tracker: TaskTracker,
    unix_sockets: Mutex<Vec<PathBuf>>,
}

impl<S, A> Shared<S, A> {
    pub(crate) fn next_process_id(&self) -> i32 {
        // Positive ids, as real process ids are; wraps long before trouble.
        (self.next_pid.fetch_add(1, Ordering::Relaxed) & 0x3FFF_FFFF) + 1
    }
}

/// A PostgreSQL-protocol server: serves the sessions of a [`Service`] on any
/// number of listeners (TCP, Unix socket, in-process), authenticating clients
/// through an [`AuthSource`]. Cheap to clone: clones share everything.
///
/// ```no_run
/// use postwire_server::{Config, Server, TlsMode, Trust};
/// # use postwire_server::{ClientInfo, PgError, Service, Session};
/// # struct MyService;
/// # struct MySession;
/// # impl Session for MySession {}
/// # impl Service for MyService {
/// #     type Session = MySession;
/// #     async fn open(&self, _: &ClientInfo) -> Result<MySession, PgError> { Ok(MySession) }
/// # }
/// # async fn run() -> std::io::Result<()> {
/// let server = Server::new(MyService, Trust, Config::default());
/// let addr = server.listen_tcp("127.0.0.1:5433", TlsMode::Disabled).await?;
/// server.listen_unix("/tmp", addr.port(), TlsMode::Disabled).await?;
/// // … until it is time to stop:
/// server.shutdown(std::time::Duration::from_secs(5)).await;
/// # Ok(()) }
/// ```
pub struct Server<S, A> {
    shared: Arc<Shared<S, A>>,
}

impl<S, A> Clone for Server<S, A> {
    fn clone(&self) -> Self {
        Server { shared: self.shared.clone() }
    }
}

impl<S, A> std::fmt::Debug for Server<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl<S: Service, A: AuthSource> Server<S, A> {
    /// A server for `service`, authenticating through `auth`.
    pub fn new(service: S, auth: A, config: Config) -> Self {
        let max = config.max_connections;
        Server {
            shared: Arc::new(Shared {
                service,
                auth,
                broker: Arc::new(Broker::default()),
                registry: SessionRegistry::default(),
                next_pid: AtomicI32::new(0),
                sessions: Arc::new(Semaphore::new(max)),
                overflow: Arc::new(Semaphore::new(max.max(1))),
                shutdown: CancellationToken::new(),
                force: CancellationToken::new(),
                tracker: TaskTracker::new(),
                unix_sockets: Mutex::new(Vec::new()),
                config,
            }),
        }
    }

    /// The service.
    pub fn service(&self) -> &S {
        &self.shared.service
    }

    /// Binds a TCP listener (IPv4 or IPv6) and serves it until shutdown.
    /// Returns the bound address (useful with port 0).
    pub async fn listen_tcp(&self, addr: impl ToSocketAddrs, tls: TlsMode) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        self.serve_tcp(listener, tls);
        Ok(local)
    }

    /// Serves an already bound TCP listener until shutdown.
    pub fn serve_tcp(&self, listener: TcpListener, tls: TlsMode) {
        let server = self.clone();
        self.accept_tcp(listener, move |stream, peer| server.serve_connection(stream, Peer::Tcp(peer), tls.clone()));
    }

    /// Accepts connections on `listener` until shutdown, handing each to
    /// `dispatch` (in a task on the current runtime).
    fn accept_tcp(&self, listener: TcpListener, mut dispatch: impl FnMut(TcpStream, SocketAddr) + Send + 'static) {
        let shutdown = self.shared.shutdown.clone();
        let span = tracing::info_span!("listener", addr = ?listener.local_addr().ok());
        self.shared.tracker.spawn(
            async move {
                loop {
                    let accepted = tokio::select! {
                        _ = shutdown.cancelled() => break,
                        accepted = listener.accept() => accepted,
                    };
                    match accepted {
                        Ok((stream, peer)) => {
                            let _ = stream.set_nodelay(true);
                            dispatch(stream, peer);
                        }
                        // Out of file descriptors and the like: back off a little.
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
            .instrument(span),
        );
    }

    /// Binds the Unix-domain socket `<dir>/.s.PGSQL.<port>` (where
    /// `psql -h <dir> -p <port>` looks) and serves it until shutdown, when the socket
    /// file is removed. A stale socket file from an earlier run is replaced.
    #[cfg(unix)]
    pub async fn listen_unix(&self, dir: impl AsRef<Path>, port: u16, tls: TlsMode) -> io::Result<PathBuf> {
        let path = dir.as_ref().join(format!(".s.PGSQL.{port}"));
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(io::Error::new(io::ErrorKind::AddrInUse, format!("{} is in use", path.display())));
        }
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path)?;
        self.shared.unix_sockets.lock().unwrap_or_else(PoisonError::into_inner).push(path.clone());
        let server = self.clone();
        let span = tracing::info_span!("listener", path = %path.display());
        self.shared.tracker.spawn(
            async move {
                loop {
                    let accepted = tokio::select! {
                        _ = server.shared.shutdown.cancelled() => break,
                        accepted = listener.accept() => accepted,
                    };
                    match accepted {
                        Ok((stream, _)) => server.serve_connection(stream, Peer::Unix, tls.clone()),
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
            .instrument(span),
        );
        Ok(path)
    }

    /// An in-process connection: the client's end of a pipe whose other end
    /// this server serves, as if it had connected over a socket.
    ///
    /// ```
    /// # use postwire_server::{ClientInfo, Config, PgError, QueryResponse, Server, Service, Session, Trust, Context};
    /// struct Hello;
    /// impl Session for Hello {
    ///     async fn simple_query(&mut self, _: &mut Context, _: &str, out: &mut QueryResponse<'_>) -> Result<(), PgError> {
    ///         out.complete("HELLO").await
    ///     }
    /// }
    /// impl Service for Hello {
    ///     type Session = Hello;
    ///     async fn open(&self, _: &ClientInfo) -> Result<Hello, PgError> { Ok(Hello) }
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = Server::new(Hello, Trust, Config::default());
    /// let stream = server.connect_loopback();
    /// let (client, connection) = tokio_postgres::Config::new()
    ///     .user("me")
    ///     .connect_raw(stream, tokio_postgres::NoTls)
    ///     .await
    ///     .unwrap();
    /// tokio::spawn(connection);
    /// client.batch_execute("anything").await.unwrap();
    /// # }
    /// ```
    pub fn connect_loopback(&self) -> DuplexStream {
        let size = self.shared.config.output_buffer_size.max(8 * 1024);
        let (client, server) = tokio::io::duplex(size);
        self.serve_connection(server, Peer::Loopback, TlsMode::Disabled);
        client
    }

    /// Serves one connection over any byte stream (a custom transport), with
    /// the connection limit applied as for a listener.
    pub fn serve_connection(
        &self,
        stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
        peer: Peer,
        tls: TlsMode,
    ) {
        let admission = match self.shared.sessions.clone().try_acquire_owned() {
            Ok(permit) => Admission::Admitted(permit),
            Err(_) => match self.shared.overflow.clone().try_acquire_owned() {
                Ok(permit) => Admission::TooMany(permit),
                Err(_) => {
                    tracing::warn!(?peer, "too many connections: closed at once");
                    return;
                }
            },
        };
        if self.shared.shutdown.is_cancelled() {
            return;
        }
        let shared = self.shared.clone();
        let span = tracing::info_span!("connection", ?peer, pid = tracing::field::Empty);
        self.shared.tracker.spawn(
            async move {
                if let Err(e) = crate::conn::run(shared, Box::new(stream), peer, tls, admission).await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            .instrument(span),
        );
    }

    /// NOTIFY from outside any session (process id 0): every session that
    /// listens to `channel` receives `payload`.
    pub fn notify(&self, channel: &str, payload: &str) {
        self.shared.broker.notify(0, channel, payload);
    }

    /// Sessions being served now.
    pub fn active_sessions(&self) -> usize {
        self.shared.config.max_connections - self.shared.sessions.available_permits()
    }

    /// Shuts down gracefully: stops accepting, ends idle sessions with FATAL
    /// 57P01, lets running commands finish for up to `grace`, then ends the
    /// rest with 57P01 too. Returns when every connection is closed.
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.shutdown.cancel();
        self.shared.registry.shut_down(Phase::Draining);
        self.shared.tracker.close();
        if tokio::time::timeout(grace, self.shared.tracker.wait()).await.is_err() {
            self.shared.force.cancel();
            self.shared.registry.shut_down(Phase::Forced);
            self.shared.tracker.wait().await;
        }
        for path in self.shared.unix_sockets.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}
