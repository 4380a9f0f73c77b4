//! The connection task: owns the socket and the frontend machine, writes
//! requests as they come, reads answers and routes each to its caller.
//!
//! One loop waits for whichever comes first: room to write, bytes to read, a
//! new request, COPY data. Reading and writing progress together, so a long
//! pipeline can never deadlock against a server busy writing results.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use postwire_codec::backend::RowDescription;
use postwire_codec::frontend::TargetKind;
use postwire_codec::session::SessionError;
use postwire_codec::session::frontend::{Event, Frontend, RequestId};
use postwire_codec::{Format, Oid};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use super::cache::StatementCache;
use super::cancel::CancelToken;
use super::connect::Established;
use super::connection::{CopyChunk, Request, Shared, Sink};
use super::copy::{CopyInWriter, CopyOutReader};
use super::notify::Notification;
use super::params::{EncodedParams, INLINE_PARAMS};
use super::stream::{MessageBodies, StreamItem};
use super::{Client, ClientConfig, ClientError, ColumnInfo, DbError, QueryResult, Row};

/// Requests the machine tracks at once (an extended query takes up to six:
/// Close, Parse, Describe, Bind, Execute, Sync); more wait in the channel.
pub(super) const IN_FLIGHT: usize = 2048;
/// The machine's output buffer; it grows for a larger request, then shrinks
/// back.
pub(super) const OUTPUT: usize = 64 * 1024;
/// Bytes asked for per socket read.
const READ_CHUNK: usize = 64 * 1024;
/// Input buffers kept for reuse besides the one being filled: enough for
/// the chunks a row stream may hold (queued, and the one being read) and the
/// buffers they span, so a stream that keeps up reuses them all.
const SPARES: usize = super::connection::STREAM_CHUNKS + 2;
/// The largest CopyData message sent; bigger pieces are split.
const COPY_PIECE: usize = 32 * 1024;
/// COPY data pieces buffered from the writer.
const COPY_CHUNKS: usize = 4;

/// Spawns the connection task for a logged-in session.
pub(super) fn spawn<S>(established: Established<S>, config: &ClientConfig) -> Client
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Established { stream, frontend, input, info } = established;
    let mut request = [0u8; 512];
    let cancel = frontend
        .cancel_request(&mut request)
        .ok()
        .map(|n| CancelToken { config: Arc::new(config.clone()), request: Arc::from(&request[..n]) });
    let (notify, notifications) = mpsc::channel(config.notification_capacity.max(1));
    let shared = Arc::new(Shared {
        info,
        status: AtomicU8::new(b'I'),
        cancel,
        notifications: Mutex::new(Some(notifications)),
        dropped_notifications: AtomicU64::new(0),
        notice_handler: Mutex::new(None),
    });
    let (requests, inbox) = super::inbox::inbox();
    let task = Task {
        stream,
        frontend,
        input,
        spares: Vec::new(),
        inbox,
        inbox_open: true,
        backlog: VecDeque::new(),
        batch: None,
        pending: VecDeque::new(),
        answered: Vec::new(),
        statements: StatementCache::new(config.statement_cache_size),
        copy_in: None,
        copy_rest: None,
        gate: false,
        refill: false,
        unflushed: false,
        notify,
        shared: shared.clone(),
    };
    tokio::spawn(task.run());
    Client { requests, shared }
}

/// A request written and waiting for its ReadyForQuery.
struct Pending {
    target: Target,
    /// Extended queries: the statements it runs, first unfinished first.
    slots: Slots,
    /// The columns of the rows arriving now.
    columns: Option<Arc<[ColumnInfo]>>,
    /// Statements this request prepares (Parse id, name): dropped from the
    /// cache unless their ParseComplete comes.
    creates: Vec<(RequestId, Arc<str>)>,
    error: Option<ClientError>,
}

/// One Execute of an extended request, and where its columns come from.
struct Slot {
    execute: RequestId,
    columns: Arc<OnceLock<Arc<[ColumnInfo]>>>,
}

/// A request's Executes in order; one without allocating (the usual case).
enum Slots {
    None,
    One(Slot),
    Many(VecDeque<Slot>),
}

impl Slots {
    fn front(&self) -> Option<&Slot> {
        match self {
            Slots::None => None,
            Slots::One(slot) => Some(slot),
            Slots::Many(slots) => slots.front(),
        }
    }

    fn is_empty(&self) -> bool {
        self.front().is_none()
    }

