//! What an application implements: where credentials come from
//! ([`AuthSource`]), how sessions open ([`Service`]) and how each session
//! answers queries ([`Session`]), and the values they exchange with the driver.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use postwire_codec::frontend::ProtocolVersion;
use postwire_codec::value::FromValue;
use postwire_codec::{EncodeError, Format, Oid, SqlState};

use crate::context::Context;
use crate::error::PgError;
use crate::response::QueryResponse;
use crate::row_source::{RowSource, TypedRows};
use crate::value::{Column, RowWriter, Value};

/// Where the client is connected from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Peer {
    /// A TCP connection from this address.
    Tcp(SocketAddr),
    /// A Unix-domain socket connection.
    Unix,
    /// An in-process connection ([`Server::connect_loopback`](crate::Server::connect_loopback)).
    Loopback,
}

/// Who the client is: known from its startup packet, before authentication.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The process id this session reports in BackendKeyData (and in the
    /// notifications it sends).
    pub process_id: i32,
    /// The user name from the startup packet.
    pub user: String,
    /// The database (the user name when the client named none).
    pub database: String,
    /// Every startup parameter (`application_name`, `options`, `_pq_.`…).
    pub params: Vec<(String, String)>,
    /// Where the client connects from.
    pub peer: Peer,
    /// Whether the connection is encrypted with TLS.
    pub tls: bool,
    /// The protocol version the session speaks (3.0 or 3.2).
    pub protocol_version: ProtocolVersion,
    /// On TLS, the `tls-server-end-point` channel-binding data (RFC 5929):
    /// the hash of the server certificate, for SCRAM-SHA-256-PLUS.
    pub tls_server_end_point: Option<Arc<[u8]>>,
}

impl ClientInfo {
    /// A startup parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Validates an OAuth bearer token for a user (OAUTHBEARER).
pub trait TokenValidator: Send + Sync + 'static {
    /// The issuer URL sent to clients in the discovery document (PostgreSQL's
    /// `oauth_issuer`), e.g. `https://accounts.example.com`.
    fn issuer(&self) -> &str;

    /// The scopes a token needs, space-separated (`oauth_scope`).
    fn scope(&self) -> &str {
        "openid"
    }

    /// Whether `token` lets `user` in.
    fn validate<'a>(&'a self, user: &'a str, token: &'a str) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}

/// How one user must prove who they are, as an [`AuthSource`] says.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// No proof: the client is in (pg_hba `trust`).
    Trust,
    /// A cleartext password the client must send (pg_hba `password`).
    Password(String),
    /// MD5 challenge-response (pg_hba `md5`) against the role's stored
    /// password as in `pg_authid.rolpassword`: an `md5…` verifier, or
    /// plaintext. As in PostgreSQL, a SCRAM verifier turns this into SCRAM.
    Md5(String),
    /// A SCRAM-SHA-256 verifier (`SCRAM-SHA-256$<iterations>:<salt>$<stored>:<server>`).
    /// SCRAM-SHA-256 (and -PLUS on TLS) against the stored password: a
    /// verifier (make one with `postwire_codec::auth::ScramVerifier`), or
    /// plaintext. A role with an MD5 verifier fails, as in PostgreSQL.
    Scram(String),
    /// OAUTHBEARER (PostgreSQL 18): the client's bearer token is checked by
    /// the validator.
    OAuth(Arc<dyn TokenValidator>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.write_str(match self {
            Credentials::Trust => "Trust",
            Credentials::Password(_) => "Password(..)",
            Credentials::Md5(_) => "Md5(..)",
            Credentials::Scram(_) => "Scram(..)",
            Credentials::OAuth(_) => "OAuth(..)",
        })
    }
}

/// Where credentials come from: called once per connection, after the
/// startup packet. Return an error (FATAL, e.g. 28000 or 3D000) to reject the
/// client before any authentication exchange.
pub trait AuthSource: Send + Sync + 'static {
    /// How `client` must authenticate.
    fn credentials(&self, client: &ClientInfo) -> impl Future<Output = Result<Credentials, PgError>> + Send;
}

