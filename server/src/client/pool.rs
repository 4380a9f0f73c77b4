//! A small connection pool: at most `max_size` connections, idle ones
//! reused last-in first-out, checked when they are handed out.
//!
//! There is no background task: expired connections (`max_lifetime`,
//! `idle_timeout`) are dropped when [`Pool::get`] or a return finds them.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postwire_codec::backend::TransactionStatus;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Client, ClientConfig, ClientError, connect};

/// How the pool sizes and checks its connections.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Connections open at most, in use and idle together (at least 1).
    pub max_size: usize,
    /// How long [`Pool::get`] may take, waiting and connecting included,
    /// before it fails with [`PoolError::Timeout`]; `None` waits as long as
    /// it takes.
    pub acquire_timeout: Option<Duration>,
    /// Connections older than this are closed instead of reused.
    pub max_lifetime: Option<Duration>,
    /// Connections idle longer than this are closed instead of reused. With
    /// this or `max_lifetime`, a pool made inside a tokio runtime also
    /// closes expired idle connections in the background.
    pub idle_timeout: Option<Duration>,
    /// Connections idle longer than this are sent an empty query before
    /// they are handed out, and closed if it fails; `None` skips the check.
    pub check_after_idle: Option<Duration>,
}

impl Default for PoolConfig {
    /// Ten connections, no timeouts, a check after 30 s idle.
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            acquire_timeout: None,
            max_lifetime: None,
            idle_timeout: None,
            check_after_idle: Some(Duration::from_secs(30)),
        }
    }
}

/// Why [`Pool::get`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// No connection within [`PoolConfig::acquire_timeout`].
    Timeout,
    /// Opening a connection failed.
    Connect(ClientError),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout => f.write_str("timed out waiting for a pooled connection"),
            PoolError::Connect(e) => write!(f, "opening a pooled connection failed: {e}"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Timeout => None,
            PoolError::Connect(e) => Some(e),
        }
    }
}

/// A snapshot of the pool's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, in use and idle.
    pub size: usize,
    /// Connections waiting in the pool for a caller.
    pub idle: usize,
    /// Callers of [`Pool::get`] waiting for a connection.
    pub waiting: usize,
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<Client, ClientError>> + Send>>;
type Connector = dyn Fn() -> ConnectFuture + Send + Sync;

/// A pool of connections; cheap to clone (clones share the pool).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use postwire_server::client::{ClientConfig, Pool, PoolConfig};
///
/// let config = ClientConfig::from_url("postgres://alice:secret@127.0.0.1:5432/shop")?;
/// let pool = Pool::new(config, PoolConfig { max_size: 4, ..PoolConfig::default() });
/// let client = pool.get().await?;
/// client.simple_query("SELECT 1").await?;
/// drop(client); // back to the pool
/// assert_eq!(pool.status().idle, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    connector: Box<Connector>,
    config: PoolConfig,
    /// One permit per connection a caller may hold.
    permits: Arc<Semaphore>,
    /// Idle connections, the most recently returned last.
    idle: Mutex<Vec<Idle>>,
    /// Connections open (in use and idle).
    size: Arc<AtomicUsize>,
    waiting: AtomicUsize,
    next_id: AtomicU64,
}

/// A connection and its ages.
#[derive(Debug)]
struct Connection {
    client: Client,
    id: u64,
    opened: Instant,
    _counted: OpenCount,
}

/// Counts a connection in the pool's size until it is dropped, however
/// that happens (a failed check, a cancelled `get`, a discard).
#[derive(Debug)]
struct OpenCount(Arc<AtomicUsize>);

impl OpenCount {
    fn new(size: &Arc<AtomicUsize>) -> Self {
        size.fetch_add(1, Ordering::SeqCst);
        OpenCount(size.clone())
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct Idle {
    connection: Connection,
    since: Instant,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("config", &self.shared.config).field("status", &self.status()).finish()
    }
}

impl Pool {
    /// A pool that opens connections with [`connect`] and `config`. No
    /// connection is opened until one is asked for.
    pub fn new(config: ClientConfig, pool: PoolConfig) -> Self {
        let config = Arc::new(config);
        Self::with_connector(pool, move || {
            let config = config.clone();
            async move { connect(&config).await }
        })
    }

