//! A PostgreSQL-protocol server on tokio: listeners (TCP, Unix socket, TLS
//! with SSLRequest and direct TLS, in-process loopback), authentication,
//! cancellation, LISTEN/NOTIFY, timeouts and graceful shutdown, around the
//! `postwire-codec` backend state machine.
//!
//! The application implements three traits:
//! - [`AuthSource`]: how each user proves who they are ([`Credentials`]);
//!   [`Trust`] and [`StaticUsers`] are ready-made.
//! - [`Service`]: opens a [`Session`] for each authenticated client.
//! - [`Session`]: answers simple queries (writing into a [`QueryResponse`]),
//!   prepares and executes statements (returning a [`Response`]), COPY, and
//!   function calls.
//!
//! Each connection is one task running a thin loop: read bytes, feed the
//! machine, answer its events through the session, write the machine's
//! output. The protocol rules live in the machine; the loop only moves bytes
//! and calls handlers. Output is sent whenever the connection's buffer fills,
//! so results stream to the client at the pace it reads them.
//!
//! Connections run on whatever tokio runtime the listener was started on, or,
//! with [`Server::serve_tcp_on_threads`], one single-threaded runtime per
//! thread with each connection pinned to one (cheaper for many small
//! queries).

#[cfg(feature = "client")]
pub mod client;
mod config;
mod conn;
mod context;
mod error;
mod handler;
mod io;
mod response;
mod row_source;
mod server;
mod tls;
mod value;

pub use config::{Config, Parameters};
pub use context::Context;
pub use error::{ConnectionError, PgError};
pub use handler::{
    AuthSource, ClientInfo, CopyIn, CopyInSink, CopyOut, Credentials, FunctionCall, Peer, Portal, Prepared, Response,
    RowStream, Rows, Service, Session, StaticUsers, TokenValidator, Trust,
};
pub use response::{MAX_PORTALS, MAX_STATEMENTS, QueryResponse};
pub use server::{Server, ServerThreads};
pub use tls::{ALPN_POSTGRESQL, TlsConfig, TlsMode, tls_server_end_point};
pub use value::{Column, RowWriter, Value};

/// The codec this server drives (types such as [`SqlState`](postwire_codec::SqlState),
/// [`Format`](postwire_codec::Format) and the value encoders).
pub use postwire_codec as codec;
/// The TLS library, for building a [`TlsConfig`] by hand.
pub use tokio_rustls::rustls;
