//! The client against a scripted server on 127.0.0.1 that logs in (trust)
//! and then misbehaves: truncated messages, a 2 GiB length, messages out of
//! order, garbage, a stall, a FATAL error mid-query, death with calls in
//! flight. Every call must end in an error of the right kind, never a hang
//! (each is bounded by a timeout that only detects hangs), later calls must
//! fail with `Closed`, and nothing may allocate what the server announces.
// A counting global allocator needs `unsafe impl GlobalAlloc`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future;
use postwire_codec::backend::{
    Authentication, BackendKeyData, BindComplete, CommandComplete, DataRow, ErrorFields, ErrorResponse,
    FieldDescription, ReadyForQuery, RowDescription, Severity, TransactionStatus,
};
use postwire_codec::{Encode, SqlState, oid};
use postwire_server::client::{Client, ClientConfig, ClientError, connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Tracks the largest single allocation in this test binary.
struct Largest;

static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes straight to `System`; only a counter is added.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// A hang detector, not a timing requirement.
const LIMIT: Duration = Duration::from_secs(10);

/// The server's end of one connection, after the login.
struct Peer {
    stream: TcpStream,
}

impl Peer {
    async fn send(&mut self, message: &impl Encode) {
        let mut bytes = Vec::new();
        message.encode_to_vec(&mut bytes).expect("encodable");
        self.send_raw(&bytes).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        // The client may have hung up already; the test checks the client.
        let _ = self.stream.write_all(bytes).await;
    }

    /// The next message from the client: (type byte, body); `None` at EOF.
    async fn read_message(&mut self) -> Option<(u8, Vec<u8>)> {
        let tag = self.stream.read_u8().await.ok()?;
        let len = self.stream.read_u32().await.ok()?;
        let mut body = vec![0; (len as usize).checked_sub(4)?];
        self.stream.read_exact(&mut body).await.ok()?;
        Some((tag, body))
    }

    /// Waits for the client's next simple Query.
    async fn expect_query(&mut self) {
        let (tag, _) = self.read_message().await.expect("a query");
        assert_eq!(tag, b'Q', "the client sends a simple query");
    }

    /// Holds the connection open until the client closes it.
    async fn linger(mut self) {
        // Bounded: stops at EOF or an error, and `LIMIT` bounds the test.
        while self.read_message().await.is_some() {}
    }
}

fn one_int_column() -> [FieldDescription<'static>; 1] {
    [FieldDescription::new("n", oid::INT4)]
}

/// Listens on 127.0.0.1, logs the one client in, then runs `script`.
async fn scripted<F, Fut>(script: F) -> Client
where
    F: FnOnce(Peer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    scripted_with(Vec::new(), script).await
}

/// [`scripted`], with `after_login` sent in the same write as the login.
async fn scripted_with<F, Fut>(after_login: Vec<u8>, script: F) -> Client
where
    F: FnOnce(Peer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // StartupMessage: length, then the rest.
        let len = stream.read_u32().await.unwrap();
        let mut startup = vec![0; len as usize - 4];
        stream.read_exact(&mut startup).await.unwrap();
        assert_eq!(startup[..2], [0, 3], "protocol 3.x");
        // The login in one write, followed by `after_login`.
        let mut login = Vec::new();
        Authentication::Ok.encode_to_vec(&mut login).unwrap();
        BackendKeyData { process_id: 7, secret_key: &[0, 0, 0, 9] }.encode_to_vec(&mut login).unwrap();
        ReadyForQuery { status: TransactionStatus::Idle }.encode_to_vec(&mut login).unwrap();
        login.extend_from_slice(&after_login);
        let mut peer = Peer { stream };
        peer.send_raw(&login).await;
        script(peer).await;
    });
    let config = ClientConfig {
        host: "127.0.0.1".into(),
        port,
        user: "mallory".into(),
        database: "db".into(),
        // The script answers a StartupMessage, not an SSLRequest.
        ssl_mode: postwire_server::client::SslMode::Disable,
        ..ClientConfig::default()
    };
    tokio::time::timeout(LIMIT, connect(&config)).await.expect("no hang").expect("a trust login")
}

