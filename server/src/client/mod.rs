//! A tokio client on the codec's frontend machine (feature `client`).
//!
//! [`connect`] logs in and spawns one task that owns the socket and the
//! machine; [`Client`] handles send requests to it. Requests are written as
//! soon as they are made, so concurrent calls are pipelined on the one
//! connection and their results come back in order.
//!
//! ```no_run
//! # async fn demo() -> Result<(), postwire_server::client::ClientError> {
//! use postwire_server::client::{ClientConfig, connect};
//! use postwire_server::Value;
//!
//! let config = ClientConfig::from_url("postgres://alice:secret@127.0.0.1:5432/shop")?;
//! let client = connect(&config).await?;
//! let result = client.query("SELECT $1::int4 + 1", &[Value::Int4(41)]).await?;
//! assert_eq!(result.rows[0].get::<i32>(0)?, Some(42));
//! # Ok(()) }
//! ```
//!
//! Results of [`Client::query`] come in the binary format and are decoded
//! on demand ([`Row::get`]); [`Client::query_stream`] hands rows over as they
//! arrive, with backpressure. COPY both ways ([`Client::copy_in`],
//! [`Client::copy_out`]), LISTEN/NOTIFY ([`Client::notifications`]), notices
//! ([`Client::on_notice`]), cancel ([`Client::cancel_token`]), batches with
//! one Sync ([`Client::batch`]) and FunctionCall are all on the handle.
//!
//! TLS follows libpq's `sslmode` (default `prefer`), over an SSLRequest or
//! PostgreSQL 17 direct TLS; SCRAM-SHA-256-PLUS binds to the TLS channel
//! when the server offers it (`channel_binding`). The client asks for
//! protocol 3.2 and settles for 3.0.
//!
//! [`Client::transaction`] opens a transaction block (with savepoints), and
//! [`Pool`] keeps a few connections for reuse.

mod cache;
mod cancel;
mod config;
mod connect;
mod connection;
mod copy;
mod error;
mod inbox;
mod notify;
mod params;
#[cfg(feature = "postgres-types")]
mod pg_types;
mod pool;
mod row;
mod stream;
mod task;
mod tls;
mod transaction;

pub use cancel::CancelToken;
pub use config::{ChannelBinding, ClientConfig, SslMode, SslNegotiation};
pub use connect::{connect, connect_with};
pub use connection::{Batch, Client};
pub use copy::{CopyInWriter, CopyOutReader};
pub use error::{ClientError, DbError};
pub use notify::{Notification, Notifications};
pub use pool::{Pool, PoolConfig, PoolError, PoolStatus, PooledClient};
pub use postwire_codec::backend::TransactionStatus;
pub use postwire_codec::frontend::ProtocolVersion;
pub use row::{ColumnInfo, QueryResult, Row};
pub use stream::RowStream;
pub use transaction::{IsolationLevel, Transaction, TransactionBuilder};
