//! Writing answers through the machine: the output side of a connection
//! (flush, retry on a full buffer, grow for one large message) and the
//! response sink a simple-query handler writes into.

use std::future::poll_fn;

use futures_util::StreamExt;
use postwire_codec::backend::{FieldDescription, Severity};
use postwire_codec::session::SessionError;
use postwire_codec::session::backend::{Backend, Event};
use postwire_codec::{EncodeError, Format, SqlState};
use tokio::io::AsyncWriteExt;

use crate::error::{ConnectionError, PgError};
use crate::handler::{CopyIn, CopyOut, Response};
use crate::io::{BoxIo, InputBuffer};
use crate::row_source::RowSource;
use crate::value::{Column, RowWriter, Value};

/// Prepared statements one session may hold at once (more → 54000).
pub const MAX_STATEMENTS: usize = 128;
/// Portals one session may hold at once (more → 54000).
pub const MAX_PORTALS: usize = 32;

pub(crate) type Machine = Backend<Vec<u8>, MAX_STATEMENTS, MAX_PORTALS>;

/// The connection's output side: the stream and the machine whose output
/// buffer feeds it.
pub(crate) struct Out {
    pub(crate) io: BoxIo,
    pub(crate) backend: Machine,
    default_size: usize,
    max_size: usize,
    /// Set when the connection broke inside a handler's call: the driver ends
    /// the session with it once the handler returns.
    pub(crate) broken: Option<ConnectionError>,
}

impl Out {
    pub(crate) fn new(io: BoxIo, backend: Machine, default_size: usize, max_size: usize) -> Self {
        Out { io, backend, default_size, max_size, broken: None }
    }

