//! Interop with `postgres-types` (feature `postgres-types`): parameters
//! through [`ToSql`], cells through [`FromSql`], so types written for
//! tokio-postgres work unchanged.

use postgres_types::{FromSql, IsNull, ToSql, Type};
use postwire_codec::Format;
use tokio::sync::oneshot;

use super::connection::{Request, Sink};
use super::params::{EncodedParams, FIXED_VALUE};
use super::{Client, ClientError, QueryResult, Row};

impl EncodedParams {
    /// Encodes `ToSql` values as the given types (binary).
    pub(crate) fn encode_typed(sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<Self, ClientError> {
        let mut encoded = EncodedParams::with_sql(sql, params.len() * FIXED_VALUE)?;
        let mut buf = bytes::BytesMut::new();
        for (value, ty) in params {
            buf.clear();
            let is_null = value.to_sql_checked(ty, &mut buf).map_err(|e| ClientError::Value(e.to_string()))?;
            let value = match is_null {
                IsNull::Yes => None,
                IsNull::No => Some(&buf[..]),
            };
            encoded.push(ty.oid(), Format::Binary, value)?;
        }
        Ok(encoded)
    }
}

impl Client {
    /// Like [`Client::query`], with `postgres-types` values and their types
    /// (as tokio-postgres's `query_typed`).
    ///
    /// ```no_run
    /// # async fn demo(client: postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
    /// use postgres_types::Type;
    /// let result = client.query_typed("SELECT $1 || '!'", &[(&"hi", Type::TEXT)]).await?;
    /// assert_eq!(result.rows[0].get_sql::<String>(0)?, "hi!");
    /// # Ok(()) }
    /// ```
    pub async fn query_typed(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<QueryResult, ClientError> {
        let query = EncodedParams::encode_typed(sql, params)?;
        let (reply, answer) = oneshot::channel();
        let request = Request::Extended { query, sink: Sink::Collect(reply) };
        self.requests.send(request).await?;
        answer.await.map_err(|_| ClientError::Closed)?
    }
}

impl Row {
    /// Cell `i` through `postgres-types`' [`FromSql`] (`Option<T>` for a
    /// nullable column). Binary cells only: rows of [`Client::query`],
    /// not of simple queries.
    pub fn get_sql<'a, T: FromSql<'a>>(&'a self, i: usize) -> Result<T, ClientError> {
        let column = self.columns.get(i).ok_or_else(|| ClientError::Value(format!("no column {i}")))?;
        if column.format != Format::Binary {
            return Err(ClientError::Value(format!("column {i} is in the text format")));
        }
        let ty = Type::from_oid(column.type_oid).unwrap_or(Type::UNKNOWN);
        if !T::accepts(&ty) {
            return Err(ClientError::Value(format!("column {i}: {ty} does not convert to the requested type")));
        }
        let raw = self.raw(i)?;
        T::from_sql_nullable(&ty, raw).map_err(|e| ClientError::Value(format!("column {i}: {e}")))
    }
}