/// Lets everyone in (pg_hba `trust`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Trust;

impl AuthSource for Trust {
    async fn credentials(&self, _: &ClientInfo) -> Result<Credentials, PgError> {
        Ok(Credentials::Trust)
    }
}

/// A fixed table of users and their credentials; unknown users are
/// rejected with 28000, as PostgreSQL does for a user without a role.
#[derive(Debug, Clone, Default)]
pub struct StaticUsers {
    users: HashMap<String, Credentials>,
}

impl StaticUsers {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a user.
    pub fn user(mut self, name: impl Into<String>, credentials: Credentials) -> Self {
        self.users.insert(name.into(), credentials);
        self
    }
}

impl AuthSource for StaticUsers {
    async fn credentials(&self, client: &ClientInfo) -> Result<Credentials, PgError> {
        self.users.get(&client.user).cloned().ok_or_else(|| {
            PgError::fatal(
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{}\" does not exist", client.user),
            )
        })
    }
}

/// Opens a [`Session`] for each authenticated client. Shared by every
/// connection of a [`Server`](crate::Server).
pub trait Service: Send + Sync + 'static {
    /// The per-connection handler.
    type Session: Session;

    /// A session for `client`, which has authenticated. An error rejects the
    /// client (FATAL; 3D000 for an unknown database, say).
    fn open(&self, client: &ClientInfo) -> impl Future<Output = Result<Self::Session, PgError>> + Send;
}

/// One client's session: answers its queries. Every method has a default
/// that reports the feature as unsupported (0A000), so implement only what
/// the application needs. The driver runs one method at a time; a cancel
/// request or a forced shutdown drops the running method's future.
pub trait Session: Send + 'static {
    /// A simple Query: `sql` may hold several statements. Answer each through
    /// `out` (a [`Response`] with [`QueryResponse::send`], or row by row); an
    /// `Err` fails the statement and ends the batch. The driver sends
    /// ReadyForQuery.
    fn simple_query(
        &mut self,
        ctx: &mut Context,
        sql: &str,
        out: &mut QueryResponse<'_>,
    ) -> impl Future<Output = Result<(), PgError>> + Send {
        let _ = (ctx, sql, out);
        async { Err(PgError::not_supported("the simple query protocol")) }
    }

    /// Parse: prepare `sql`, returning its parameter types and result columns.
    /// `param_types` are those the client declared (0: unspecified); the
    /// returned list must cover every parameter.
    fn prepare(
        &mut self,
        ctx: &mut Context,
        sql: &str,
        param_types: &[Oid],
    ) -> impl Future<Output = Result<Prepared, PgError>> + Send {
        let _ = (ctx, sql, param_types);
        async { Err(PgError::not_supported("the extended query protocol")) }
    }

    /// Execute: run a bound portal. Rows come as a stream the driver pulls
    /// from as the client reads, honouring the Execute row limit (the stream
    /// is kept, suspended, until the next Execute).
    fn execute(
        &mut self,
        ctx: &mut Context,
        portal: &Portal<'_>,
    ) -> impl Future<Output = Result<Response, PgError>> + Send {
        let _ = (ctx, portal);
        async { Err(PgError::not_supported("the extended query protocol")) }
    }

    /// Sync: the end of an extended-query batch (commit an implicit
    /// transaction here). ReadyForQuery follows.
    fn sync(&mut self, ctx: &mut Context) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// A FunctionCall: the function's result (in `call.result_format`), or NULL.
    fn function_call(
        &mut self,
        ctx: &mut Context,
        call: &FunctionCall,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, PgError>> + Send {
        let _ = (ctx, call);
        async { Err(PgError::not_supported("the function call protocol")) }
    }
}

