//! Result rows: each a view of its DataRow in the bytes read from the
//! socket, decoded on demand, so fetching a row allocates nothing.

use std::sync::Arc;

use bytes::Bytes;
use postwire_codec::backend::DataRow;
use postwire_codec::value::FromValue;
use postwire_codec::{Format, Oid, oid};

use super::ClientError;

/// A result column: name, type and the format its cells arrive in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// Its type OID.
    pub type_oid: Oid,
    /// Text for simple queries, binary for [`Client::query`](super::Client::query).
    pub format: Format,
}

/// One row. Cloning it is cheap (it shares the bytes it was read in).
#[derive(Clone)]
pub struct Row {
    pub(crate) columns: Arc<[ColumnInfo]>,
    /// The DataRow body: a cell count, then length-prefixed cells. Checked
    /// by the frontend machine when it was read.
    pub(crate) body: Bytes,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for cell in self.cells() {
            list.entry(&cell.map(String::from_utf8_lossy));
        }
        list.finish()
    }
}

impl Row {
    /// The columns.
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.data_row().len()
    }

    /// Whether the row has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn data_row(&self) -> DataRow<'_> {
        // The machine validated the body; an empty row is the fallback that
        // cannot happen.
        DataRow::decode_body(&self.body).unwrap_or(DataRow::new(&[]))
    }

    /// The raw cells in column order (`None` for NULL), in each column's
    /// [`format`](ColumnInfo::format).
    pub fn cells(&self) -> impl Iterator<Item = Option<&[u8]>> {
        // The machine validated the body, so no cell is an error.
        self.data_row().cells().map_while(Result::ok)
    }

    /// Cell `i` as raw bytes (`None` for NULL).
    pub fn raw(&self, i: usize) -> Result<Option<&[u8]>, ClientError> {
        DataRow::cell_in_body(&self.body, i).map_err(|_| ClientError::Value(format!("no column {i}")))
    }

    /// Cell `i` decoded as `T` (`None` for NULL), in the column's format:
    /// `i32`, `i64`, `f64`, `bool`, `&str`, the codec's date/time, numeric,
    /// UUID, JSON and array types.
    ///
    /// ```no_run
    /// # async fn demo(client: postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
    /// let result = client.query("SELECT 42::int4, 'answer'", &[]).await?;
    /// let row = &result.rows[0];
    /// assert_eq!(row.get::<i32>(0)?, Some(42));
    /// assert_eq!(row.get::<&str>(1)?, Some("answer"));
    /// # Ok(()) }
    /// ```
    pub fn get<'a, T: FromValue<'a>>(&'a self, i: usize) -> Result<Option<T>, ClientError> {
        let format = self.columns.get(i).map_or(Format::Text, |c| c.format);
        self.raw(i)?
            .map(|bytes| T::decode(format, bytes))
            .transpose()
            .map_err(|e| ClientError::Value(format!("column {i}: {e}")))
    }

    /// Cell `i` as text: any text-format cell, or a binary cell of a textual
    /// type (text, varchar, name, char, json, unknown). `None` for NULL, a
    /// missing column, or a binary cell of another type (use [`Row::get`]).
    pub fn text(&self, i: usize) -> Option<&str> {
        let column = self.columns.get(i);
        let textual = column.is_none_or(|c| {
            c.format == Format::Text
                || matches!(c.type_oid, oid::TEXT | oid::VARCHAR | oid::NAME | oid::BPCHAR | oid::JSON | oid::UNKNOWN)
        });
        if !textual {
            return None;
        }
        std::str::from_utf8(self.raw(i).ok()??).ok()
    }
}

/// What a query returned: its rows (every statement's, for a simple query
/// with several) and the last command tag.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// The rows.
    pub rows: Vec<Row>,
    pub(crate) tag: Option<Bytes>,
}

impl QueryResult {
    /// The last CommandComplete tag (`SELECT 3`, `INSERT 0 1`…), empty if
    /// none came (an empty query).
    pub fn tag(&self) -> &str {
        self.tag.as_deref().and_then(|t| std::str::from_utf8(t).ok()).unwrap_or_default()
    }

    /// The row count in the tag (`INSERT 0 5` → 5), 0 if it has none.
    pub fn rows_affected(&self) -> u64 {
        rows_in_tag(self.tag())
    }
}

/// The trailing number of a command tag.
pub(crate) fn rows_in_tag(tag: &str) -> u64 {
    tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}
