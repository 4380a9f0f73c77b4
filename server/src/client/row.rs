//! Result rows, owned, decoded on demand.

use std::sync::Arc;

use postwire_codec::value::FromValue;
use postwire_codec::{Format, Oid};

use super::ClientError;

/// A result column: name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// Its type OID.
    pub type_oid: Oid,
}

/// One row; cells in the text format.
#[derive(Debug, Clone)]
pub struct Row {
    pub(crate) columns: Arc<[ColumnInfo]>,
    pub(crate) cells: Vec<Option<Vec<u8>>>,
}

impl Row {
    /// The columns.
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the row has no cells.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Cell `i` decoded as `T` (`None` for NULL).
    pub fn get<'a, T: FromValue<'a>>(&'a self, i: usize) -> Result<Option<T>, ClientError> {
        let cell = self.cells.get(i).ok_or_else(|| ClientError::Value(format!("no column {i}")))?;
        cell.as_deref()
            .map(|bytes| T::decode(Format::Text, bytes))
            .transpose()
            .map_err(|e| ClientError::Value(format!("column {i}: {e}")))
    }

    /// Cell `i` as text (`None` for NULL or a missing column).
    pub fn text(&self, i: usize) -> Option<&str> {
        std::str::from_utf8(self.cells.get(i)?.as_deref()?).ok()
    }
}

/// What a query returned: its rows (every statement's, for a simple query
/// with several) and the last command tag.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// The rows.
    pub rows: Vec<Row>,
    /// The last CommandComplete tag (`SELECT 3`, `INSERT 0 1`…).
    pub tag: String,
}