async fn call(client: &Client) -> Result<postwire_server::client::QueryResult, ClientError> {
    tokio::time::timeout(LIMIT, client.simple_query("SELECT 1")).await.expect("the call ends (no hang)")
}

/// After a failure the connection is gone: later calls say `Closed`.
async fn assert_closed_afterwards(client: &Client) {
    let later = call(client).await.unwrap_err();
    assert!(matches!(later, ClientError::Closed), "a later call: {later:?}");
    assert!(client.is_closed());
}

fn is_protocol(error: &ClientError) -> bool {
    matches!(error, ClientError::Protocol(_))
}

// The scripts, shared by the strict tests and the no-hang sweep.

async fn truncated_then_close(mut peer: Peer) {
    peer.expect_query().await;
    let mut row = Vec::new();
    RowDescription::new(&one_int_column()).encode_to_vec(&mut row).unwrap();
    peer.send_raw(&row[..row.len() / 2]).await;
}

async fn huge_length(mut peer: Peer) {
    peer.expect_query().await;
    // A DataRow announcing 2 GiB, then a few bytes of it.
    let mut header = vec![b'D'];
    header.extend_from_slice(&0x7fff_fff0u32.to_be_bytes());
    header.extend_from_slice(&[0, 1, 0, 0, 0, 1, b'1']);
    peer.send_raw(&header).await;
    peer.linger().await;
}

async fn data_row_before_row_description(mut peer: Peer) {
    peer.expect_query().await;
    peer.send(&DataRow::new(&[Some(b"1")])).await;
    peer.send(&CommandComplete { tag: "SELECT 1" }).await;
    peer.send(&ReadyForQuery { status: TransactionStatus::Idle }).await;
    peer.linger().await;
}

async fn bind_complete_in_a_simple_query(mut peer: Peer) {
    peer.expect_query().await;
    peer.send(&BindComplete).await;
    peer.send(&CommandComplete { tag: "SELECT 0" }).await;
    peer.send(&ReadyForQuery { status: TransactionStatus::Idle }).await;
    peer.linger().await;
}

async fn garbage(mut peer: Peer) {
    peer.expect_query().await;
    peer.send_raw(b"\xff\x00\x00\x00\x08\xde\xad\xbe\xef garbage").await;
    peer.linger().await;
}

async fn fatal_mid_query(mut peer: Peer) {
    peer.expect_query().await;
    peer.send(&RowDescription::new(&one_int_column())).await;
    peer.send(&DataRow::new(&[Some(b"1")])).await;
    let fatal = ErrorFields::new(Severity::Fatal, SqlState::ADMIN_SHUTDOWN, "terminating connection");
    peer.send(&ErrorResponse::from(&fatal)).await;
}

#[tokio::test]
async fn a_truncated_message_then_close_is_closed() {
    let client = scripted(truncated_then_close).await;
    let err = call(&client).await.unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err:?}");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn a_2_gib_length_is_a_protocol_error_without_allocating_it() {
    let client = scripted(huge_length).await;
    let err = call(&client).await.unwrap_err();
    assert!(is_protocol(&err), "{err:?}");
    assert_closed_afterwards(&client).await;
    assert!(LARGEST_ALLOCATION.load(Ordering::Relaxed) < 1 << 30, "nothing near 2 GiB was allocated");
}

