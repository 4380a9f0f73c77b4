//! A tiny PostgreSQL-protocol server with a few canned answers.
//!
//! ```text
//! cargo run -p postwire-examples --bin hello-server -- [--port 5433] [--socket-dir /tmp]
//!     [--password secret] [--tls server.crt server.key]
//! psql -h 127.0.0.1 -p 5433 -U x -c 'SELECT 1'
//! ```
//!
//! It knows `SELECT 1`, `SELECT version()`, `SHOW <parameter>`, `SELECT * FROM
//! greetings`, and `LISTEN`/`NOTIFY <channel>`; anything else is a syntax
//! error. The same answers serve the simple and the extended protocol.

use std::time::Duration;

use postwire_server::codec::{SqlState, oid};
use postwire_server::{
    ClientInfo, Column, Config, Context, Credentials, PgError, Portal, Prepared, QueryResponse, Response, Rows, Server,
    Service, Session, TlsConfig, TlsMode, Trust, Value,
};

struct Hello;

impl Service for Hello {
    type Session = HelloSession;

    async fn open(&self, client: &ClientInfo) -> Result<HelloSession, PgError> {
        println!("session {} for {} on {} ({:?})", client.process_id, client.user, client.database, client.peer);
        Ok(HelloSession)
    }
}

struct HelloSession;

/// The columns a statement returns, without running it.
fn columns(sql: &str) -> Result<Vec<Column>, PgError> {
    let lower = sql.trim().trim_end_matches(';').trim().to_lowercase();
    Ok(match lower.as_str() {
        "select 1" => vec![Column::new("?column?", oid::INT4)],
        "select version()" => vec![Column::new("version", oid::TEXT)],
        "select * from greetings" => vec![Column::new("id", oid::INT4), Column::new("greeting", oid::TEXT)],
        s if s.starts_with("show ") => vec![Column::new(&s[5..], oid::TEXT)],
        s if s.starts_with("listen ") || s.starts_with("notify ") || s.is_empty() => vec![],
        _ => {
            let word = sql.split_whitespace().next().unwrap_or("");
            return Err(
                PgError::new(SqlState::SYNTAX_ERROR, format!("syntax error at or near \"{word}\"")).with_position(1)
            );
        }
    })
}

/// Runs a statement.
fn answer(ctx: &mut Context, sql: &str) -> Result<Response, PgError> {
    let columns = columns(sql)?;
    let lower = sql.trim().trim_end_matches(';').trim().to_lowercase();
    let rows = match lower.as_str() {
        "" => return Ok(Response::Empty),
        "select 1" => vec![vec![Value::Int4(1)]],
        "select version()" => vec![vec![Value::from("PostgreSQL 18.0 (postwire hello-server)")]],
        "select * from greetings" => ["hello", "bonjour", "hallo", "ciao"]
            .iter()
            .zip(1..)
            .map(|(g, id)| vec![Value::Int4(id), Value::from(*g)])
            .collect(),
        "show server_version" => vec![vec![Value::from("18.0")]],
        s if s.starts_with("show ") => vec![vec![Value::Null]],
        s if s.starts_with("listen ") => {
            ctx.listen(s[7..].trim());
            return Ok(Response::Command("LISTEN".into()));
        }
        s if s.starts_with("notify ") => {
            let mut parts = s[7..].splitn(2, ',');
            let channel = parts.next().unwrap_or("").trim();
            let payload = parts.next().unwrap_or("").trim().trim_matches('\'');
            ctx.notify(channel, payload);
            return Ok(Response::Command("NOTIFY".into()));
        }
        _ => unreachable!("columns() rejected it"),
    };
    Ok(Response::Rows(Rows::from_vec(columns, rows)))
}

impl Session for HelloSession {
    async fn simple_query(&mut self, ctx: &mut Context, sql: &str, out: &mut QueryResponse<'_>) -> Result<(), PgError> {
        let statements: Vec<&str> = sql.split(';').filter(|s| !s.trim().is_empty()).collect();
        if statements.is_empty() {
            return out.empty().await;
        }
        for statement in statements {
            out.send(answer(ctx, statement)?).await?;
        }
        Ok(())
    }

    async fn prepare(&mut self, _: &mut Context, sql: &str, _: &[u32]) -> Result<Prepared, PgError> {
        Ok(Prepared::new(vec![], columns(sql)?))
    }

    async fn execute(&mut self, ctx: &mut Context, portal: &Portal<'_>) -> Result<Response, PgError> {
        answer(ctx, portal.sql)
    }
}

async fn serve<A: postwire_server::AuthSource>(auth: A, port: u16, socket_dir: Option<String>, tls: TlsMode) {
    let server = Server::new(Hello, auth, Config::default());
    let addr = server.listen_tcp(("127.0.0.1", port), tls.clone()).await.expect("bind 127.0.0.1");
    println!("listening on {addr}");
    if let Ok(addr) = server.listen_tcp(("::1", port), tls.clone()).await {
        println!("listening on {addr}");
    }
    if let Some(dir) = socket_dir {
        let path = server.listen_unix(&dir, port, tls).await.expect("bind the Unix socket");
        println!("listening on {}", path.display());
    }
    tokio::signal::ctrl_c().await.expect("ctrl-c");
    println!("shutting down");
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut port, mut socket_dir, mut password, mut tls) = (5433, None, None, TlsMode::Disabled);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port <number>"),
            "--socket-dir" => socket_dir = args.next(),
            "--password" => password = args.next(),
            "--tls" => {
                let (cert, key) = (args.next().expect("--tls <cert> <key>"), args.next().expect("--tls <cert> <key>"));
                tls = TlsMode::Optional(TlsConfig::from_pem_files(cert, key).expect("certificate and key"));
            }
            other => panic!("unknown argument {other}"),
        }
    }
    match password {
        // Every user name works with this password.
        Some(password) => {
            struct AnyUser(String);
            impl postwire_server::AuthSource for AnyUser {
                async fn credentials(&self, _: &ClientInfo) -> Result<Credentials, PgError> {
                    Ok(Credentials::Password(self.0.clone()))
                }
            }
            serve(AnyUser(password), port, socket_dir, tls).await
        }
        None => serve(Trust, port, socket_dir, tls).await,
    }
}