    /// A pool that opens connections with `connect`: over another
    /// transport, or to a server's in-process loopback.
    ///
    /// ```no_run
    /// # fn demo<S: postwire_server::Service, A: postwire_server::AuthSource>(server: postwire_server::Server<S, A>) {
    /// use postwire_server::client::{ClientConfig, Pool, PoolConfig, connect_with};
    ///
    /// let config = ClientConfig { user: "alice".into(), ..ClientConfig::default() };
    /// let pool = Pool::with_connector(PoolConfig::default(), move || {
    ///     let (stream, config) = (server.connect_loopback(), config.clone());
    ///     async move { connect_with(stream, &config).await }
    /// });
    /// # }
    /// ```
    pub fn with_connector<F, Fut>(pool: PoolConfig, connect: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Client, ClientError>> + Send + 'static,
    {
        let max_size = pool.max_size.max(1);
        let pool = Pool {
            shared: Arc::new(Shared {
                connector: Box::new(move || Box::pin(connect())),
                config: PoolConfig { max_size, ..pool },
                permits: Arc::new(Semaphore::new(max_size)),
                idle: Mutex::new(Vec::with_capacity(max_size)),
                size: Arc::new(AtomicUsize::new(0)),
                waiting: AtomicUsize::new(0),
                next_id: AtomicU64::new(0),
            }),
        };
        pool.start_reaper();
        pool
    }

    /// With an idle timeout or a lifetime, and inside a tokio runtime: a
    /// task that closes expired idle connections even when nobody calls
    /// [`get`](Self::get). It holds the pool weakly and ends with it.
    fn start_reaper(&self) {
        let config = &self.shared.config;
        let Some(limit) = [config.idle_timeout, config.max_lifetime].into_iter().flatten().min() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let period = (limit / 2).clamp(Duration::from_millis(10), Duration::from_secs(30));
        let pool = Arc::downgrade(&self.shared);
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(shared) = pool.upgrade() else { return };
                shared.close_expired();
            }
        });
    }

    /// A connection: the most recently returned idle one that passes its
    /// checks, or a new one. Waits in turn (first come, first served) while
    /// `max_size` connections are in use.
    pub async fn get(&self) -> Result<PooledClient, PoolError> {
        match self.shared.config.acquire_timeout {
            Some(limit) => tokio::time::timeout(limit, self.acquire()).await.map_err(|_| PoolError::Timeout)?,
            None => self.acquire().await,
        }
    }

    /// The pool's counters now.
    pub fn status(&self) -> PoolStatus {
        PoolStatus {
            size: self.shared.size.load(Ordering::SeqCst),
            idle: self.shared.idle.lock().unwrap_or_else(|e| e.into_inner()).len(),
            waiting: self.shared.waiting.load(Ordering::SeqCst),
        }
    }

    async fn acquire(&self) -> Result<PooledClient, PoolError> {
        let shared = &self.shared;
        let permit = {
            let _waiting = Waiting::start(&shared.waiting);
            // The pool owns the semaphore and never closes it.
            shared.permits.clone().acquire_owned().await.expect("the pool's semaphore is never closed")
        };
        // Every idle connection may fail its checks; then a new one.
        for _ in 0..=shared.config.max_size {
            let Some(idle) = shared.take_idle() else { break };
            if let Some(connection) = shared.check(idle).await {
                return Ok(PooledClient { connection: Some(connection), pool: shared.clone(), _permit: permit });
            }
        }
        // Connecting happens with no lock held; the permit reserves the slot.
        let client = (shared.connector)().await.map_err(PoolError::Connect)?;
        let connection = Connection {
            client,
            id: shared.next_id.fetch_add(1, Ordering::SeqCst),
            opened: Instant::now(),
            _counted: OpenCount::new(&shared.size),
        };
        Ok(PooledClient { connection: Some(connection), pool: shared.clone(), _permit: permit })
    }
}