    fn push_back(&mut self, slot: Slot) {
        *self = match std::mem::replace(self, Slots::None) {
            Slots::None => Slots::One(slot),
            Slots::One(first) => Slots::Many(VecDeque::from([first, slot])),
            Slots::Many(mut slots) => {
                slots.push_back(slot);
                Slots::Many(slots)
            }
        };
    }

    fn pop_front(&mut self) {
        match self {
            Slots::None => {}
            Slots::One(_) => *self = Slots::None,
            Slots::Many(slots) => drop(slots.pop_front()),
        }
    }
}

/// Where a request's answers go.
enum Target {
    Collect {
        reply: oneshot::Sender<Result<QueryResult, ClientError>>,
        result: QueryResult,
    },
    Stream {
        tx: Option<mpsc::Sender<StreamItem>>,
        tag: Option<Bytes>,
    },
    Batch {
        reply: oneshot::Sender<Vec<Result<QueryResult, ClientError>>>,
        results: Vec<Result<QueryResult, ClientError>>,
        current: QueryResult,
        total: usize,
    },
    CopyIn {
        reply: Option<oneshot::Sender<Result<CopyInWriter, ClientError>>>,
        done: Option<oneshot::Sender<Result<u64, ClientError>>>,
        tag: Option<Bytes>,
    },
    CopyOut {
        reply: Option<oneshot::Sender<Result<CopyOutReader, ClientError>>>,
        tx: Option<mpsc::Sender<StreamItem>>,
        tag: Option<Bytes>,
    },
    Function {
        reply: oneshot::Sender<Result<Option<Vec<u8>>, ClientError>>,
        result: Option<Vec<u8>>,
    },
}

impl Pending {
    fn new(target: Target) -> Self {
        Pending { target, slots: Slots::None, columns: None, creates: Vec::new(), error: None }
    }

    /// Where a streamed DataRow or CopyData goes, if it is streamed.
    fn stream(&self) -> Option<&mpsc::Sender<StreamItem>> {
        match &self.target {
            Target::Stream { tx, .. } | Target::CopyOut { tx, .. } => tx.as_ref(),
            _ => None,
        }
    }
}

/// A batch whose queries are still being written.
struct BatchSend {
    items: VecDeque<EncodedParams>,
    /// A Flush went out since the last query: the server will answer what it
    /// has, freeing room in the machine's queue.
    flushed: bool,
}

/// What woke the loop.
enum Wake {
    Wrote,
    Read,
    Eof,
    Requests,
    InboxClosed,
    Copy(Option<CopyChunk>),
}

