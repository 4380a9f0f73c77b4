//! Transaction blocks and savepoints on a [`Client`].
//!
//! [`Client::transaction`] sends `BEGIN` and hands back a [`Transaction`];
//! [`Transaction::commit`] and [`Transaction::rollback`] end it, and
//! [`Transaction::savepoint`] nests one (`SAVEPOINT`, then `RELEASE` or
//! `ROLLBACK TO`). A transaction dropped without either is rolled back.

use std::future::Future;
use std::ops::Deref;
use std::task::{Context, Waker};

use super::{Client, ClientError};

/// The isolation level of a transaction block (`BEGIN ISOLATION LEVEL …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// `READ UNCOMMITTED` (PostgreSQL runs it as READ COMMITTED).
    ReadUncommitted,
    /// `READ COMMITTED`, PostgreSQL's default.
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

impl IsolationLevel {
    fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// Options for the `BEGIN` of a transaction block, from
/// [`Client::build_transaction`]. Options left unset take the server's
/// defaults.
///
/// ```no_run
/// # async fn demo(client: &mut postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
/// use postwire_server::client::IsolationLevel;
///
/// // BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE
/// let tx = client
///     .build_transaction()
///     .isolation_level(IsolationLevel::Serializable)
///     .read_only(true)
///     .deferrable(true)
///     .start()
///     .await?;
/// let report = tx.simple_query("SELECT count(*) FROM orders").await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "nothing is sent until `start` is awaited"]
pub struct TransactionBuilder<'a> {
    client: &'a mut Client,
    isolation_level: Option<IsolationLevel>,
    read_only: Option<bool>,
    deferrable: Option<bool>,
}

impl<'a> TransactionBuilder<'a> {
    /// Sets the isolation level.
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation_level = Some(level);
        self
    }

    /// `READ ONLY` when true, `READ WRITE` when false.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = Some(read_only);
        self
    }

    /// `DEFERRABLE` when true, `NOT DEFERRABLE` when false (PostgreSQL only
    /// honours it for serializable read-only transactions).
    pub fn deferrable(mut self, deferrable: bool) -> Self {
        self.deferrable = Some(deferrable);
        self
    }

    /// The `BEGIN` statement these options make.
    fn begin_sql(&self) -> String {
        let mut sql = String::from("BEGIN");
        if let Some(level) = self.isolation_level {
            sql.push_str(" ISOLATION LEVEL ");
            sql.push_str(level.sql());
        }
        match self.read_only {
            Some(true) => sql.push_str(" READ ONLY"),
            Some(false) => sql.push_str(" READ WRITE"),
            None => {}
        }
        match self.deferrable {
            Some(true) => sql.push_str(" DEFERRABLE"),
            Some(false) => sql.push_str(" NOT DEFERRABLE"),
            None => {}
        }
        sql
    }

    /// Sends the `BEGIN` and waits for it.
    pub async fn start(self) -> Result<Transaction<'a>, ClientError> {
        let sql = self.begin_sql();
        self.client.simple_query(&sql).await?;
        Ok(Transaction { client: self.client, savepoint: None, finished: false })
    }
}

impl Client {
    /// Starts a transaction block with the server's default options
    /// (`BEGIN`).
    ///
    /// It takes `&mut self` so that this handle cannot run statements
    /// outside the transaction while it is open; clones of the client share
    /// the connection, so statements sent through them run inside it.
    ///
    /// ```no_run
    /// # async fn demo(client: &mut postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
    /// let mut tx = client.transaction().await?;
    /// tx.simple_query("INSERT INTO orders VALUES (1)").await?;
    /// {
    ///     let attempt = tx.savepoint("maybe").await?;
    ///     // Dropped without commit: ROLLBACK TO SAVEPOINT "maybe".
    ///     let _ = attempt.simple_query("INSERT INTO orders VALUES (1)").await;
    /// }
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction(&mut self) -> Result<Transaction<'_>, ClientError> {
        self.build_transaction().start().await
    }

    /// A transaction block with options (isolation level, read only,
    /// deferrable); see [`TransactionBuilder`].
    pub fn build_transaction(&mut self) -> TransactionBuilder<'_> {
        TransactionBuilder { client: self, isolation_level: None, read_only: None, deferrable: None }
    }
}