    /// Transmits everything pending. Cancel-safe: what was written is consumed
    /// at once, so a dropped flush never sends bytes twice.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        while !self.backend.pending_output().is_empty() {
            let n = self.io.write(self.backend.pending_output()).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.backend.consume_output(n);
        }
        self.io.flush().await?;
        if self.backend.output_capacity() > self.default_size {
            // Back to the usual size once the large message is out.
            let _ = self.backend.replace_output_storage(vec![0; self.default_size]);
        }
        Ok(())
    }

    /// Frees the output buffer once everything is sent (an idle session); the
    /// next message brings back one of the usual size.
    pub(crate) fn release(&mut self) {
        if self.backend.pending_output().is_empty() && self.backend.output_capacity() > 0 {
            let _ = self.backend.replace_output_storage(Vec::new());
        }
    }

    /// Calls `f` on the machine, transmitting (or growing the buffer, for a
    /// message larger than it) and retrying while the output is full.
    pub(crate) async fn call<T>(
        &mut self,
        mut f: impl FnMut(&mut Machine) -> Result<T, SessionError>,
    ) -> Result<T, ConnectionError> {
        loop {
            match f(&mut self.backend) {
                Err(SessionError::OutputFull(full)) => {
                    if !self.backend.pending_output().is_empty() {
                        self.flush().await?;
                        continue;
                    }
                    let capacity = self.backend.output_capacity();
                    if (full.needed <= capacity && capacity >= self.default_size) || full.needed > self.max_size {
                        return Err(ConnectionError::MessageTooLarge { needed: full.needed });
                    }
                    let size = full.needed.next_power_of_two().max(self.default_size).min(self.max_size);
                    let _ = self.backend.replace_output_storage(vec![0; size]);
                }
                other => return other.map_err(ConnectionError::from),
            }
        }
    }

    /// Like [`call`](Self::call), for a handler: a broken connection is kept
    /// in `broken` and reported to the handler as 08006.
    pub(crate) async fn try_call<T>(
        &mut self,
        f: impl FnMut(&mut Machine) -> Result<T, SessionError>,
    ) -> Result<T, PgError> {
        match self.call(f).await {
            Ok(v) => Ok(v),
            Err(ConnectionError::Session(e)) => Err(session_error(e)),
            Err(e) => {
                let error = PgError::new(SqlState::CONNECTION_FAILURE, e.to_string());
                self.broken = Some(e);
                Err(error)
            }
        }
    }

    /// Sends a row of owned values.
    pub(crate) async fn values(&mut self, values: &[Value], formats: &[Format]) -> Result<(), PgError> {
        self.try_call(|b| {
            b.data_row_with(|row| {
                let mut row = RowWriter { row, formats };
                values.iter().try_for_each(|v| row.dynamic(v))
            })
        })
        .await
    }

    /// Sends rows from `rows` until it ends or `limit` rows are out. As in
    /// PostgreSQL, reaching the limit suspends the portal even when no row
    /// is left: the next Execute then completes with 0 rows.
    pub(crate) async fn stream_rows(
        &mut self,
        rows: &mut dyn RowSource,
        formats: &[Format],
        limit: Option<u64>,
    ) -> Result<Streamed, PgError> {
        let mut sent = 0u64;
        loop {
            if limit == Some(sent) {
                return Ok(Streamed::Suspended);
            }
            match poll_fn(|cx| rows.poll_next_row(cx)).await {
                None => return Ok(Streamed::Done(sent)),
                Some(row) => row?,
            }
            self.try_call(|b| b.data_row_with(|row| rows.write_row(&mut RowWriter { row, formats }))).await?;
            sent += 1;
        }
    }

    /// COPY TO STDOUT: the response, the data, CopyDone and CommandComplete.
    pub(crate) async fn copy_out(&mut self, copy: CopyOut) -> Result<(), PgError> {
        let CopyOut { format, columns, header, mut data } = copy;
        self.try_call(|b| b.copy_out_response(format, &columns)).await?;
        if let Some(header) = header {
            self.try_call(|b| b.copy_data(&header)).await?;
        }
        let mut rows = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            self.try_call(|b| b.copy_data(&chunk)).await?;
            rows += 1;
        }
        self.try_call(|b| b.copy_done()).await?;
        let tag = format!("COPY {rows}");
        self.try_call(|b| b.command_complete(&tag)).await
    }

    /// COPY FROM STDIN: the response, then the client's data into the sink,
    /// then CommandComplete. `Err(Copy::Failed)` when the error was already
    /// reported to the client (its CopyFail, or a sink error).
    pub(crate) async fn copy_in(&mut self, input: &mut InputBuffer, copy: CopyIn) -> Result<(), CopyError> {
        let CopyIn { format, columns, mut sink } = copy;
        self.try_call(|b| b.copy_in_response(format, &columns)).await?;
        self.flush().await.map_err(|e| self.broke(e.into()))?;
        loop {
            let step = self.backend.handle_input(input.data());
            let consumed = step.consumed;
            match step.event {
                Some(Event::CopyData { data }) => {
                    let result = sink.data(data);
                    input.consume(consumed);
                    if let Err(e) = result {
                        sink.abort();
                        self.error(&e).await?;
                        return Err(CopyError::Failed(e));
                    }
                }
                Some(Event::CopyDone) => {
                    input.consume(consumed);
                    match sink.finish() {
                        Ok(rows) => {
                            let tag = format!("COPY {rows}");
                            return Ok(self.try_call(|b| b.command_complete(&tag)).await?);
                        }
                        Err(e) => return Err(CopyError::Error(e)),
                    }
                }
                Some(Event::CopyAborted { client_message }) => {
                    let message = client_message.unwrap_or("unexpected message during COPY").to_owned();
                    input.consume(consumed);
                    sink.abort();
                    return Err(CopyError::Failed(PgError::new(SqlState::QUERY_CANCELED, message)));
                }
                Some(_) => {
                    // The client broke the protocol (a FATAL is queued) or left.
                    input.consume(consumed);
                    sink.abort();
                    let e = PgError::fatal(SqlState::PROTOCOL_VIOLATION, "connection ended during COPY");
                    return Err(CopyError::Failed(e));
                }
                None if consumed > 0 => input.consume(consumed),
                None => match input.read_from(&mut self.io, step.needed).await {
                    Ok(0) => {
                        self.backend.handle_eof(input.len());
                        sink.abort();
                        let e = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                        return Err(CopyError::Error(self.broke(e.into())));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        sink.abort();
                        return Err(CopyError::Error(self.broke(e.into())));
                    }
                },
            }
        }
    }

    /// Fails the current command with `e` (an ERROR; FATAL ends the session).
    pub(crate) async fn error(&mut self, e: &PgError) -> Result<(), PgError> {
        let position = e.position_text();
        let fields = e.fields(position.as_ref());
        self.try_call(|b| b.error(&fields)).await
    }

    /// Ends the session with a FATAL error, whatever is under way.
    pub(crate) async fn terminate(&mut self, e: &PgError) -> Result<(), ConnectionError> {
        let position = e.position_text();
        let fields = e.fields(position.as_ref());
        self.call(|b| b.terminate(&fields)).await
    }

    fn broke(&mut self, e: ConnectionError) -> PgError {
        let error = PgError::new(SqlState::CONNECTION_FAILURE, e.to_string());
        self.broken = Some(e);
        error
    }
}

/// How a stream of rows ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Streamed {
    Done(u64),
    Suspended,
}

/// A COPY FROM STDIN that did not complete.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Not reported yet: the caller sends it.
    Error(PgError),
    /// Already reported to the client (or the client's own CopyFail).
    Failed(PgError),
}

impl From<PgError> for CopyError {
    fn from(e: PgError) -> Self {
        CopyError::Error(e)
    }
}

/// A machine refusal inside a handler's answer: a bug in the handler (or an
/// unencodable value), reported to the client as an error.
pub(crate) fn session_error(e: SessionError) -> PgError {
    match e {
        SessionError::Encode(EncodeError::NulInString) => {
            PgError::new(SqlState::CHARACTER_NOT_IN_REPERTOIRE, "invalid byte sequence for encoding \"UTF8\": 0x00")
        }
        SessionError::Encode(e) => PgError::new(SqlState::INTERNAL_ERROR, format!("cannot encode a value: {e}")),
        e => PgError::new(SqlState::INTERNAL_ERROR, format!("the server answered out of order: {e}")),
    }
}