impl Shared {
    /// The most recently returned idle connection, after dropping those
    /// past their idle timeout or lifetime.
    fn take_idle(&self) -> Option<Idle> {
        self.close_expired_then(|idle| idle.pop())
    }

    /// Closes the idle connections past their idle timeout or lifetime.
    fn close_expired(&self) {
        self.close_expired_then(|_| ());
    }

    /// Drops the expired idle connections, then runs `then` on the rest
    /// under the same lock; the expired ones are closed outside it.
    fn close_expired_then<T>(&self, then: impl FnOnce(&mut Vec<Idle>) -> T) -> T {
        let (result, expired) = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let (expired, kept): (Vec<Idle>, Vec<Idle>) = idle.drain(..).partition(|i| self.expired(i, now));
            *idle = kept;
            (then(&mut idle), expired)
        };
        drop(expired);
        result
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        let past = |since: Instant, limit: Option<Duration>| limit.is_some_and(|l| now.duration_since(since) >= l);
        past(idle.since, self.config.idle_timeout) || past(idle.connection.opened, self.config.max_lifetime)
    }

    /// The connection if it is fit to hand out; otherwise it is closed.
    async fn check(&self, idle: Idle) -> Option<Connection> {
        let Idle { connection, since } = idle;
        let client = &connection.client;
        let mut fit = !client.is_closed();
        if fit && client.transaction_status() != TransactionStatus::Idle {
            // Returned inside a transaction block: end it, or give up on it.
            fit =
                client.simple_query("ROLLBACK").await.is_ok() && client.transaction_status() == TransactionStatus::Idle;
        } else if fit && self.config.check_after_idle.is_some_and(|limit| since.elapsed() >= limit) {
            // The empty query needs no SQL support and costs one round trip.
            fit = client.simple_query("").await.is_ok();
        }
        fit.then_some(connection)
    }

    /// Takes a connection back, unless it is closed or too old.
    fn put_back(&self, connection: Connection) {
        let now = Instant::now();
        let too_old = self.config.max_lifetime.is_some_and(|l| now.duration_since(connection.opened) >= l);
        if connection.client.is_closed() || too_old {
            return;
        }
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(Idle { connection, since: now });
    }
}

/// Counts a caller waiting for a permit, also when its future is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection from a [`Pool`]; dereferences to its [`Client`] and goes
/// back to the pool when dropped.
///
/// A connection returned inside a transaction block is rolled back before
/// it is handed out again. Clones of the [`Client`] taken from it keep
/// working, but share the connection with its next user: don't keep them.
pub struct PooledClient {
    /// Always `Some` until dropped.
    connection: Option<Connection>,
    pool: Arc<Shared>,
    /// Released after the connection is back in the idle list, so that a
    /// waiter woken by it finds the connection.
    _permit: OwnedSemaphorePermit,
}

impl PooledClient {
    /// The pool's number for this connection (0, 1, 2… in the order they
    /// were opened), for logs.
    pub fn connection_id(&self) -> u64 {
        self.connection.as_ref().map_or(0, |c| c.id)
    }

    /// Closes this connection instead of returning it to the pool.
    pub fn discard(mut self) {
        self.connection = None;
    }
}

impl Deref for PooledClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.connection.as_ref().expect("a pooled client holds its connection until dropped").client
    }
}

/// Mutable access, for [`Client::transaction`].
impl DerefMut for PooledClient {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.connection.as_mut().expect("a pooled client holds its connection until dropped").client
    }
}

impl fmt::Debug for PooledClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledClient").field("connection_id", &self.connection_id()).finish()
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.put_back(connection);
        }
        // `_permit` is dropped after this body: the connection is idle by
        // the time a waiter can run.
    }
}