/// An open transaction block, or a savepoint inside one.
///
/// It dereferences to the [`Client`], so queries run as usual. End it with
/// [`commit`](Transaction::commit) or [`rollback`](Transaction::rollback).
///
/// Dropping it without either rolls it back (`ROLLBACK`, or `ROLLBACK TO
/// SAVEPOINT` and `RELEASE SAVEPOINT` for a savepoint) without waiting for
/// the answer: the request is put on the connection's queue before `drop`
/// returns when the queue has room, so calls made afterwards on the same
/// connection run after the rollback. When the queue is full, a spawned task
/// waits for room (inside a tokio runtime; outside one the rollback is lost
/// and the server rolls back when the connection ends).
#[derive(Debug)]
#[must_use = "a transaction dropped without commit is rolled back"]
pub struct Transaction<'a> {
    client: &'a mut Client,
    /// The quoted name of this savepoint; `None` for the transaction block.
    savepoint: Option<String>,
    /// Committed or rolled back already: nothing to do on drop.
    finished: bool,
}

impl Transaction<'_> {
    /// Commits (`COMMIT`), or releases the savepoint (`RELEASE SAVEPOINT`)
    /// so its work becomes part of the enclosing transaction.
    ///
    /// PostgreSQL answers the `COMMIT` of a failed transaction by rolling it
    /// back, without an error; the tag of that reply is `ROLLBACK`.
    pub async fn commit(mut self) -> Result<(), ClientError> {
        let sql = match &self.savepoint {
            Some(name) => format!("RELEASE SAVEPOINT {name}"),
            None => "COMMIT".to_owned(),
        };
        let answer = self.client.simple_query(&sql).await;
        // Sent and answered: a rollback on drop would be noise.
        self.finished = true;
        answer.map(drop)
    }

    /// Rolls back (`ROLLBACK`), or undoes the savepoint's work and releases
    /// it (`ROLLBACK TO SAVEPOINT`, `RELEASE SAVEPOINT`).
    pub async fn rollback(mut self) -> Result<(), ClientError> {
        let sql = self.rollback_sql();
        let answer = self.client.simple_query(&sql).await;
        self.finished = true;
        answer.map(drop)
    }

    /// Sets a savepoint named `name` and returns it as a nested transaction;
    /// the name is sent as a quoted identifier, so any text (but NUL) works.
    pub async fn savepoint(&mut self, name: &str) -> Result<Transaction<'_>, ClientError> {
        if name.contains('\0') {
            return Err(ClientError::Value("a savepoint name cannot contain NUL".into()));
        }
        let name = quote_identifier(name);
        self.client.simple_query(&format!("SAVEPOINT {name}")).await?;
        Ok(Transaction { client: &mut *self.client, savepoint: Some(name), finished: false })
    }

    /// The savepoint's name as sent (quoted), or `None` for the outer
    /// transaction block.
    pub fn savepoint_name(&self) -> Option<&str> {
        self.savepoint.as_deref()
    }

    fn rollback_sql(&self) -> String {
        match &self.savepoint {
            Some(name) => format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            None => "ROLLBACK".to_owned(),
        }
    }
}

impl Deref for Transaction<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            send_without_waiting(self.client.clone(), self.rollback_sql());
        }
    }
}

/// Sends `sql` as a simple query and does not wait for the answer.
///
/// The call is polled once here, which puts the request on the connection's
/// queue at once when there is room (keeping it ahead of later calls); what
/// is left (waiting for room, then for the answer) goes to a spawned task.
/// `unconstrained` keeps tokio's cooperative budget from deferring that
/// first poll.
pub(super) fn send_without_waiting(client: Client, sql: String) {
    let mut call = Box::pin(tokio::task::unconstrained(async move {
        if let Err(error) = client.simple_query(&sql).await {
            tracing::debug!(%error, sql, "statement sent on drop failed");
        }
    }));
    if call.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_ready() {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(call);
    }
}

/// `name` as a double-quoted SQL identifier (`a"b` becomes `"a""b"`).
fn quote_identifier(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if c == '"' {
            quoted.push('"');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_identifier("sp1"), "\"sp1\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_identifier("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
        assert_eq!(quote_identifier(""), "\"\"");
    }
}