struct Task<S> {
    stream: S,
    frontend: Box<Frontend<Vec<u8>, IN_FLIGHT>>,
    input: BytesMut,
    /// Earlier input buffers, kept for reuse once the rows and chunks taken
    /// from them are dropped: a streamed result cycles through the same few
    /// buffers instead of allocating one per read chunk.
    spares: Vec<BytesMut>,
    inbox: super::inbox::Receiver,
    inbox_open: bool,
    /// Requests taken from the inbox and not written yet (the first did not
    /// fit); the inbox is taken again only once these are all written.
    backlog: VecDeque<Request>,
    batch: Option<BatchSend>,
    pending: VecDeque<Pending>,
    /// Requests answered in the input just read, whose callers hear once
    /// the requests that fit are written: the server gets its next work
    /// before the callers' thread is woken (and takes the CPU).
    answered: Vec<Pending>,
    statements: StatementCache,
    /// COPY FROM STDIN data on its way from the writer.
    copy_in: Option<mpsc::Receiver<CopyChunk>>,
    /// The part of a large COPY data chunk not sent yet.
    copy_rest: Option<Bytes>,
    /// A COPY FROM STDIN is pending: nothing else may be written until it
    /// ends (the server would take it for COPY data).
    gate: bool,
    /// The machine's queue was full: nothing more is written until a
    /// quarter of it is free.
    refill: bool,
    /// Bytes were written since the last flush (a TLS or buffered stream
    /// may hold them).
    unflushed: bool,
    notify: mpsc::Sender<Notification>,
    shared: Arc<Shared>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Task<S> {
    async fn run(mut self) {
        let result = self.serve().await;
        self.tell_answered();
        let Err(error) = result else { return };
        tracing::debug!(%error, "client connection ended");
        // The request being answered hears why; the rest that it is closed.
        let mut error = Some(error);
        for pending in std::mem::take(&mut self.pending) {
            let e = error.take().unwrap_or(ClientError::Closed);
            finish_with_error(pending.target, e).await;
        }
        for request in std::mem::take(&mut self.backlog).into_iter().chain(self.inbox.close()) {
            request.fail(|| ClientError::Closed);
        }
    }

    async fn serve(&mut self) -> Result<(), ClientError> {
        // What arrived with the login's ReadyForQuery (a notice, say).
        if !self.input.is_empty() {
            self.handle_input().await?;
        }
        loop {
            self.fill()?;
            if !self.answered.is_empty() {
                if !self.frontend.pending_output().is_empty()
                    && let Poll::Ready(result) = poll_fn(|cx| Poll::Ready(self.poll_write(cx))).await
                {
                    result?;
                }
                self.tell_answered();
            }
            if !self.inbox_open && self.backlog.is_empty() && self.batch.is_none() && self.pending.is_empty() {
                // Every handle is gone and nothing is in flight.
                let _ = self.frontend.send_terminate();
                while !self.frontend.pending_output().is_empty() {
                    poll_fn(|cx| self.poll_write(cx)).await?;
                }
                poll_fn(|cx| Pin::new(&mut self.stream).poll_shutdown(cx)).await?;
                return Ok(());
            }
            match poll_fn(|cx| self.poll_wake(cx)).await? {
                Wake::Wrote => {
                    // Shrink an output buffer grown for one large request.
                    if self.frontend.pending_output().is_empty() && self.frontend.output_capacity() > OUTPUT {
                        let _ = self.frontend.replace_output_storage(vec![0; OUTPUT]);
                    }
                }
                Wake::Read => {
                    // Take what else has already arrived: fewer, larger
                    // chunks for streams and fewer wake-ups.
                    while self.input.len() < READ_CHUNK && poll_fn(|cx| Poll::Ready(self.read_ready(cx))).await? {}
                    self.handle_input().await?
                }
                Wake::Eof => {
                    self.frontend.handle_eof(self.input.len());
                    return Err(ClientError::Closed);
                }
                Wake::Requests => {}
                Wake::InboxClosed => self.inbox_open = false,
                Wake::Copy(chunk) => self.copy_chunk(chunk)?,
            }
        }
    }

    /// Hands the answered requests their results.
    fn tell_answered(&mut self) {
        for p in self.answered.drain(..) {
            // Only targets answered through a oneshot wait here: finishing
            // them never waits.
            let finished = finish(p).now_or_never();
            debug_assert!(finished.is_some());
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        let out = self.frontend.pending_output();
        match Pin::new(&mut self.stream).poll_write(cx, out) {
            Poll::Ready(Ok(0)) => Poll::Ready(Err(ClientError::Closed)),
            Poll::Ready(Ok(n)) => {
                self.frontend.consume_output(n);
                self.unflushed = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Makes room for a read when less than a quarter of [`READ_CHUNK`] is
    /// left: in place when nothing taken from the buffer is alive any more,
    /// else in a spare whose views are all gone (the partial message moves
    /// along), else in a new buffer while there are fewer than [`SPARES`].
    /// Every buffer has the same capacity, so any spare fits.
    fn make_room(&mut self) {
        if self.input.capacity() - self.input.len() >= READ_CHUNK / 4 {
            return;
        }
        let room = READ_CHUNK / 2;
        if self.input.try_reclaim(room) {
            return;
        }
        let needed = self.input.len() + room;
        let next = match self.spares.iter_mut().position(|spare| spare.try_reclaim(needed)) {
            Some(i) => self.spares.swap_remove(i),
            None if self.spares.len() < SPARES && needed <= READ_CHUNK => BytesMut::with_capacity(READ_CHUNK),
            None => return self.input.reserve(READ_CHUNK),
        };
        let mut old = std::mem::replace(&mut self.input, next);
        self.input.extend_from_slice(&old);
        old.clear();
        self.spares.push(old);
    }

    /// Reads whatever the socket has right now; `false` when nothing (or
    /// the end, which the next wait reports).
    fn read_ready(&mut self, cx: &mut Context<'_>) -> Result<bool, ClientError> {
        self.make_room();
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.input) {
            Poll::Ready(Ok(n)) => Ok(n > 0),
            Poll::Ready(Err(e)) => Err(e.into()),
            Poll::Pending => Ok(false),
        }
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Result<Wake, ClientError>> {
        if !self.frontend.pending_output().is_empty()
            && let Poll::Ready(result) = self.poll_write(cx)
        {
            return Poll::Ready(result.map(|()| Wake::Wrote));
        }
        if self.unflushed && self.frontend.pending_output().is_empty() {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {}
            }
        }
        self.make_room();
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.input) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Wake::Eof)),
            Poll::Ready(Ok(_)) => return Poll::Ready(Ok(Wake::Read)),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            Poll::Pending => {}
        }
        if self.inbox_open && self.backlog.is_empty() && self.batch.is_none() && !self.gate {
            match self.inbox.poll_take(cx, &mut self.backlog) {
                Poll::Ready(true) => return Poll::Ready(Ok(Wake::Requests)),
                Poll::Ready(false) => return Poll::Ready(Ok(Wake::InboxClosed)),
                Poll::Pending => {}
            }
        }
        if let Some(copy) = &mut self.copy_in
            && self.frontend.output_capacity() - self.frontend.pending_output().len() >= COPY_PIECE + 5
        {
            if let Some(rest) = self.copy_rest.take() {
                return Poll::Ready(Ok(Wake::Copy(Some(CopyChunk::Data(rest)))));
            }
            if let Poll::Ready(chunk) = copy.poll_recv(cx) {
                return Poll::Ready(Ok(Wake::Copy(chunk)));
            }
        }
        Poll::Pending
    }

