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
//! [`Client::transaction`] opens a transaction block (with savepoints), and
//! [`Pool`] keeps a few connections for reuse.
//!
//! Not yet: TLS, COPY, notifications, cancel.

mod config;
mod connect;
mod connection;
mod error;
mod pool;
mod row;
mod transaction;

pub use config::ClientConfig;
pub use connect::{connect, connect_with};
pub use connection::Client;
pub use error::{ClientError, DbError};
pub use pool::{Pool, PoolConfig, PoolError, PoolStatus, PooledClient};
pub use postwire_codec::backend::TransactionStatus;
pub use row::{ColumnInfo, QueryResult, Row};
pub use transaction::{IsolationLevel, Transaction, TransactionBuilder};
