//! Rows per second of `SELECT * FROM rows5000` (bench-server's 5,000 rows ×
//! 6 columns), for `bench/server.sh`: the simple protocol (text) and the
//! extended one (a prepared statement, binary), on one connection per server,
//! through tokio-postgres, through postwire's client (`--client postwire`),
//! or through a bare wire client (`--client wire`) that only frames the
//! answer's messages and counts the DataRows (checking each has 6 cells):
//! the two clients decode rows and share the machine's cores with the
//! server, so with them the client's cost is part of the rate; with `wire`
//! it almost is not, and the rate is the server's. Rounds alternate between
//! the servers; the best round counts.
//!
//! ```text
//! bench-rows [--client tokio-postgres|postwire|wire] [--runs 40] [--rounds 3] [--user fe_trust] [--dbname fe] NAME=HOST:PORT...
//! ```
//!
//! Prints one line per server and protocol: `NAME simple|extended ROWS_PER_SECOND`.

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, pin_mut};
use postwire_server::client::{self as postwire, ClientConfig, SslMode};
use postwire_server::codec::frame::{RawMessage, frame_message};
use postwire_server::codec::frontend::{
    Bind, Execute, FormatCodes, Oids, Parse, ProtocolVersion, Query, StartupMessage, StartupParams, Sync, Values,
};
use postwire_server::codec::{Encode, Format, FrameLimits, Framed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_postgres::{NoTls, SimpleQueryMessage};

const QUERY: &str = "SELECT * FROM rows5000";
const ROWS: u64 = 5000;

/// One connection to a server, through the client chosen with `--client`.
enum Connection {
    TokioPostgres { client: tokio_postgres::Client, statement: tokio_postgres::Statement },
    Postwire(postwire::Client),
    Wire(Mutex<Wire>),
}

fn encoded(message: &impl Encode) -> Vec<u8> {
    let mut out = vec![0; 1024];
    let n = message.encode(&mut out).expect("a small request");
    out.truncate(n);
    out
}

/// A bare protocol client: writes requests, frames the answers, counts rows.
struct Wire {
    socket: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` read but not yet framed start here.
    start: usize,
    end: usize,
}

impl Wire {
    async fn connect(host: &str, port: u16, user: &str, dbname: &str) -> Result<Self, String> {
        let socket = TcpStream::connect((host, port)).await.map_err(|e| e.to_string())?;
        socket.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut wire = Wire { socket, buf: vec![0; 256 * 1024], start: 0, end: 0 };
        let params = [("user", user), ("database", dbname)];
        let startup = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) };
        wire.send(&encoded(&startup)).await;
        wire.until_ready().await.map(|_| wire)
    }

    async fn send(&mut self, request: &[u8]) {
        self.socket.write_all(request).await.expect("write");
    }

    /// Reads up to ReadyForQuery; returns the DataRows seen. An
    /// ErrorResponse or a row without 6 cells is an error.
    async fn until_ready(&mut self) -> Result<u64, String> {
        let limits = FrameLimits::DEFAULT;
        let mut rows = 0;
        loop {
            while let Framed::Complete { item: RawMessage { tag, body }, consumed } =
                frame_message(&self.buf[self.start..self.end], &limits).map_err(|e| e.to_string())?
            {
                match tag {
                    b'D' if body.starts_with(&6u16.to_be_bytes()) => rows += 1,
                    b'D' => return Err("a row without 6 cells".into()),
                    b'E' => return Err(format!("error: {}", String::from_utf8_lossy(body))),
                    b'Z' => {
                        self.start += consumed;
                        return Ok(rows);
                    }
                    _ => {}
                }
                self.start += consumed;
            }
            if self.start == self.end {
                (self.start, self.end) = (0, 0);
            } else if self.end == self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            let n = self.socket.read(&mut self.buf[self.end..]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            self.end += n;
        }
    }
}

impl Connection {
    async fn open(client: &str, host: &str, port: u16, user: &str, dbname: &str) -> Result<Self, String> {
        if client == "wire" {
            return Ok(Connection::Wire(Mutex::new(Wire::connect(host, port, user, dbname).await?)));
        }
        if client == "postwire" {
            let config = ClientConfig {
                host: host.into(),
                port,
                user: user.into(),
                database: dbname.into(),
                ssl_mode: SslMode::Disable,
                ..ClientConfig::default()
            };
            return postwire::connect(&config).await.map(Connection::Postwire).map_err(|e| e.to_string());
        }
        let mut config = tokio_postgres::Config::new();
        config.host(host).port(port).user(user).dbname(dbname);
        let (client, connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let statement = client.prepare(QUERY).await.map_err(|e| e.to_string())?;
        Ok(Connection::TokioPostgres { client, statement })
    }

    /// Rows of one simple query; tokio-postgres parses each into its cells'
    /// ranges, postwire's client hands out each row as a view, neither copies.
    async fn simple(&self) -> u64 {
        let mut rows = 0;
        match self {
            Connection::TokioPostgres { client, .. } => {
                let stream = client.simple_query_raw(QUERY).await.expect("simple query");
                pin_mut!(stream);
                while let Some(message) = stream.try_next().await.expect("simple query") {
                    if let SimpleQueryMessage::Row(_) = message {
                        rows += 1;
                    }
                }
            }
            Connection::Postwire(client) => {
                let mut stream = client.simple_query_stream(QUERY).await.expect("simple query");
                while stream.next().await.expect("simple query").is_some() {
                    rows += 1;
                }
            }
            Connection::Wire(wire) => {
                let mut wire = wire.lock().await;
                wire.send(&encoded(&Query { sql: QUERY })).await;
                rows = wire.until_ready().await.expect("simple query");
            }
        }
        rows
    }

    /// Rows of one execution of the prepared (for postwire's client: cached)
    /// statement, binary results.
    async fn extended(&self) -> u64 {
        match self {
            Connection::TokioPostgres { client, statement } => {
                let stream = client.query_raw(statement, std::iter::empty::<i32>()).await.expect("extended query");
                stream
                    .map(|row| row.map(|_| 1u64))
                    .try_fold(0, |n, one| async move { Ok(n + one) })
                    .await
                    .expect("rows")
            }
            Connection::Postwire(client) => {
                let mut stream = client.query_stream(QUERY, &[]).await.expect("extended query");
                let mut rows = 0;
                while stream.next().await.expect("extended query").is_some() {
                    rows += 1;
                }
                rows
            }
            Connection::Wire(wire) => {
                let mut wire = wire.lock().await;
                let parse = Parse { statement: "", query: QUERY, param_types: Oids::from_slice(&[]) };
                let bind = Bind {
                    portal: "",
                    statement: "",
                    param_formats: FormatCodes::from_slice(&[]),
                    params: Values::from_slice(&[]),
                    result_formats: FormatCodes::from_slice(&[Format::Binary]),
                };
                let request =
                    [encoded(&parse), encoded(&bind), encoded(&Execute { portal: "", max_rows: 0 }), encoded(&Sync)];
                wire.send(&request.concat()).await;
                wire.until_ready().await.expect("extended query")
            }
        }
    }
}

struct Target {
    name: String,
    connection: Connection,
    best: [Duration; 2],
}

#[tokio::main]
async fn main() {
    let (mut runs, mut rounds, mut user, mut dbname) = (40u32, 3u32, "fe_trust".to_owned(), "fe".to_owned());
    let mut client = "tokio-postgres".to_owned();
    let mut servers = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--client" => client = value(),
            "--runs" => runs = value().parse().expect("--runs <number>"),
            "--rounds" => rounds = value().parse().expect("--rounds <number>"),
            "--user" => user = value(),
            "--dbname" => dbname = value(),
            server => {
                let (name, addr) = server.split_once('=').expect("NAME=HOST:PORT");
                let (host, port) = addr.rsplit_once(':').expect("NAME=HOST:PORT");
                servers.push((name.to_owned(), host.to_owned(), port.parse::<u16>().expect("a port")));
            }
        }
    }
    assert!(matches!(client.as_str(), "tokio-postgres" | "postwire" | "wire"), "--client tokio-postgres|postwire|wire");
    let mut targets = vec![];
    for (name, host, port) in servers {
        let connection =
            Connection::open(&client, &host, port, &user, &dbname).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        // Warm up, and check the answer's size.
        assert_eq!(connection.simple().await, ROWS, "{name}");
        assert_eq!(connection.extended().await, ROWS, "{name}");
        targets.push(Target { name, connection, best: [Duration::MAX; 2] });
    }
    for _ in 0..rounds {
        for target in &mut targets {
            let start = Instant::now();
            for _ in 0..runs {
                assert_eq!(target.connection.simple().await, ROWS);
            }
            target.best[0] = target.best[0].min(start.elapsed());
            let start = Instant::now();
            for _ in 0..runs {
                assert_eq!(target.connection.extended().await, ROWS);
            }
            target.best[1] = target.best[1].min(start.elapsed());
        }
    }
    for target in &targets {
        for (mode, time) in ["simple", "extended"].iter().zip(target.best) {
            let rate = (ROWS * u64::from(runs)) as f64 / time.as_secs_f64();
            println!("{} {mode} {rate:.0}", target.name);
        }
    }
}