    // ----- writing requests -----

    /// Writes every waiting request that fits the output buffer and the
    /// machine's queue.
    fn fill(&mut self) -> Result<(), ClientError> {
        loop {
            if let Some(batch) = self.batch.take() {
                self.batch = self.send_batch(batch)?;
                if self.batch.is_some() {
                    return Ok(());
                }
            }
            if self.gate {
                return Ok(());
            }
            let Some(request) = self.backlog.pop_front() else {
                match self.inbox.try_take(&mut self.backlog) {
                    Poll::Ready(true) => continue,
                    _ => return Ok(()),
                }
            };
            if let Some(request) = self.try_send(request)? {
                self.backlog.push_front(request);
                return Ok(());
            }
        }
    }

    /// Whether `size` bytes and `entries` queue entries are free, growing
    /// the output buffer when nothing else is in it.
    fn room(&mut self, size: usize, entries: usize) -> bool {
        let queued = self.frontend.pending_requests();
        // Once the machine was full, wait until a quarter of it is free: one
        // larger write per many answers rather than one per answer, while
        // the server still has the other three quarters to work on. A Flush
        // (no entry) always goes: a batch's answers may wait for it.
        if entries > 0 {
            if self.refill && queued > IN_FLIGHT - IN_FLIGHT / 4 {
                return false;
            }
            self.refill = false;
            if queued + entries > IN_FLIGHT {
                self.refill = true;
                return false;
            }
        }
        let pending = self.frontend.pending_output().len();
        if size > self.frontend.output_capacity() && pending == 0 {
            let _ = self.frontend.replace_output_storage(vec![0; size.next_power_of_two()]);
        }
        self.frontend.output_capacity() - pending >= size
    }

    /// Writes `request`, or hands it back if it does not fit yet.
    fn try_send(&mut self, request: Request) -> Result<Option<Request>, ClientError> {
        let (size, entries) = match &request {
            Request::Query { sql, .. } => (sql.len() + 8, 1),
            Request::Extended { query, .. } => (extended_size(query) + 8, 7),
            Request::Batch { items, .. } => (items.first().map_or(0, extended_size), 6),
            Request::CopyIn { sql, .. } | Request::CopyOut { sql, .. } => (sql.len() + 8, 1),
            Request::Function { args, .. } => (args.wire_size() + 16 + 4 * args.len(), 1),
        };
        if !self.room(size, entries) {
            return Ok(Some(request));
        }
        match request {
            Request::Query { sql, sink } => {
                self.frontend.send_query(&sql)?;
                self.pending.push_back(Pending::new(target_of(sink)));
            }
            Request::Extended { query, sink } => {
                let mut pending = Pending::new(target_of(sink));
                self.send_extended(&query, &mut pending)?;
                self.frontend.send_sync()?;
                self.pending.push_back(pending);
            }
            Request::Batch { items, reply } => {
                let total = items.len();
                let target =
                    Target::Batch { reply, results: Vec::with_capacity(total), current: QueryResult::default(), total };
                self.pending.push_back(Pending::new(target));
                self.batch = Some(BatchSend { items: items.into(), flushed: false });
            }
            Request::CopyIn { sql, reply } => {
                self.frontend.send_query(&sql)?;
                self.pending.push_back(Pending::new(Target::CopyIn { reply: Some(reply), done: None, tag: None }));
                self.gate = true;
            }
            Request::CopyOut { sql, reply } => {
                self.frontend.send_query(&sql)?;
                self.pending.push_back(Pending::new(Target::CopyOut { reply: Some(reply), tx: None, tag: None }));
            }
            Request::Function { function, args, reply } => {
                with_params(&args, |_, formats, values| {
                    self.frontend.send_function_call(function, formats, values, Format::Binary)
                })?;
                self.pending.push_back(Pending::new(Target::Function { reply, result: None }));
            }
        }
        Ok(None)
    }

