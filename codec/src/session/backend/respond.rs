//! The driver's answers to commands: results, errors, COPY, ReadyForQuery,
//! and the messages a backend may send at any time.

use super::{Backend, Reply, Results, State};
use crate::{
    Encode, EncodeError, Format, Oid,
    backend::list::List,
    backend::{
        BindComplete, CommandComplete, CopyBothResponse, CopyFormats, CopyInResponse, CopyOutResponse, DataRow,
        DataRowWriter, EmptyQueryResponse, ErrorFields, ErrorResponse, FieldDescription, FunctionCallResponse, NoData,
        NoticeResponse, NotificationResponse, ParameterDescription, ParameterStatus, ParseComplete, PortalSuspended,
        ReadyForQuery, RowDescription, Severity, TransactionStatus,
    },
    copy::{CopyData, CopyDone},
    session::{CloseReason, OutputFull, SessionError},
};

impl<B: AsRef<[u8]> + AsMut<[u8]>, const S: usize, const P: usize> Backend<B, S, P> {
    fn reply(&self) -> Result<Reply, SessionError> {
        match self.state {
            State::Replying(r) => Ok(r),
            State::Closed(_) => Err(SessionError::Closed),
            _ => Err(SessionError::OutOfOrder),
        }
    }

    fn after_accept(&self) -> Result<(), SessionError> {
        match self.state {
            State::Commands | State::Replying(_) | State::CopyIn(_) => Ok(()),
            State::Closed(_) => Err(SessionError::Closed),
            _ => Err(SessionError::OutOfOrder),
        }
    }

    /// Sets the status the next ReadyForQuery reports (after BEGIN, COMMIT…).
    /// An error inside a transaction block sets Failed by itself.
    pub fn set_transaction_status(&mut self, status: TransactionStatus) -> Result<(), SessionError> {
        self.after_accept()?;
        self.status = status;
        Ok(())
    }