/// What Parse learnt about a statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Every parameter's type.
    pub param_types: Vec<Oid>,
    /// The result columns; empty for a statement that returns no rows.
    pub columns: Vec<Column>,
}

impl Prepared {
    /// A statement with these parameter types and result columns.
    pub fn new(param_types: Vec<Oid>, columns: Vec<Column>) -> Self {
        Prepared { param_types, columns }
    }
}

/// A FunctionCall's arguments.
#[derive(Debug, Clone)]
pub struct FunctionCall {
    /// The function's OID.
    pub function: Oid,
    /// The arguments (`None` is NULL) and their formats.
    pub args: Vec<(Option<Vec<u8>>, Format)>,
    /// The format the result must be in.
    pub result_format: Format,
}

/// A bound portal, as [`Session::execute`] sees it: the statement and the
/// parameter values.
#[derive(Debug)]
pub struct Portal<'a> {
    /// The prepared statement's name (empty: unnamed).
    pub statement: &'a str,
    /// The statement's SQL.
    pub sql: &'a str,
    /// The parameter types (from [`Prepared`]).
    pub param_types: &'a [Oid],
    /// The result columns (from [`Prepared`]).
    pub columns: &'a [Column],
    pub(crate) params: &'a [Option<Vec<u8>>],
    pub(crate) param_formats: &'a [Format],
}

impl<'a> Portal<'a> {
    /// The number of parameters.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// Parameter `i` as sent: its bytes (`None`: NULL) and format.
    pub fn raw_param(&self, i: usize) -> Option<(Option<&'a [u8]>, Format)> {
        let value = self.params.get(i)?;
        let format = match self.param_formats {
            [] => Format::Text,
            [one] => *one,
            many => *many.get(i)?,
        };
        Some((value.as_deref(), format))
    }

    /// Parameter `i` decoded as `T` (`None`: NULL). A value that does not
    /// decode is 22P02; a missing one 08P01.
    pub fn param<T: FromValue<'a>>(&self, i: usize) -> Result<Option<T>, PgError> {
        let (value, format) = self
            .raw_param(i)
            .ok_or_else(|| PgError::new(SqlState::PROTOCOL_VIOLATION, format!("no parameter ${}", i + 1)))?;
        value
            .map(|bytes| T::decode(format, bytes))
            .transpose()
            .map_err(|e| PgError::new(e.sqlstate(), format!("invalid value for parameter ${}: {e}", i + 1)))
    }
}

/// The outcome of one statement.
#[non_exhaustive]
pub enum Response {
    /// An empty statement (EmptyQueryResponse).
    Empty,
    /// A statement without rows; the command tag (`INSERT 0 1`, `CREATE TABLE`…).
    Command(String),
    /// Rows.
    Rows(Rows),
    /// COPY … TO STDOUT.
    CopyOut(CopyOut),
    /// COPY … FROM STDIN.
    CopyIn(CopyIn),
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Response::Empty => f.write_str("Empty"),
            Response::Command(tag) => write!(f, "Command({tag:?})"),
            Response::Rows(r) => write!(f, "Rows({:?})", r.columns),
            Response::CopyOut(_) => f.write_str("CopyOut"),
            Response::CopyIn(_) => f.write_str("CopyIn"),
        }
    }
}

/// A stream of rows (each a `Vec<Value>`, one value per column).
pub type RowStream = BoxStream<'static, Result<Vec<Value>, PgError>>;

/// Result rows and the columns they have.
pub struct Rows {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Box<dyn RowSource>,
    pub(crate) command: String,
}

impl Rows {
    /// Rows pulled from `rows` as the client reads them. An `Err` item fails
    /// the statement after the rows before it were sent.
    pub fn new(columns: Vec<Column>, rows: impl Stream<Item = Result<Vec<Value>, PgError>> + Send + 'static) -> Self {
        Rows::typed(columns, rows, |values: &Vec<Value>, row| values.iter().try_for_each(|v| row.dynamic(v)))
    }