    /// Writes as much of a batch as fits; the rest waits for answers.
    fn send_batch(&mut self, mut batch: BatchSend) -> Result<Option<BatchSend>, ClientError> {
        let Some(mut pending) = self.pending.pop_back() else { return Ok(None) };
        let outcome = loop {
            // After a failure the server skips the rest: don't send it.
            if pending.error.is_some() {
                batch.items.clear();
            }
            // The next query, or the closing Sync.
            let (size, entries) = batch.items.front().map_or((8, 1), |query| (extended_size(query), 6));
            if !self.room(size, entries) {
                // The answers written so far must come: ask for them once.
                if !batch.flushed && self.room(8, 0) {
                    self.frontend.send_flush()?;
                    batch.flushed = true;
                }
                break Some(batch);
            }
            let Some(query) = batch.items.pop_front() else {
                self.frontend.send_sync()?;
                break None;
            };
            self.send_extended(&query, &mut pending)?;
            batch.flushed = false;
        };
        self.pending.push_back(pending);
        Ok(outcome)
    }

    /// Parse (and Describe) unless the statement is cached, then Bind and
    /// Execute; no Sync.
    fn send_extended(&mut self, params: &EncodedParams, pending: &mut Pending) -> Result<(), ClientError> {
        let f = &mut self.frontend;
        let sql = params.sql();
        let types = || params.types();
        let statement = match self.statements.get(sql, types()) {
            Some(statement) => statement,
            None => {
                let (statement, evicted) = self.statements.insert(sql, types());
                if let Some(old) = evicted {
                    f.send_close(TargetKind::Statement, &old)?;
                }
                let parse = with_params(params, |types, _, _| f.send_parse(&statement.name, sql, types))?;
                f.send_describe(TargetKind::Statement, &statement.name)?;
                pending.creates.push((parse, statement.name.clone()));
                statement
            }
        };
        with_params(params, |_, formats, values| f.send_bind("", &statement.name, formats, values, &[Format::Binary]))?;
        let execute = f.send_execute("", 0)?;
        pending.slots.push_back(Slot { execute, columns: statement.columns });
        Ok(())
    }

    fn copy_chunk(&mut self, chunk: Option<CopyChunk>) -> Result<(), ClientError> {
        match chunk {
            Some(CopyChunk::Data(mut data)) => {
                // Room for one piece was checked; the rest comes back later.
                let piece = data.split_to(data.len().min(COPY_PIECE));
                self.frontend.send_copy_data(&piece)?;
                if !data.is_empty() {
                    self.copy_rest = Some(data);
                }
            }
            Some(CopyChunk::Done) => {
                self.frontend.send_copy_done()?;
                self.copy_in = None;
            }
            Some(CopyChunk::Fail(reason)) => {
                self.frontend.send_copy_fail(&reason)?;
                self.copy_in = None;
            }
            None => {
                self.frontend.send_copy_fail("COPY abandoned by the client")?;
                self.copy_in = None;
            }
        }
        Ok(())
    }

    // ----- reading answers -----

    async fn handle_input(&mut self) -> Result<(), ClientError> {
        let complete = complete_messages(&self.input);
        let chunk = self.input.split_to(complete).freeze();
        // Even with no whole message: requests the server skipped are
        // reported first.
        self.dispatch(&chunk).await?;
        // Check a partial message's header now: an oversized length is
        // refused before its bytes are buffered.
        let step = self.frontend.handle_input(&self.input)?;
        debug_assert!(step.event.is_none() && step.consumed == 0, "dispatch left an event");
        if self.pending.is_empty() {
            // Nothing in flight: an idle connection keeps one buffer.
            self.spares.clear();
        }
        Ok(())
    }