/// Where a [`Session::simple_query`](crate::Session::simple_query) handler
/// writes its answer, straight through the protocol machine into the
/// connection's output buffer. When the buffer fills, the sink's `async`
/// methods wait until the client has taken what is pending: a slow reader
/// slows the handler down instead of making the server buffer the result.
///
/// Per statement: [`send`](Self::send) a whole [`Response`]; or
/// [`columns`](Self::columns), then [`row`](Self::row)s, then
/// [`complete`](Self::complete); or [`empty`](Self::empty). A failed
/// statement is the handler's `Err`, which ends the batch.
pub struct QueryResponse<'a> {
    pub(crate) out: &'a mut Out,
    pub(crate) input: &'a mut InputBuffer,
    /// Rows sent in the current statement, once its columns are.
    pub(crate) rows: Option<u64>,
    /// The statement already failed and the client was told (COPY).
    pub(crate) failed: bool,
}

impl std::fmt::Debug for QueryResponse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryResponse").field("rows", &self.rows).field("failed", &self.failed).finish()
    }
}

impl QueryResponse<'_> {
    fn check(&self) -> Result<(), PgError> {
        if self.failed {
            return Err(PgError::new(SqlState::IN_FAILED_SQL_TRANSACTION, "the statement already failed"));
        }
        Ok(())
    }

    /// Starts a result: the columns (RowDescription, text format).
    pub async fn columns(&mut self, columns: &[Column]) -> Result<(), PgError> {
        self.check()?;
        let fields: Vec<FieldDescription<'_>> = columns.iter().map(|c| c.field(Format::Text)).collect();
        self.out.try_call(|b| b.row_description(&fields)).await?;
        self.rows = Some(0);
        Ok(())
    }

    /// Sends one row, written value by value by `write` (called again if the
    /// row did not fit the buffer at first).
    pub async fn row(
        &mut self,
        mut write: impl FnMut(&mut RowWriter<'_, '_>) -> Result<(), EncodeError>,
    ) -> Result<(), PgError> {
        self.check()?;
        self.out.try_call(|b| b.data_row_with(|row| write(&mut RowWriter { row, formats: &[] }))).await?;
        self.count_row();
        Ok(())
    }

    /// Sends one row of owned values.
    pub async fn values(&mut self, values: &[Value]) -> Result<(), PgError> {
        self.check()?;
        self.out.values(values, &[]).await?;
        self.count_row();
        Ok(())
    }

    fn count_row(&mut self) {
        if let Some(n) = &mut self.rows {
            *n += 1;
        }
    }

    /// Ends the statement with its command tag (`SELECT 2`, `INSERT 0 1`…).
    pub async fn complete(&mut self, tag: &str) -> Result<(), PgError> {
        self.check()?;
        self.out.try_call(|b| b.command_complete(tag)).await?;
        self.rows = None;
        Ok(())
    }

    /// Answers an empty statement.
    pub async fn empty(&mut self) -> Result<(), PgError> {
        self.check()?;
        self.out.try_call(|b| b.empty_query()).await
    }

    /// Sends a whole statement's answer: the columns, every row and the tag;
    /// a command tag; an empty answer; or a COPY (reading the client's data
    /// for COPY FROM STDIN).
    pub async fn send(&mut self, response: Response) -> Result<(), PgError> {
        self.check()?;
        match response {
            Response::Empty => self.empty().await,
            Response::Command(tag) => self.complete(&tag).await,
            Response::Rows(mut rows) => {
                self.columns(&rows.columns).await?;
                let result = self.out.stream_rows(&mut *rows.rows, &[], None).await;
                let Streamed::Done(n) = result? else { unreachable!("no row limit") };
                self.complete(&format!("{} {n}", rows.command)).await
            }
            Response::CopyOut(copy) => self.out.copy_out(copy).await,
            Response::CopyIn(copy) => match self.out.copy_in(self.input, copy).await {
                Ok(()) => Ok(()),
                Err(CopyError::Error(e)) => Err(e),
                Err(CopyError::Failed(e)) => {
                    self.failed = true;
                    Err(e)
                }
            },
        }
    }

    /// Sends a notice (severity NOTICE unless `notice.severity` says
    /// otherwise: WARNING, INFO…; ERROR and FATAL become NOTICE).
    pub async fn notice(&mut self, notice: &PgError) -> Result<(), PgError> {
        let mut notice = notice.clone();
        if matches!(notice.severity, Severity::Error | Severity::Fatal | Severity::Panic) {
            notice.severity = Severity::Notice;
        }
        let position = notice.position_text();
        let fields = notice.fields(position.as_ref());
        self.out.try_call(|b| b.notice(&fields)).await
    }

    /// Transmits what is queued now rather than when the buffer fills or the
    /// command ends.
    pub async fn flush(&mut self) -> Result<(), PgError> {
        match self.out.flush().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.out.broke(e.into())),
        }
    }
}