    /// Rows already in memory.
    pub fn from_vec(columns: Vec<Column>, rows: Vec<Vec<Value>>) -> Self {
        Rows::new(columns, stream::iter(rows.into_iter().map(Ok)))
    }

    /// Rows of any type, pulled from `rows` as the client reads them and
    /// written by `write` straight into the output buffer, each value in its
    /// column's format: no [`Value`] or `Vec` per row. `write` may be called
    /// more than once for a row (when the buffer was full the first time).
    ///
    /// ```
    /// use futures_util::stream;
    /// use postwire_server::codec::oid;
    /// use postwire_server::{Column, Rows};
    ///
    /// let readings = vec![(1, "hall", 21.5), (2, "attic", 24.25)];
    /// let columns = vec![Column::new("id", oid::INT4), Column::new("place", oid::TEXT), Column::new("celsius", oid::FLOAT8)];
    /// let rows = Rows::typed(columns, stream::iter(readings.into_iter().map(Ok)), |(id, place, celsius), row| {
    ///     row.value(id)?;
    ///     row.value(*place)?;
    ///     row.value(celsius)
    /// });
    /// # let _ = rows;
    /// ```
    pub fn typed<T: Send + 'static>(
        columns: Vec<Column>,
        rows: impl Stream<Item = Result<T, PgError>> + Send + 'static,
        write: impl Fn(&T, &mut RowWriter<'_, '_>) -> Result<(), EncodeError> + Send + 'static,
    ) -> Self {
        Rows { columns, rows: Box::new(TypedRows::new(rows, write)), command: "SELECT".into() }
    }

    /// The command tag's verb (default `SELECT`): the tag is `<command> <rows>`
    /// (`INSERT 0` for `INSERT … RETURNING`, say).
    pub fn with_command(mut self, command: impl Into<String>) -> Self {
        self.command = command.into();
        self
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

/// COPY TO STDOUT: the data, one item per row (the tag is `COPY <items>`).
pub struct CopyOut {
    pub(crate) format: Format,
    pub(crate) columns: Vec<Format>,
    pub(crate) header: Option<Vec<u8>>,
    pub(crate) data: BoxStream<'static, Result<Vec<u8>, PgError>>,
}

impl CopyOut {
    /// COPY data in `format` with `columns` columns, from `data`.
    pub fn new(
        format: Format,
        columns: usize,
        data: impl Stream<Item = Result<Vec<u8>, PgError>> + Send + 'static,
    ) -> Self {
        CopyOut { format, columns: vec![format; columns], header: None, data: data.boxed() }
    }

    /// Sends `header` before the data without counting it as a row (a CSV
    /// header line, the binary format's signature).
    pub fn with_header(mut self, header: Vec<u8>) -> Self {
        self.header = Some(header);
        self
    }
}

/// Receives COPY FROM STDIN data.
pub trait CopyInSink: Send + 'static {
    /// Some data (chunk boundaries mean nothing). An error fails the COPY; the
    /// rest of the client's data is discarded.
    fn data(&mut self, data: &[u8]) -> Result<(), PgError>;
    /// The client finished: the number of rows copied (`COPY <n>`).
    fn finish(self: Box<Self>) -> Result<u64, PgError>;
    /// The client aborted (CopyFail) or the copy failed: discard everything.
    fn abort(self: Box<Self>) {}
}

/// COPY FROM STDIN: where the data goes.
pub struct CopyIn {
    pub(crate) format: Format,
    pub(crate) columns: Vec<Format>,
    pub(crate) sink: Box<dyn CopyInSink>,
}

impl CopyIn {
    /// COPY data in `format` with `columns` columns, into `sink`.
    pub fn new(format: Format, columns: usize, sink: impl CopyInSink) -> Self {
        CopyIn { format, columns: vec![format; columns], sink: Box::new(sink) }
    }
}