    /// Feeds whole messages to the machine and routes each event.
    async fn dispatch(&mut self, chunk: &Bytes) -> Result<(), ClientError> {
        let mut at = 0;
        // Streamed DataRows or CopyData messages not yet handed over.
        let mut run = at..at;
        loop {
            let step = self.frontend.handle_input(&chunk[at..])?;
            let start = at;
            at += step.consumed;
            let Some(event) = step.event else {
                if step.consumed == 0 {
                    break;
                }
                continue;
            };
            if let Event::DataRow { .. } | Event::CopyData { .. } = event
                && let Some(tx) = self.pending.front().and_then(Pending::stream)
            {
                if run.end != start {
                    let tx = tx.clone();
                    self.deliver(&tx, chunk, std::mem::replace(&mut run, start..at)).await;
                } else {
                    run.end = at;
                }
                continue;
            }
            if !run.is_empty() {
                self.flush_run(chunk, std::mem::replace(&mut run, at..at)).await;
            }
            self.on_event(event, chunk, start, at).await?;
        }
        if !run.is_empty() {
            self.flush_run(chunk, run).await;
        }
        Ok(())
    }

    async fn flush_run(&mut self, chunk: &Bytes, run: std::ops::Range<usize>) {
        if let Some(tx) = self.pending.front().and_then(Pending::stream).cloned() {
            self.deliver(&tx, chunk, run).await;
        }
    }

    /// Hands a run of messages to a stream, waiting while it is full; a
    /// stream dropped by its reader gets nothing more.
    async fn deliver(&mut self, tx: &mpsc::Sender<StreamItem>, chunk: &Bytes, run: std::ops::Range<usize>) {
        if run.is_empty() {
            return;
        }
        // The stream may wait for its reader, who may wait for an answer.
        self.tell_answered();
        // A cached statement's columns, described by an earlier request.
        let cached = match self.pending.front_mut() {
            Some(p @ Pending { columns: None, .. }) => {
                let columns = p.slots.front().and_then(|s| s.columns.get().cloned());
                p.columns.clone_from(&columns);
                columns
            }
            _ => None,
        };
        if let Some(columns) = cached {
            let _ = tx.send(StreamItem::Columns(columns)).await;
        }
        if tx.send(StreamItem::Messages(chunk.slice(run))).await.is_err()
            && let Some(p) = self.pending.front_mut()
            && let Target::Stream { tx, .. } | Target::CopyOut { tx, .. } = &mut p.target
        {
            *tx = None;
        }
    }