#[tokio::test]
async fn a_data_row_before_its_row_description_is_a_protocol_error() {
    let client = scripted(data_row_before_row_description).await;
    let err = call(&client).await.unwrap_err();
    assert!(is_protocol(&err), "{err:?}");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn a_bind_complete_in_a_simple_query_is_a_protocol_error() {
    let client = scripted(bind_complete_in_a_simple_query).await;
    let err = call(&client).await.unwrap_err();
    assert!(is_protocol(&err), "{err:?}");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn garbage_bytes_are_a_protocol_error() {
    let client = scripted(garbage).await;
    let err = call(&client).await.unwrap_err();
    assert!(is_protocol(&err), "{err:?}");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn a_fatal_error_mid_query_reaches_the_caller() {
    let client = scripted(fatal_mid_query).await;
    let err = call(&client).await.unwrap_err();
    assert_eq!(err.code(), Some("57P01"), "{err:?}");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn every_misbehaviour_ends_the_call_with_an_error_not_a_hang() {
    let before = LARGEST_ALLOCATION.load(Ordering::Relaxed);
    let clients = [
        scripted(truncated_then_close).await,
        scripted(huge_length).await,
        scripted(data_row_before_row_description).await,
        scripted(bind_complete_in_a_simple_query).await,
        scripted(garbage).await,
        scripted(fatal_mid_query).await,
    ];
    for (script, client) in clients.iter().enumerate() {
        let err = call(client).await.expect_err("a misbehaving server is an error");
        assert!(
            matches!(err, ClientError::Closed | ClientError::Protocol(_) | ClientError::Db(_)),
            "{script}: {err:?}"
        );
        assert_closed_afterwards(client).await;
    }
    let largest = LARGEST_ALLOCATION.load(Ordering::Relaxed);
    assert!(largest < 1 << 30, "the 2 GiB length was not allocated (largest {largest} bytes, {before} before)");
}

#[tokio::test]
async fn a_ready_for_query_with_nothing_pending_closes_the_connection() {
    let client = scripted(|mut peer| async move {
        peer.expect_query().await;
        peer.send(&CommandComplete { tag: "SELECT 0" }).await;
        peer.send(&ReadyForQuery { status: TransactionStatus::Idle }).await;
        peer.send(&ReadyForQuery { status: TransactionStatus::Idle }).await;
        peer.linger().await;
    })
    .await;
    let answered = call(&client).await.unwrap();
    assert_eq!(answered.tag(), "SELECT 0");
    // The stray ReadyForQuery came in the same read as the answer.
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn a_ready_for_query_right_after_login_closes_the_connection() {
    let mut stray = Vec::new();
    ReadyForQuery { status: TransactionStatus::Idle }.encode_to_vec(&mut stray).unwrap();
    let client = scripted_with(stray, Peer::linger).await;
    // Bounded wait for the client to handle the stray message.
    for _ in 0..10_000 {
        if client.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(client.is_closed(), "a ReadyForQuery nobody asked for breaks the protocol");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn a_stall_mid_message_then_close_is_closed() {
    let (hang_up, stalled) = oneshot::channel::<()>();
    let (sent_half, half_sent) = oneshot::channel::<()>();
    let client = scripted(|mut peer| async move {
        peer.expect_query().await;
        let mut row = Vec::new();
        RowDescription::new(&one_int_column()).encode_to_vec(&mut row).unwrap();
        peer.send_raw(&row[..7]).await;
        let _ = sent_half.send(());
        // Stalls until the test says to hang up.
        let _ = stalled.await;
    })
    .await;
    let pending = tokio::spawn({
        let client = client.clone();
        async move { call(&client).await }
    });
    tokio::time::timeout(LIMIT, half_sent).await.expect("no hang").unwrap();
    assert!(!pending.is_finished(), "half a message is no answer yet");
    hang_up.send(()).unwrap();
    let err = tokio::time::timeout(LIMIT, pending).await.expect("no hang").unwrap().unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err:?}");
    assert_closed_afterwards(&client).await;
}

#[tokio::test]
async fn pipelined_calls_in_flight_all_fail_when_the_server_dies() {
    let client = scripted(|mut peer| async move {
        // Answers the first query, then dies with the rest unanswered:
        // FIN, not the RST that closing with unread queries would send.
        peer.expect_query().await;
        peer.send(&CommandComplete { tag: "SELECT 0" }).await;
        peer.send(&ReadyForQuery { status: TransactionStatus::Idle }).await;
        let _ = peer.stream.shutdown().await;
        peer.linger().await;
    })
    .await;
    let calls = (0..20).map(|_| {
        let client = client.clone();
        async move { call(&client).await }
    });
    let answers = tokio::time::timeout(LIMIT, future::join_all(calls)).await.expect("no hang");
    let answered = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(answered, 1, "only the first was answered: {answers:?}");
    assert!(answers[0].is_ok());
    for answer in &answers[1..] {
        assert!(matches!(answer, Err(ClientError::Closed)), "{answer:?}");
    }
    assert_closed_afterwards(&client).await;
}
