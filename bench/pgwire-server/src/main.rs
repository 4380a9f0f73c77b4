//! bench-server's workloads (`examples/src/bin/bench-server.rs`) on pgwire
//! 0.42, written the way pgwire's own examples write a server: a
//! `SimpleQueryHandler` and an `ExtendedQueryHandler` (with the
//! `NoopQueryParser` and the describe methods answered by hand), rows made by
//! a `DataRowEncoder` in a stream, one `process_socket` task per connection,
//! the default (trust) startup handler. `bench/server.sh` runs it.
//!
//! ```text
//! cargo run --release --manifest-path bench/pgwire-server/Cargo.toml -- [--listen 127.0.0.1:5434]
//! ```
//!
//! `SELECT 1` (one `int4` column `?column?`) and `SELECT * FROM rows5000`:
//! 5,000 rows of (`id int4`, `name text`, `note text`, `big int8`,
//! `flag bool`, `score float8`), the same values as bench-server's.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, stream};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DataRowEncoder, DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse, Response,
};
use pgwire::api::stmt::{NoopQueryParser, StoredStatement};
use pgwire::api::{ClientInfo, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::tokio::process_socket;
use tokio::net::TcpListener;

const ROWS: i32 = 5000;
const NOTE: &str = "the quick brown fox jumps over the lazy dog";

/// The statements this server knows.
#[derive(Clone, Copy)]
enum Statement {
    SelectOne,
    Rows5000,
}

fn parse(sql: &str) -> PgWireResult<Statement> {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    if sql.eq_ignore_ascii_case("SELECT 1") {
        Ok(Statement::SelectOne)
    } else if sql.eq_ignore_ascii_case("SELECT * FROM rows5000") {
        Ok(Statement::Rows5000)
    } else {
        eprintln!("unknown statement: {sql:?}");
        let word = sql.split_whitespace().next().unwrap_or("");
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_owned(),
            "42601".to_owned(),
            format!("syntax error at or near \"{word}\""),
        ))))
    }
}

/// The result columns of `statement`, each in the format the client asked for.
fn schema(statement: Statement, format: &Format) -> Vec<FieldInfo> {
    let columns: &[(&str, Type)] = match statement {
        Statement::SelectOne => &[("?column?", Type::INT4)],
        Statement::Rows5000 => &[
            ("id", Type::INT4),
            ("name", Type::TEXT),
            ("note", Type::TEXT),
            ("big", Type::INT8),
            ("flag", Type::BOOL),
            ("score", Type::FLOAT8),
        ],
    };
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| FieldInfo::new((*name).to_owned(), None, None, ty.clone(), format.format_for(i)))
        .collect()
}

/// Runs `statement`, rows encoded in `format`.
fn run(statement: Statement, format: &Format) -> Response {
    let schema = Arc::new(schema(statement, format));
    let mut encoder = DataRowEncoder::new(schema.clone());
    let rows = match statement {
        Statement::SelectOne => stream::iter(1..=1)
            .map(move |_| {
                encoder.encode_field(&1i32)?;
                Ok(encoder.take_row())
            })
            .boxed(),
        Statement::Rows5000 => stream::iter(1..=ROWS)
            .map(move |i| {
                encoder.encode_field(&i)?;
                encoder.encode_field(&format!("name {i}"))?;
                encoder.encode_field(&NOTE)?;
                encoder.encode_field(&(i64::from(i) * 1_000_003))?;
                encoder.encode_field(&(i % 3 == 0))?;
                encoder.encode_field(&(f64::from(i) * 0.25))?;
                Ok(encoder.take_row())
            })
            .boxed(),
    };
    Response::Query(QueryResponse::new(schema, rows))
}

struct Bench {
    query_parser: Arc<NoopQueryParser>,
}

#[async_trait]
impl SimpleQueryHandler for Bench {
    async fn do_query<C>(&self, _client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        // pgwire answers an empty query itself.
        query.split(';').filter(|s| !s.trim().is_empty()).map(|s| Ok(run(parse(s)?, &Format::UnifiedText))).collect()
    }
}

#[async_trait]
impl ExtendedQueryHandler for Bench {
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.query_parser.clone()
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        Ok(run(parse(&portal.statement.statement)?, &portal.result_column_format))
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        statement: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let fields = schema(parse(&statement.statement)?, &Format::UnifiedText);
        Ok(DescribeStatementResponse::new(vec![], fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let fields = schema(parse(&portal.statement.statement)?, &portal.result_column_format);
        Ok(DescribePortalResponse::new(fields))
    }
}

struct BenchFactory {
    handler: Arc<Bench>,
}

impl PgWireServerHandlers for BenchFactory {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut listen = String::from("127.0.0.1:5434");
    let mut threads = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen <address:port>"),
            "--threads" => {
                threads = Some(args.next().and_then(|n| n.parse::<usize>().ok()).expect("--threads <number>"))
            }
            other => {
                panic!("unknown argument {other} (usage: pgwire-bench-server [--listen 127.0.0.1:5434] [--threads N])")
            }
        }
    }
    let factory =
        Arc::new(BenchFactory { handler: Arc::new(Bench { query_parser: Arc::new(NoopQueryParser::new()) }) });
    let listener = std::net::TcpListener::bind(&listen).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    println!("listening on {}", listener.local_addr().expect("local address"));
    let Some(threads) = threads else {
        // As pgwire's examples run: `#[tokio::main]`, a task per connection.
        return tokio::runtime::Runtime::new().expect("runtime").block_on(accept(listener, factory));
    };
    // For comparison with postwire's `serve_tcp_on_threads`: a single-threaded
    // runtime per thread, each accepting from the same socket.
    let threads: Vec<_> = (0..threads)
        .map(|_| {
            let (listener, factory) = (listener.try_clone().expect("listener"), factory.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(accept(listener, factory))
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
}

async fn accept(listener: std::net::TcpListener, factory: Arc<BenchFactory>) {
    let listener = TcpListener::from_std(listener).expect("listener");
    loop {
        let (socket, _) = listener.accept().await.expect("accept");
        let factory = factory.clone();
        tokio::spawn(async move { process_socket(socket, None, factory).await });
    }
}
