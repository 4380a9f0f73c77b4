//! What the application implements: describing and running statements.

use core::fmt::Write as _;

use embedded_io_async::Write;
use postwire_codec::backend::{DataRowWriter, FieldDescription};
use postwire_codec::session::SessionError;
use postwire_codec::value::ToValue;
use postwire_codec::{EncodeError, Format, Oid, SqlState};

use crate::conn::{Machine, transmit};
use crate::params::Params;

/// A statement's shape: its parameter types and result columns (empty for a
/// statement that returns no rows).
#[derive(Debug, Clone, Copy, Default)]
pub struct Description<'a> {
    /// One type per `$n` parameter.
    pub params: &'a [Oid],
    /// The result columns; their `format` is ignored (the client chooses).
    pub columns: &'a [FieldDescription<'a>],
}

/// An error reported to the client as an ErrorResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// The SQLSTATE.
    pub code: SqlState,
    /// The message (cut at 96 bytes: no heap).
    pub message: heapless::String<96>,
}

impl QueryError {
    /// An error with `code` and `message`.
    pub fn new(code: SqlState, message: &str) -> Self {
        let mut text = heapless::String::new();
        for c in message.chars() {
            if text.push(c).is_err() {
                break;
            }
        }
        QueryError { code, message: text }
    }

    /// An error whose message is formatted (`format_args!`), cut at 96 bytes.
    pub fn with_args(code: SqlState, args: core::fmt::Arguments<'_>) -> Self {
        let mut text = heapless::String::new();
        let _ = text.write_fmt(args);
        QueryError { code, message: text }
    }

    /// `42601`: a statement the handler does not understand.
    pub fn syntax(message: &str) -> Self {
        Self::new(SqlState::SYNTAX_ERROR, message)
    }
}

/// How a statement ended: its command tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// `SELECT n`, n being the rows sent.
    Select,
    /// A fixed tag such as `SET` or `INSERT 0 1`.
    Command(&'static str),
}

/// Runs statements for one connection.
///
/// `describe` must be cheap and must agree with `execute`: it answers Parse
/// and Describe, `execute` answers Execute and simple queries.
#[allow(async_fn_in_trait)]
pub trait Handler {
    /// The parameter types and result columns of `sql`, or why it cannot run.
    fn describe(&mut self, sql: &str) -> Result<Description<'_>, QueryError>;

    /// Runs `sql` with `params`, writing its rows into `rows` in the columns
    /// `describe` gave, and returns its tag.
    async fn execute<W: Write>(
        &mut self,
        sql: &str,
        params: Params<'_>,
        rows: &mut Rows<'_, '_, W>,
    ) -> Result<Tag, QueryError>;
}

/// Where `execute` writes rows: straight into the connection's output
/// buffer, which is transmitted whenever it fills.
pub struct Rows<'r, 'b, W: Write> {
    machine: &'r mut Machine<'b>,
    io: &'r mut W,
    binary: u16,
    skip: u32,
    limit: u32,
    seen: u32,
    sent: u32,
    failed: Option<W::Error>,
}

impl<'r, 'b, W: Write> Rows<'r, 'b, W> {
    pub(crate) fn new(machine: &'r mut Machine<'b>, io: &'r mut W, binary: u16, skip: u32, limit: u32) -> Self {
        Rows { machine, io, binary, skip, limit, seen: 0, sent: 0, failed: None }
    }

    /// Whether more rows are wanted (false once an Execute's row limit is reached).
    pub fn wants_more(&self) -> bool {
        self.failed.is_none() && !self.at_limit()
    }

    fn at_limit(&self) -> bool {
        self.limit != 0 && self.sent == self.limit
    }

    /// Sends one row; `write` writes its cells in column order (it may be
    /// called again if the output buffer had to be transmitted first).
    pub async fn row(
        &mut self,
        mut write: impl FnMut(&mut RowWriter<'_, '_>) -> Result<(), EncodeError>,
    ) -> Result<(), QueryError> {
        if !self.wants_more() {
            return Ok(());
        }
        self.seen += 1;
        if self.seen <= self.skip {
            return Ok(());
        }
        let binary = self.binary;
        loop {
            match self.machine.data_row_with(|row| write(&mut RowWriter { row, binary })) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
                Err(e) if e.is_output_full() && !self.machine.pending_output().is_empty() => {
                    if let Err(e) = transmit(self.machine, self.io).await {
                        self.failed = Some(e);
                        return Err(QueryError::new(SqlState::CONNECTION_FAILURE, "connection lost"));
                    }
                }
                Err(SessionError::OutputFull(_) | SessionError::Encode(EncodeError::BufferTooSmall { .. })) => {
                    return Err(QueryError::new(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        "row too large for the output buffer",
                    ));
                }
                Err(SessionError::ColumnCountMismatch { .. }) => {
                    return Err(QueryError::new(SqlState::INTERNAL_ERROR, "row does not match its columns"));
                }
                Err(_) => return Err(QueryError::new(SqlState::INTERNAL_ERROR, "cannot encode row")),
            }
        }
    }

    pub(crate) fn finish(self) -> RowsOutcome<W::Error> {
        // As PostgreSQL: reaching the row limit suspends the portal even
        // when no row is left (the next Execute completes with 0).
        RowsOutcome { sent: self.sent, suspended: self.at_limit(), failed: self.failed }
    }
}

/// What happened to a statement's rows.
pub(crate) struct RowsOutcome<E> {
    pub(crate) sent: u32,
    pub(crate) suspended: bool,
    pub(crate) failed: Option<E>,
}

/// Writes one row's cells, each in the format the client asked for.
pub struct RowWriter<'w, 'b> {
    row: &'w mut DataRowWriter<'b>,
    binary: u16,
}

impl RowWriter<'_, '_> {
    fn format(&self) -> Format {
        let column = self.row.columns();
        if column < 16 && self.binary & (1 << column) != 0 { Format::Binary } else { Format::Text }
    }

    /// The next cell: `value` in the column's format.
    pub fn value<T: ToValue + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let format = self.format();
        self.row.cell_with(|sink| value.encode(format, sink))
    }

    /// The next cell, NULL for `None`.
    pub fn option<T: ToValue>(&mut self, value: Option<&T>) -> Result<(), EncodeError> {
        match value {
            Some(v) => self.value(v),
            None => self.null(),
        }
    }

    /// A NULL cell.
    pub fn null(&mut self) -> Result<(), EncodeError> {
        self.row.null()
    }
}
