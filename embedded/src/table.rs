//! A fixed table of values served as `SELECT * FROM <name>`, no SQL engine.

use embedded_io_async::Write;
use postwire_codec::backend::FieldDescription;
use postwire_codec::{EncodeError, Format, Oid, SqlState, oid};

use crate::handler::{Description, Handler, QueryError, RowWriter, Rows, Tag};
use crate::params::Params;

/// Columns a [`Table`] may have.
pub const MAX_TABLE_COLUMNS: usize = 16;

/// A [`Handler`] exposing `rows` as table `name`. It answers
/// `SELECT * FROM name`, with an optional `LIMIT n` (or `LIMIT $1`) and a
/// trailing `;`, in any letter case, and accepts BEGIN/COMMIT/ROLLBACK;
/// anything else is an error (42P01 for
/// another table, 42601 otherwise).
pub struct Table<'a, T, F> {
    name: &'a str,
    columns: heapless::Vec<FieldDescription<'a>, MAX_TABLE_COLUMNS>,
    rows: &'a [T],
    write: F,
}

/// The parameter types of `… LIMIT $1`.
const LIMIT_PARAM: [Oid; 1] = [oid::INT8];

impl<'a, T, F> Table<'a, T, F>
where
    F: FnMut(&T, &mut RowWriter<'_, '_>) -> Result<(), EncodeError>,
{
    /// A table of `rows`, each written by `write` as the `columns`
    /// (name, type OID) say. Columns past [`MAX_TABLE_COLUMNS`] are dropped.
    pub fn new(name: &'a str, columns: &[(&'a str, Oid)], rows: &'a [T], write: F) -> Self {
        let columns = columns
            .iter()
            .take(MAX_TABLE_COLUMNS)
            .enumerate()
            .map(|(i, &(name, type_oid))| FieldDescription {
                name,
                table_oid: 0,
                column_id: i as i16 + 1,
                type_oid,
                type_size: oid::type_size(type_oid),
                type_modifier: -1,
                format: Format::Text,
            })
            .collect();
        Table { name, columns, rows, write }
    }

    /// Replaces the rows (new readings, say).
    pub fn set_rows(&mut self, rows: &'a [T]) {
        self.rows = rows;
    }

    fn parse(&self, sql: &str) -> Result<Limit, QueryError> {
        if let Some(tag) = transaction_tag(sql) {
            return Ok(Limit::Transaction(tag));
        }
        let mut words = sql.trim().trim_end_matches(';').split_ascii_whitespace();
        let mut next = || words.next().unwrap_or_default();
        let [select, star, from, table] = [next(), next(), next(), next()];
        if !select.eq_ignore_ascii_case("select") || star != "*" || !from.eq_ignore_ascii_case("from") {
            return Err(QueryError::syntax("only SELECT * FROM <table> is supported"));
        }
        if !table.eq_ignore_ascii_case(self.name) {
            return Err(QueryError::with_args(
                SqlState::UNDEFINED_TABLE,
                format_args!("relation \"{table}\" does not exist"),
            ));
        }
        let limit = match (next(), next(), next()) {
            ("", _, _) => Limit::None,
            (word, "$1", "") if word.eq_ignore_ascii_case("limit") => Limit::Param,
            (word, n, "") if word.eq_ignore_ascii_case("limit") => {
                Limit::Fixed(n.parse().map_err(|_| QueryError::syntax("LIMIT takes a number"))?)
            }
            _ => return Err(QueryError::syntax("only SELECT * FROM <table> [LIMIT n] is supported")),
        };
        Ok(limit)
    }
}

enum Limit {
    /// Not a SELECT: BEGIN, COMMIT or ROLLBACK (accepted; the table is read-only).
    Transaction(&'static str),
    None,
    Fixed(u64),
    Param,
}

impl<T, F> Handler for Table<'_, T, F>
where
    F: FnMut(&T, &mut RowWriter<'_, '_>) -> Result<(), EncodeError>,
{
    fn describe(&mut self, sql: &str) -> Result<Description<'_>, QueryError> {
        let params: &[Oid] = if let Limit::Param = self.parse(sql)? { &LIMIT_PARAM } else { &[] };
        let columns: &[FieldDescription<'_>] =
            if let Limit::Transaction(_) = self.parse(sql)? { &[] } else { &self.columns };
        Ok(Description { params, columns })
    }

    async fn execute<W: Write>(
        &mut self,
        sql: &str,
        params: Params<'_>,
        rows: &mut Rows<'_, '_, W>,
    ) -> Result<Tag, QueryError> {
        let limit = match self.parse(sql)? {
            Limit::Transaction(tag) => return Ok(Tag::Command(tag)),
            Limit::None => u64::MAX,
            Limit::Fixed(n) => n,
            Limit::Param => match params.get::<i64>(0)? {
                Some(n) if n >= 0 => n as u64,
                Some(_) => {
                    return Err(QueryError::new(
                        SqlState::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE,
                        "LIMIT must not be negative",
                    ));
                }
                None => u64::MAX,
            },
        };
        let write = &mut self.write;
        for row in self.rows.iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
            if !rows.wants_more() {
                break;
            }
            rows.row(|w| write(row, w)).await?;
        }
        Ok(Tag::Select)
    }
}

/// The command tag of a transaction statement, if `sql` is one.
fn transaction_tag(sql: &str) -> Option<&'static str> {
    let statement = sql.trim().trim_end_matches(';').trim_end();
    let is = |word: &str| statement.eq_ignore_ascii_case(word);
    if is("begin") || is("start transaction") {
        Some("BEGIN")
    } else if is("commit") || is("end") {
        Some("COMMIT")
    } else if is("rollback") || is("abort") {
        Some("ROLLBACK")
    } else {
        None
    }
}