    async fn on_event(&mut self, event: Event<'_>, chunk: &Bytes, start: usize, end: usize) -> Result<(), ClientError> {
        match event {
            Event::Notice(notice) => {
                let notice = DbError::from_response(&notice);
                let handler = self.shared.notice_handler.lock().ok().and_then(|h| h.clone());
                match handler {
                    Some(handler) => handler(&notice),
                    None => tracing::info!(severity = %notice.severity, code = %notice.code, "{}", notice.message),
                }
                return Ok(());
            }
            Event::Notification(n) => {
                let notification = Notification {
                    process_id: n.process_id,
                    channel: n.channel.to_owned(),
                    payload: n.payload.to_owned(),
                };
                if self.notify.try_send(notification).is_err() {
                    self.shared.dropped_notifications.fetch_add(1, Ordering::Relaxed);
                }
                return Ok(());
            }
            Event::Error { request: None, error } => {
                return Err(ClientError::Db(Box::new(DbError::from_response(&error))));
            }
            _ => {}
        }
        let Some(p) = self.pending.front_mut() else {
            // The machine checks that answers match requests; anything else
            // here (a ParameterStatus, say) needs no one.
            return Ok(());
        };
        match event {
            Event::RowDescription { description, .. } => {
                let simple = p.slots.is_empty();
                let format = if simple { Format::Text } else { Format::Binary };
                let columns = columns_of(&description, format);
                if let Some(slot) = p.slots.front() {
                    let _ = slot.columns.set(columns.clone());
                }
                p.columns = Some(columns.clone());
                if let Some(tx) = p.stream().cloned() {
                    self.tell_answered();
                    let _ = tx.send(StreamItem::Columns(columns)).await;
                }
            }
            Event::NoData { .. } => {
                if let Some(slot) = p.slots.front() {
                    let _ = slot.columns.set(Arc::from(Vec::new()));
                }
            }
            Event::ParseComplete { request } => p.creates.retain(|(parse, _)| *parse != request),
            Event::DataRow { .. } => {
                let columns = match &p.columns {
                    Some(columns) => columns.clone(),
                    None => {
                        let columns = p
                            .slots
                            .front()
                            .and_then(|s| s.columns.get().cloned())
                            .unwrap_or_else(|| Arc::from(Vec::new()));
                        p.columns = Some(columns.clone());
                        columns
                    }
                };
                let row = Row { columns, body: chunk.slice(start + 5..end) };
                match &mut p.target {
                    Target::Collect { result, .. } => result.rows.push(row),
                    Target::Batch { current, .. } => current.rows.push(row),
                    _ => {}
                }
            }
            Event::CommandComplete { .. } | Event::EmptyQuery { .. } | Event::PortalSuspended { .. } => {
                let tag = match event {
                    // The tag without its NUL.
                    Event::CommandComplete { .. } => Some(chunk.slice(start + 5..end.saturating_sub(1).max(start + 5))),
                    _ => None,
                };
                p.columns = None;
                p.slots.pop_front();
                match &mut p.target {
                    Target::Collect { result, .. } => result.tag = tag,
                    Target::Stream { tag: t, .. } | Target::CopyIn { tag: t, .. } | Target::CopyOut { tag: t, .. } => {
                        *t = tag
                    }
                    Target::Batch { results, current, .. } => {
                        let mut done = std::mem::take(current);
                        done.tag = tag;
                        results.push(Ok(done));
                    }
                    Target::Function { .. } => {}
                }
            }
            Event::Error { error, .. } => {
                let error = DbError::from_response(&error);
                if error.severity == "FATAL" || error.severity == "PANIC" {
                    return Err(ClientError::Db(Box::new(error)));
                }
                p.columns = None;
                if let Target::Batch { results, current, .. } = &mut p.target {
                    *current = QueryResult::default();
                    p.slots.pop_front();
                    results.push(Err(ClientError::Db(Box::new(error))));
                    p.error = Some(ClientError::Aborted);
                } else if p.error.is_none() {
                    p.error = Some(ClientError::Db(Box::new(error)));
                }
            }
            Event::Skipped { request } if p.slots.front().is_some_and(|s| s.execute == request) => {
                p.slots.pop_front();
                if let Target::Batch { results, .. } = &mut p.target {
                    results.push(Err(ClientError::Aborted));
                }
            }
            Event::FunctionResult { result, .. } => {
                if let Target::Function { result: r, .. } = &mut p.target {
                    *r = result.map(<[u8]>::to_vec);
                }
            }
            Event::CopyIn { response, .. } => match &mut p.target {
                Target::CopyIn { reply, done, .. } => {
                    let (data, rx) = mpsc::channel(COPY_CHUNKS);
                    let (done_tx, done_rx) = oneshot::channel();
                    let writer = CopyInWriter {
                        data: tokio_util::sync::PollSender::new(data),
                        done: done_rx,
                        format: response.formats.format,
                        ended: false,
                        closed: None,
                    };
                    if reply.take().is_some_and(|reply| reply.send(Ok(writer)).is_ok()) {
                        *done = Some(done_tx);
                        self.copy_in = Some(rx);
                    } else {
                        self.frontend.send_copy_fail("COPY abandoned by the client")?;
                    }
                }
                _ => {
                    // COPY FROM STDIN through a plain query: there is no data.
                    self.frontend.send_copy_fail("COPY FROM STDIN needs Client::copy_in")?;
                }
            },
            Event::CopyOut { response, .. } => {
                if let Target::CopyOut { reply, tx, .. } = &mut p.target {
                    let (stream_tx, stream_rx) = mpsc::channel(super::connection::STREAM_CHUNKS);
                    let reader =
                        CopyOutReader { bodies: MessageBodies::new(stream_rx), format: response.formats.format };
                    if reply.take().is_some_and(|reply| reply.send(Ok(reader)).is_ok()) {
                        *tx = Some(stream_tx);
                    }
                }
            }
            Event::CopyBoth { .. } => {
                // Replication streams are not supported: end it.
                self.frontend.send_copy_done()?;
            }
            Event::Ready { status, .. } => {
                self.shared.status.store(status.as_byte(), Ordering::Relaxed);
                if let Some(p) = self.pending.pop_front() {
                    if let Target::CopyIn { .. } = p.target {
                        self.gate = false;
                        self.copy_in = None;
                    }
                    for (_, name) in &p.creates {
                        self.statements.remove(name);
                    }
                    match p.target {
                        Target::Collect { .. } | Target::Function { .. } | Target::Batch { .. } => {
                            self.answered.push(p)
                        }
                        _ => {
                            self.tell_answered();
                            finish(p).await
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Answers a completed request.
async fn finish(p: Pending) {
    if let Some(error) = p.error
        && !matches!(p.target, Target::Batch { .. })
    {
        return finish_with_error(p.target, error).await;
    }
    match p.target {
        Target::Collect { reply, result } => drop(reply.send(Ok(result))),
        Target::Stream { tx: Some(tx), tag } | Target::CopyOut { tx: Some(tx), tag, .. } => {
            let _ = tx.send(StreamItem::Done(tag)).await;
        }
        Target::Stream { tx: None, .. } => {}
        Target::CopyOut { reply, tx: None, .. } => {
            if let Some(reply) = reply {
                let _ = reply.send(Err(ClientError::Value("the statement was not a COPY … TO STDOUT".into())));
            }
        }
        Target::Batch { reply, mut results, total, .. } => {
            results.resize_with(total, || Err(ClientError::Aborted));
            let _ = reply.send(results);
        }
        Target::CopyIn { reply, done, tag } => {
            if let Some(reply) = reply {
                let _ = reply.send(Err(ClientError::Value("the statement was not a COPY … FROM STDIN".into())));
            }
            if let Some(done) = done {
                let rows = tag.as_deref().and_then(|t| std::str::from_utf8(t).ok()).map_or(0, super::row::rows_in_tag);
                let _ = done.send(Ok(rows));
            }
        }
        Target::Function { reply, result } => drop(reply.send(Ok(result))),
    }
}

/// Answers a request with `error`.
async fn finish_with_error(target: Target, error: ClientError) {
    match target {
        Target::Collect { reply, .. } => drop(reply.send(Err(error))),
        Target::Stream { tx, .. } => {
            if let Some(tx) = tx {
                let _ = tx.send(StreamItem::Error(error)).await;
            }
        }
        Target::CopyOut { reply, tx, .. } => match (reply, tx) {
            (Some(reply), _) => drop(reply.send(Err(error))),
            (None, Some(tx)) => drop(tx.send(StreamItem::Error(error)).await),
            (None, None) => {}
        },
        Target::Batch { reply, mut results, total, .. } => {
            results.push(Err(error));
            results.resize_with(total, || Err(ClientError::Aborted));
            results.truncate(total);
            let _ = reply.send(results);
        }
        Target::CopyIn { reply, done, .. } => match (reply, done) {
            (Some(reply), _) => drop(reply.send(Err(error))),
            (None, Some(done)) => drop(done.send(Err(error))),
            (None, None) => {}
        },
        Target::Function { reply, .. } => drop(reply.send(Err(error))),
    }
}

fn target_of(sink: Sink) -> Target {
    match sink {
        Sink::Collect(reply) => Target::Collect { reply, result: QueryResult::default() },
        Sink::Stream(tx) => Target::Stream { tx: Some(tx), tag: None },
    }
}

fn columns_of(description: &RowDescription<'_>, format: Format) -> Arc<[ColumnInfo]> {
    // The machine validated the fields, so none is an error.
    description
        .fields
        .iter()
        .map_while(Result::ok)
        .map(|f| ColumnInfo { name: f.name.to_owned(), type_oid: f.type_oid, format })
        .collect()
}

/// An upper bound of the bytes an extended query's messages take (Close,
/// Parse, Describe, Bind, Execute).
fn extended_size(params: &EncodedParams) -> usize {
    params.sql().len() + params.wire_size() + 10 * params.len() + 160
}

/// Calls `f` with the parameters' types, formats and values as slices,
/// without allocating for up to [`INLINE_PARAMS`] of them.
fn with_params<T>(
    params: &EncodedParams,
    f: impl FnOnce(&[Oid], &[Format], &[Option<&[u8]>]) -> Result<T, SessionError>,
) -> Result<T, ClientError> {
    let n = params.len();
    if n <= INLINE_PARAMS {
        let mut types = [0; INLINE_PARAMS];
        let mut formats = [Format::Text; INLINE_PARAMS];
        let mut values = [None; INLINE_PARAMS];
        for (i, (oid, format, value)) in params.iter().enumerate() {
            (types[i], formats[i], values[i]) = (oid, format, value);
        }
        Ok(f(&types[..n], &formats[..n], &values[..n])?)
    } else {
        let types: Vec<Oid> = params.types().collect();
        let formats: Vec<Format> = params.iter().map(|(_, format, _)| format).collect();
        let values: Vec<Option<&[u8]>> = params.iter().map(|(_, _, value)| value).collect();
        Ok(f(&types, &formats, &values)?)
    }
}

/// The length of the whole messages at the front of `input`.
fn complete_messages(input: &[u8]) -> usize {
    let mut at = 0;
    while let Some(header) = input.get(at..at + 5) {
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len < 4 || input.len() - at < 1 + len {
            break;
        }
        at += 1 + len;
    }
    at
}
