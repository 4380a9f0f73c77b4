//! A minimal postwire server for benchmarks (`bench/server.sh` runs it next
//! to the same server written on pgwire, `bench/pgwire-server/`).
//!
//! ```text
//! cargo run --release -p postwire-examples --bin bench-server -- [--listen 127.0.0.1:5433] [--threads 2]
//! echo 'SELECT 1;' > select1.sql
//! pgbench -n -f select1.sql -M prepared -c 4 -j 2 -T 10 -h 127.0.0.1 -p 5433 -U bench bench
//! psql -h 127.0.0.1 -p 5433 -U bench -c 'SELECT * FROM rows5000'
//! ```
//!
//! Every user is let in (trust). Two statements, in the simple and the
//! extended protocol (text or binary results): `SELECT 1` (one `int4` column
//! `?column?`) and `SELECT * FROM rows5000`, 5,000 rows of (`id int4`,
//! `name text`, `note text`, `big int8`, `flag bool`, `score float8`) written by
//! [`write_row`] as the client reads them. An empty query is answered as such;
//! anything else is a syntax error, logged to stderr. With `-n` and a custom
//! script pgbench sends nothing of its own (no VACUUM, no look-up of
//! `pgbench_branches`): only the script's statements.
//!
//! With `--threads N` the server runs on N threads of one single-threaded
//! runtime each (`Server::serve_tcp_on_threads`); without, on tokio's
//! multi-threaded runtime.

use postwire_server::codec::{EncodeError, SqlState, oid};
use postwire_server::{
    ClientInfo, Column, Config, Context, PgError, Portal, Prepared, QueryResponse, Response, RowWriter, Rows, Server,
    Service, Session, TlsMode, Trust, Value,
};

/// Rows in `rows5000`.
pub(crate) const ROWS: i32 = 5000;

/// The note every row of `rows5000` carries.
pub(crate) const NOTE: &str = "the quick brown fox jumps over the lazy dog";

/// Writes row `i` (1 to [`ROWS`]) of `rows5000` straight into the output
/// buffer.
pub(crate) fn write_row(&i: &i32, row: &mut RowWriter<'_, '_>) -> Result<(), EncodeError> {
    row.value(&i)?;
    row.value(format!("name {i}").as_str())?;
    row.value(NOTE)?;
    row.value(&(i64::from(i) * 1_000_003))?;
    row.value(&(i % 3 == 0))?;
    row.value(&(f64::from(i) * 0.25))
}

/// The statements this server knows.
#[derive(Clone, Copy)]
enum Statement {
    Empty,
    SelectOne,
    Rows5000,
}

impl Statement {
    fn parse(sql: &str) -> Result<Statement, PgError> {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        if sql.is_empty() {
            Ok(Statement::Empty)
        } else if sql.eq_ignore_ascii_case("SELECT 1") {
            Ok(Statement::SelectOne)
        } else if sql.eq_ignore_ascii_case("SELECT * FROM rows5000") {
            Ok(Statement::Rows5000)
        } else {
            eprintln!("unknown statement: {sql:?}");
            let word = sql.split_whitespace().next().unwrap_or("");
            Err(PgError::new(SqlState::SYNTAX_ERROR, format!("syntax error at or near \"{word}\"")).with_position(1))
        }
    }

    fn columns(self) -> Vec<Column> {
        match self {
            Statement::Empty => vec![],
            Statement::SelectOne => vec![Column::new("?column?", oid::INT4)],
            Statement::Rows5000 => vec![
                Column::new("id", oid::INT4),
                Column::new("name", oid::TEXT),
                Column::new("note", oid::TEXT),
                Column::new("big", oid::INT8),
                Column::new("flag", oid::BOOL),
                Column::new("score", oid::FLOAT8),
            ],
        }
    }

    fn run(self) -> Response {
        let columns = self.columns();
        match self {
            Statement::Empty => Response::Empty,
            Statement::SelectOne => Response::Rows(Rows::from_vec(columns, vec![vec![Value::Int4(1)]])),
            Statement::Rows5000 => {
                let ids = futures_util::stream::iter((1..=ROWS).map(Ok));
                Response::Rows(Rows::typed(columns, ids, write_row))
            }
        }
    }
}

/// The service: one [`BenchSession`] per client.
pub(crate) struct Bench;

impl Service for Bench {
    type Session = BenchSession;

    async fn open(&self, _: &ClientInfo) -> Result<BenchSession, PgError> {
        Ok(BenchSession)
    }
}

/// A client's session (stateless).
pub(crate) struct BenchSession;

impl Session for BenchSession {
    async fn simple_query(&mut self, _: &mut Context, sql: &str, out: &mut QueryResponse<'_>) -> Result<(), PgError> {
        let mut any = false;
        for statement in sql.split(';') {
            if !statement.trim().is_empty() {
                any = true;
                out.send(Statement::parse(statement)?.run()).await?;
            }
        }
        if !any {
            out.empty().await?;
        }
        Ok(())
    }

    async fn prepare(&mut self, _: &mut Context, sql: &str, _: &[u32]) -> Result<Prepared, PgError> {
        Ok(Prepared::new(vec![], Statement::parse(sql)?.columns()))
    }

    async fn execute(&mut self, _: &mut Context, portal: &Portal<'_>) -> Result<Response, PgError> {
        Ok(Statement::parse(portal.sql)?.run())
    }
}

/// A server for [`Bench`] listening on `addr` (TCP, no TLS, trust).
pub(crate) async fn serve(addr: &str) -> std::io::Result<(Server<Bench, Trust>, std::net::SocketAddr)> {
    let server = Server::new(Bench, Trust, Config::default());
    let addr = server.listen_tcp(addr, TlsMode::Disabled).await?;
    Ok((server, addr))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut listen = String::from("127.0.0.1:5433");
    let mut threads = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen <address:port>"),
            "--threads" => threads = Some(args.next().and_then(|n| n.parse().ok()).expect("--threads <number>")),
            other => panic!("unknown argument {other} (usage: bench-server [--listen 127.0.0.1:5433] [--threads N])"),
        }
    }
    let Some(threads) = threads else {
        // tokio's multi-threaded runtime, as `#[tokio::main]` sets it up.
        return tokio::runtime::Runtime::new().expect("runtime").block_on(async {
            let (_server, addr) = serve(&listen).await.expect("bind");
            println!("listening on {addr}");
            tokio::signal::ctrl_c().await.expect("ctrl-c");
        });
    };
    let listener = std::net::TcpListener::bind(&listen).expect("bind");
    println!("listening on {}", listener.local_addr().expect("local address"));
    let server = Server::new(Bench, Trust, Config::default());
    server.serve_tcp_on_threads(listener, TlsMode::Disabled, threads).expect("threads").join();
}
