//! A service that records every simple query it receives, per connection,
//! and keeps the transaction status the way PostgreSQL would for BEGIN,
//! COMMIT, ROLLBACK and ROLLBACK TO. `FAIL` fails; anything else succeeds.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use postwire_server::client::{Client, ClientConfig, connect_with};
use postwire_server::codec::SqlState;
use postwire_server::codec::backend::TransactionStatus;
use postwire_server::{ClientInfo, Config, Context, PgError, QueryResponse, Server, Service, Session, Trust};

/// What every session received: (connection number, SQL).
#[derive(Clone, Default)]
pub struct Recorder {
    pub log: Arc<Mutex<Vec<(usize, String)>>>,
    sessions: Arc<AtomicUsize>,
}

impl Recorder {
    /// The SQL connection `session` sent, in order.
    pub fn sent_by(&self, session: usize) -> Vec<String> {
        self.log.lock().unwrap().iter().filter(|(s, _)| *s == session).map(|(_, sql)| sql.clone()).collect()
    }
}

pub struct Recording {
    recorder: Recorder,
    session: usize,
}

impl Service for Recorder {
    type Session = Recording;

    async fn open(&self, _: &ClientInfo) -> Result<Recording, PgError> {
        let session = self.sessions.fetch_add(1, Ordering::SeqCst);
        Ok(Recording { recorder: self.clone(), session })
    }
}

impl Session for Recording {
    async fn simple_query(&mut self, ctx: &mut Context, sql: &str, out: &mut QueryResponse<'_>) -> Result<(), PgError> {
        self.recorder.log.lock().unwrap().push((self.session, sql.to_owned()));
        let statements: Vec<&str> = sql.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
        if statements.is_empty() {
            return out.empty().await;
        }
        for statement in statements {
            let verb = statement.split_whitespace().next().unwrap_or("");
            match statement {
                "FAIL" => return Err(PgError::new(SqlState::DIVISION_BY_ZERO, "division by zero")),
                "COMMIT" | "ROLLBACK" => ctx.set_transaction_status(TransactionStatus::Idle),
                _ if verb == "BEGIN" => ctx.set_transaction_status(TransactionStatus::InTransaction),
                _ if statement.starts_with("ROLLBACK TO") => {
                    ctx.set_transaction_status(TransactionStatus::InTransaction);
                }
                _ => {}
            }
            out.complete(verb).await?;
        }
        Ok(())
    }
}

/// A recording server and settings to log in to it (trust).
pub fn server() -> (Server<Recorder, Trust>, Recorder) {
    let recorder = Recorder::default();
    (Server::new(recorder.clone(), Trust, Config::default()), recorder)
}

pub fn client_config() -> ClientConfig {
    ClientConfig { user: "alice".into(), database: "db".into(), ..ClientConfig::default() }
}

/// A client on the server's in-process loopback.
pub async fn connect(server: &Server<Recorder, Trust>) -> Client {
    connect_with(server.connect_loopback(), &client_config()).await.expect("login over the loopback")
}