    /// Describes the rows that follow (simple Query), or answers Describe.
    pub fn row_description(&mut self, fields: &[FieldDescription<'_>]) -> Result<(), SessionError> {
        let columns = u16::try_from(fields.len()).map_err(|_| EncodeError::TooManyItems)?;
        let next = match self.reply()? {
            Reply::Simple { results: Results::Start, failed: false, function_call: false } => {
                State::Replying(Reply::Simple {
                    results: Results::Rows { columns: Some(columns) },
                    failed: false,
                    function_call: false,
                })
            }
            Reply::DescribeStatement { parameters_sent: true, .. } => State::Commands,
            Reply::DescribePortal { portal } => {
                self.out.push(&RowDescription::new(fields))?;
                if let Some(p) = self.portals.get_mut(usize::from(portal)) {
                    p.columns = Some(columns);
                }
                self.state = State::Commands;
                return Ok(());
            }
            _ => return Err(SessionError::OutOfOrder),
        };
        self.out.push(&RowDescription::new(fields))?;
        self.state = next;
        Ok(())
    }

    /// Columns the next DataRow must have, if known; errors unless rows may be sent.
    fn row_columns(&self) -> Result<Option<u16>, SessionError> {
        match self.reply()? {
            Reply::Simple { results: Results::Rows { columns }, failed: false, .. }
            | Reply::Execute { results: Results::Rows { columns }, .. } => Ok(columns),
            _ => Err(SessionError::OutOfOrder),
        }
    }

    /// Sends one row. See [`data_row_with`](Self::data_row_with) to encode
    /// values straight into the output buffer.
    pub fn data_row(&mut self, cells: &[Option<&[u8]>]) -> Result<(), SessionError> {
        check_columns(self.row_columns()?, cells.len())?;
        self.out.push(&DataRow::new(cells))?;
        Ok(())
    }

    /// Sends one row written by `write` straight into the output buffer.
    /// If the row does not fit, nothing is kept and `OutputFull` says how much
    /// room it needs: transmit, then call again.
    pub fn data_row_with(
        &mut self,
        write: impl FnOnce(&mut DataRowWriter<'_>) -> Result<(), EncodeError>,
    ) -> Result<(), SessionError> {
        let columns = self.row_columns()?;
        self.out.write_with(7, |free: &mut [u8]| {
            let mut row = DataRowWriter::begin(free, 0)?;
            write(&mut row)?;
            check_columns(columns, row.columns())?;
            Ok::<usize, SessionError>(row.finish()?)
        })?;
        Ok(())
    }

    /// Sends a row as another server sent it (a proxy passing rows on, say,
    /// from the frontend machine's `DataRow` events). A row checked on
    /// receipt, as the frontend machine's are, is copied whole.
    pub fn forward_row(&mut self, row: &DataRow<'_>) -> Result<(), SessionError> {
        check_columns(self.row_columns()?, row.len())?;
        // Checked here if it was not on receipt: sizing and writing then
        // take the one-copy path instead of walking the cells each.
        let row = row.checked().map_err(|_| EncodeError::InvalidValue)?;
        let len = row.encoded_len()?;
        self.out.write_with(len, |free: &mut [u8]| row.encode(free))?;
        Ok(())
    }

    /// Ends the current statement with its command tag (`SELECT 3`, `INSERT 0 1`…).
    pub fn command_complete(&mut self, tag: &str) -> Result<(), SessionError> {
        let next = match self.reply()? {
            Reply::Simple {
                results: Results::Start | Results::Rows { .. } | Results::CopyFinished,
                failed: false,
                function_call: false,
            } => State::Replying(Reply::Simple { results: Results::Start, failed: false, function_call: false }),
            Reply::Execute { results: Results::Start | Results::Rows { .. } | Results::CopyFinished, .. } => {
                State::Commands
            }
            _ => return Err(SessionError::OutOfOrder),
        };
        self.out.push(&CommandComplete { tag })?;
        self.state = next;
        Ok(())
    }

    /// Answers an empty query string (or an Execute of an empty statement).
    pub fn empty_query(&mut self) -> Result<(), SessionError> {
        let next = match self.reply()? {
            Reply::Simple { results: Results::Start, failed: false, function_call: false } => self.state,
            Reply::Execute { results: Results::Start | Results::Rows { .. }, .. } => State::Commands,
            _ => return Err(SessionError::OutOfOrder),
        };
        self.out.push(&EmptyQueryResponse)?;
        self.state = next;
        Ok(())
    }

    /// Ends an Execute whose row limit was reached with rows left: the client
    /// may Execute the portal again.
    pub fn portal_suspended(&mut self) -> Result<(), SessionError> {
        let Reply::Execute { results: Results::Rows { .. }, limited: true, .. } = self.reply()? else {
            return Err(SessionError::OutOfOrder);
        };
        self.out.push(&PortalSuspended)?;
        self.state = State::Commands;
        Ok(())
    }

    /// Answers Parse. `parameters` is the statement's real parameter count
    /// (Bind messages must supply exactly that many).
    pub fn parse_complete(&mut self, parameters: usize) -> Result<(), SessionError> {
        let Reply::Parse { statement } = self.reply()? else { return Err(SessionError::OutOfOrder) };
        let parameters = u16::try_from(parameters).map_err(|_| EncodeError::TooManyItems)?;
        self.out.push(&ParseComplete)?;
        if let Some(s) = self.statements.get_mut(usize::from(statement)) {
            s.value = parameters;
        }
        self.state = State::Commands;
        Ok(())
    }

    /// Answers Bind.
    pub fn bind_complete(&mut self) -> Result<(), SessionError> {
        let Reply::Bind { .. } = self.reply()? else { return Err(SessionError::OutOfOrder) };
        self.out.push(&BindComplete)?;
        self.state = State::Commands;
        Ok(())
    }

    /// The first half of the answer to Describe of a statement: its parameter
    /// types. `row_description` or `no_data` follows.
    pub fn parameter_description(&mut self, types: &[Oid]) -> Result<(), SessionError> {
        let Reply::DescribeStatement { parameters_sent: false, statement } = self.reply()? else {
            return Err(SessionError::OutOfOrder);
        };
        self.out.push(&ParameterDescription { types: List::from_slice(types) })?;
        self.state = State::Replying(Reply::DescribeStatement { parameters_sent: true, statement });
        Ok(())
    }

    /// Answers Describe of a statement or portal that returns no rows.
    pub fn no_data(&mut self) -> Result<(), SessionError> {
        match self.reply()? {
            Reply::DescribeStatement { parameters_sent: true, .. } => {}
            Reply::DescribePortal { portal } => {
                if let Some(p) = self.portals.get_mut(usize::from(portal)) {
                    p.columns = Some(0);
                }
            }
            _ => return Err(SessionError::OutOfOrder),
        }
        self.out.push(&NoData)?;
        self.state = State::Commands;
        Ok(())
    }

    /// Answers a FunctionCall; `ready_for_query` follows.
    pub fn function_call_response(&mut self, result: Option<&[u8]>) -> Result<(), SessionError> {
        let Reply::Simple { results: Results::Start, failed: false, function_call: true } = self.reply()? else {
            return Err(SessionError::OutOfOrder);
        };
        self.out.push(&FunctionCallResponse { result })?;
        self.state = State::Replying(Reply::Simple { results: Results::Done, failed: false, function_call: true });
        Ok(())
    }

    /// Fails the current command with an ERROR (or, with a FATAL severity,
    /// ends the session). A simple Query then needs only `ready_for_query`;
    /// in an extended batch the machine skips to the next Sync.
    pub fn error(&mut self, fields: &ErrorFields<'_>) -> Result<(), SessionError> {
        let reply = match self.state {
            State::Replying(Reply::Sync) => return Err(SessionError::OutOfOrder),
            State::Replying(r) | State::CopyIn(r) => r,
            State::Closed(_) => return Err(SessionError::Closed),
            _ => return Err(SessionError::OutOfOrder),
        };
        if matches!(reply, Reply::Simple { failed: true, .. }) {
            return Err(SessionError::OutOfOrder);
        }
        self.out.push(&ErrorResponse::from(fields))?;
        if matches!(fields.severity, Severity::Fatal | Severity::Panic) {
            self.state = State::Closed(CloseReason::Rejected);
            return Ok(());
        }
        self.fail_transaction();
        self.state = match reply {
            Reply::Simple { function_call, .. } => {
                State::Replying(Reply::Simple { results: Results::Done, failed: true, function_call })
            }
            other => {
                match other {
                    Reply::Parse { statement } => self.statements.remove(usize::from(statement)),
                    Reply::Bind { portal } => self.portals.remove(usize::from(portal)),
                    _ => {}
                }
                self.skipping = true;
                State::Commands
            }
        };
        Ok(())
    }

    /// Ends a simple Query, FunctionCall or Sync: queues ReadyForQuery with
    /// the transaction status. Ending a transaction (Idle) closes all portals.
    pub fn ready_for_query(&mut self) -> Result<(), SessionError> {
        match self.reply()? {
            Reply::Sync
            | Reply::Simple { failed: true, .. }
            | Reply::Simple { results: Results::Start, function_call: false, .. }
            | Reply::Simple { results: Results::Done, function_call: true, .. } => {}
            _ => return Err(SessionError::OutOfOrder),
        }
        self.out.push(&ReadyForQuery { status: self.status })?;
        if self.status == TransactionStatus::Idle {
            self.portals.clear();
        }
        self.state = State::Commands;
        Ok(())
    }

    fn copy_start(&self) -> Result<Reply, SessionError> {
        match self.reply()? {
            r @ (Reply::Simple { results: Results::Start, failed: false, function_call: false }
            | Reply::Execute { results: Results::Start | Results::Rows { .. }, .. }) => Ok(r),
            _ => Err(SessionError::OutOfOrder),
        }
    }

    /// Starts COPY FROM STDIN: the client's CopyData events follow, then
    /// `CopyDone` (answer with `command_complete`) or `CopyAborted`.
    pub fn copy_in_response(&mut self, format: Format, columns: &[Format]) -> Result<(), SessionError> {
        let reply = self.copy_start()?;
        self.out.push(&CopyInResponse { formats: CopyFormats { format, columns: List::from_slice(columns) } })?;
        self.state = State::CopyIn(super::with_results(reply, Results::Start));
        Ok(())
    }

    /// Starts COPY TO STDOUT: `copy_data` as often as needed, then `copy_done`
    /// and `command_complete`.
    pub fn copy_out_response(&mut self, format: Format, columns: &[Format]) -> Result<(), SessionError> {
        let reply = self.copy_start()?;
        self.out.push(&CopyOutResponse { formats: CopyFormats { format, columns: List::from_slice(columns) } })?;
        self.state = State::Replying(super::with_results(reply, Results::CopyOut));
        Ok(())
    }

    /// Starts a CopyBoth stream (replication): `copy_data` both ways; the
    /// client's data come as events until its `CopyDone`, then `copy_done`
    /// and `command_complete`.
    pub fn copy_both_response(&mut self, format: Format, columns: &[Format]) -> Result<(), SessionError> {
        let reply = self.copy_start()?;
        self.out.push(&CopyBothResponse { formats: CopyFormats { format, columns: List::from_slice(columns) } })?;
        self.state = State::CopyIn(super::with_results(reply, Results::CopyOut));
        Ok(())
    }

    fn copying_out(&self) -> Result<(), SessionError> {
        match self.state {
            State::Replying(
                Reply::Simple { results: Results::CopyOut, .. } | Reply::Execute { results: Results::CopyOut, .. },
            )
            | State::CopyIn(
                Reply::Simple { results: Results::CopyOut, .. } | Reply::Execute { results: Results::CopyOut, .. },
            ) => Ok(()),
            State::Closed(_) => Err(SessionError::Closed),
            _ => Err(SessionError::OutOfOrder),
        }
    }

    /// Sends COPY data (after `copy_out_response` or `copy_both_response`).
    pub fn copy_data(&mut self, data: &[u8]) -> Result<(), SessionError> {
        self.copying_out()?;
        self.out.push(&CopyData { data })?;
        Ok(())
    }

    /// Ends the server's COPY data; `command_complete` follows (for CopyBoth,
    /// once the client's CopyDone has come).
    pub fn copy_done(&mut self) -> Result<(), SessionError> {
        self.copying_out()?;
        self.out.push(&CopyDone)?;
        self.state = match self.state {
            State::Replying(r) => State::Replying(super::with_results(r, Results::CopyFinished)),
            // CopyBoth: the client's stream is still open.
            State::CopyIn(r) => State::CopyIn(super::with_results(r, Results::Start)),
            other => other,
        };
        Ok(())
    }

    /// Ends the session from the server's side at any point, whatever is under
    /// way: queues `fields` as a FATAL error (57P01 at shutdown, 57P05 or 25P03
    /// for an idle timeout…) and closes. Transmit what is pending, then close
    /// the connection. Like every answer, it fails with `OutputFull` (changing
    /// nothing) when the error does not fit: transmit, then call again.
    pub fn terminate(&mut self, fields: &ErrorFields<'_>) -> Result<(), SessionError> {
        if let State::Closed(_) = self.state {
            return Err(SessionError::Closed);
        }
        self.out.push(&ErrorResponse::from(&ErrorFields { severity: Severity::Fatal, ..*fields }))?;
        self.state = State::Closed(CloseReason::Rejected);
        Ok(())
    }

    /// Sends a NoticeResponse (a warning, a notice…), at any point after
    /// `accept`. Before that, keep it and send it later.
    pub fn notice(&mut self, fields: &ErrorFields<'_>) -> Result<(), SessionError> {
        self.after_accept()?;
        self.out.push(&NoticeResponse::from(fields))?;
        Ok(())
    }

    /// Sends a NotificationResponse (a NOTIFY on a channel this session
    /// listens to), at any point after `accept`.
    pub fn notification(&mut self, process_id: i32, channel: &str, payload: &str) -> Result<(), SessionError> {
        self.after_accept()?;
        self.out.push(&NotificationResponse { process_id, channel, payload })?;
        Ok(())
    }

    /// Reports a changed run-time parameter (ParameterStatus), at any point
    /// after `accept`.
    pub fn parameter_status(&mut self, name: &str, value: &str) -> Result<(), SessionError> {
        self.after_accept()?;
        self.out.push(&ParameterStatus { name, value })?;
        Ok(())
    }
}

fn check_columns(expected: Option<u16>, got: usize) -> Result<(), SessionError> {
    match expected {
        Some(n) if usize::from(n) != got => Err(SessionError::ColumnCountMismatch { expected: usize::from(n), got }),
        _ => Ok(()),
    }
}

impl From<OutputFull> for EncodeError {
    fn from(e: OutputFull) -> Self {
        EncodeError::BufferTooSmall { required: e.needed }
    }
}
