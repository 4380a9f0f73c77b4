//! A real database over the PostgreSQL protocol: SQLite (bundled), spoken
//! to in PostgreSQL's SQL dialect as far as clients need it.
//!
//! ```text
//! cargo run --release -p postwire-examples --bin sqlite-server -- [--db PATH] [--listen ADDR]
//!     [--auth trust|password|md5|scram] [--user NAME] [--password SECRET]
//!     [--tls-cert FILE --tls-key FILE] [--socket-dir DIR]
//! psql postgres://postwire:postwire@127.0.0.1:5432/postwire
//! ```
//!
//! The database is in memory unless `--db` names a file. Every session of
//! the server sees the same database.

use std::net::SocketAddr;
use std::time::Duration;

use postwire_examples::sqlite::SqliteService;
use postwire_server::codec::auth::{Md5Verifier, ScramVerifier};
use postwire_server::{Config, Credentials, Server, StaticUsers, TlsConfig, TlsMode};

const USAGE: &str = "usage: sqlite-server [--db PATH] [--listen ADDR] [--auth trust|password|md5|scram] \
                     [--user NAME] [--password SECRET] [--tls-cert FILE --tls-key FILE] [--socket-dir DIR]";

struct Options {
    db: Option<String>,
    listen: SocketAddr,
    auth: String,
    user: String,
    password: String,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    socket_dir: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        db: None,
        listen: "127.0.0.1:5432".parse().expect("a valid address"),
        auth: "scram".into(),
        user: "postwire".into(),
        password: "postwire".into(),
        tls_cert: None,
        tls_key: None,
        socket_dir: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--db" => options.db = Some(value),
            "--listen" => options.listen = value.parse().map_err(|e| format!("--listen {value}: {e}"))?,
            "--auth" if ["trust", "password", "md5", "scram"].contains(&value.as_str()) => options.auth = value,
            "--user" => options.user = value,
            "--password" => options.password = value,
            "--tls-cert" => options.tls_cert = Some(value),
            "--tls-key" => options.tls_key = Some(value),
            "--socket-dir" => options.socket_dir = Some(value),
            _ => return Err(format!("unknown option {flag} {value}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// The one user, with the credentials `--auth` asks for.
fn users(options: &Options) -> StaticUsers {
    let password = options.password.as_bytes();
    let credentials = match options.auth.as_str() {
        "trust" => Credentials::Trust,
        "password" => Credentials::Password(options.password.clone()),
        "md5" => Credentials::Md5(Md5Verifier::derive(options.user.as_bytes(), password).to_text().to_string()),
        // A stored verifier: logins then cost the server no PBKDF2.
        _ => Credentials::Scram(ScramVerifier::generate(password, &mut rand::rng()).to_text().to_string()),
    };
    StaticUsers::new().user(options.user.clone(), credentials)
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let service = match &options.db {
        Some(path) => SqliteService::open(path),
        None => SqliteService::in_memory(),
    };
    let service = service.unwrap_or_else(|e| {
        eprintln!("cannot open the database: {e}");
        std::process::exit(1);
    });
    let tls = match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => TlsMode::Optional(TlsConfig::from_pem_files(cert, key).unwrap_or_else(|e| {
            eprintln!("cannot load the TLS certificate and key: {e}");
            std::process::exit(1);
        })),
        (None, None) => TlsMode::Disabled,
        _ => {
            eprintln!("--tls-cert and --tls-key go together\n{USAGE}");
            std::process::exit(2);
        }
    };
    let users = users(&options);
    let server = Server::new(service, users, Config::default());
    let addr = server.listen_tcp(options.listen, tls.clone()).await.unwrap_or_else(|e| {
        eprintln!("cannot listen on {}: {e}", options.listen);
        std::process::exit(1);
    });
    if let Some(dir) = &options.socket_dir {
        match server.listen_unix(dir, addr.port(), tls).await {
            Ok(path) => println!("listening on {}", path.display()),
            Err(e) => eprintln!("cannot listen in {dir}: {e}"),
        }
    }
    let database = options.db.as_deref().unwrap_or("(in memory)");
    println!("sqlite-server: {database} on {addr}, {} auth for user {:?}", options.auth, options.user);
    println!("try: psql postgres://{}:{}@{addr}/postwire", options.user, options.password);
    let _ = tokio::signal::ctrl_c().await;
    println!("shutting down");
    server.shutdown(Duration::from_secs(5)).await;
}
