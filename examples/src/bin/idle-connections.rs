//! Holds many idle, authenticated connections to an in-process server and
//! reports the server-side heap per connection (a counting allocator).
//! `bench/idle-connections.sh` raises the fd limit and runs it.
//!
//! ```text
//! idle-connections serve <count> [input buffer=8192] [output buffer=16384]
//! idle-connections connect <port> <count>
//! ```
//!
//! The server and the clients run as two processes (each needs one fd per
//! connection), so the heap counted is the server's alone. The clients are
//! raw sockets that send a startup packet and read up to the first
//! ReadyForQuery.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use postwire_server::{ClientInfo, Config, PgError, Server, Service, Session, TlsMode, Trust};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes currently allocated by the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: forwards to the system allocator and only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Idle;
struct IdleSession;

impl Service for Idle {
    type Session = IdleSession;
    async fn open(&self, _: &ClientInfo) -> Result<IdleSession, PgError> {
        Ok(IdleSession)
    }
}

impl Session for IdleSession {}

/// Logs in as a raw client and returns the open socket.
async fn login(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut body = vec![0, 3, 0, 0];
    body.extend_from_slice(b"user\0idle\0\0");
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    stream.write_all(&packet).await.expect("startup");
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(6).any(|w| w[..5] == [b'Z', 0, 0, 0, 5]) {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        got.extend_from_slice(&buf[..n]);
    }
    stream
}

/// The server side: waits (at most 5 minutes) for `count` idle sessions,
/// then reports the heap they hold and shuts down, which ends the clients.
async fn serve(count: usize, input: usize, output: usize) {
    let config = Config {
        max_connections: count + 10,
        input_buffer_size: input,
        output_buffer_size: output,
        ..Config::default()
    };
    let server = Server::new(Idle, Trust, config);
    let port = server.listen_tcp("127.0.0.1:0", TlsMode::Disabled).await.expect("bind").port();
    println!("port {port}");
    let before = LIVE.load(Ordering::Relaxed);
    let mut waited = 0;
    while server.active_sessions() < count {
        assert!(waited < 3000, "only {} of {count} sessions after 5 minutes", server.active_sessions());
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "{count} idle authenticated connections (buffers {input} B in / {output} B out): server heap {} KiB, {:.1} KiB per connection",
        held / 1024,
        held as f64 / count as f64 / 1024.0
    );
    server.shutdown(Duration::from_secs(5)).await;
}

/// The client side: `count` logins, held until the server closes them (at
/// most 5 minutes).
async fn connect(port: u16, count: usize) {
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        clients.push(login(port).await);
    }
    let mut buf = [0u8; 256];
    let first = clients.first_mut().expect("at least one client");
    let _ = tokio::time::timeout(Duration::from_secs(300), async {
        while first.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut numbers = args.map(|a| a.parse::<usize>().expect("numbers"));
    match mode.as_str() {
        "serve" => {
            let count = numbers.next().unwrap_or(1000);
            serve(count, numbers.next().unwrap_or(8 * 1024), numbers.next().unwrap_or(16 * 1024)).await
        }
        "connect" => {
            let port = numbers.next().expect("connect <port> <count>") as u16;
            connect(port, numbers.next().unwrap_or(1000)).await
        }
        _ => panic!("usage: idle-connections serve <count> [input] [output] | connect <port> <count>"),
    }
}
