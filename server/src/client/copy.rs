//! COPY FROM STDIN and COPY TO STDOUT: data passes through as bytes in the
//! format the statement chose (text, CSV or binary).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::{Sink, Stream};
use postwire_codec::Format;
use tokio::sync::oneshot;
use tokio_util::sync::PollSender;

use super::ClientError;
use super::connection::CopyChunk;
use super::stream::MessageBodies;

/// Sends the data of a `COPY … FROM STDIN` ([`Client::copy_in`](super::Client::copy_in)).
/// Dropping it without [`finish`](CopyInWriter::finish) aborts the COPY.
/// Also a [`Sink`] of `Bytes`; closing the sink finishes the COPY.
///
/// ```no_run
/// # async fn demo(client: postwire_server::client::Client) -> Result<(), postwire_server::client::ClientError> {
/// let mut copy = client.copy_in("COPY items (id, name) FROM STDIN (FORMAT csv)").await?;
/// copy.send("1,apple\n2,pear\n").await?;
/// assert_eq!(copy.finish().await?, 2);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CopyInWriter {
    pub(crate) data: PollSender<CopyChunk>,
    pub(crate) done: oneshot::Receiver<Result<u64, ClientError>>,
    pub(crate) format: Format,
    /// CopyDone was handed to the connection (by the sink's close).
    pub(crate) ended: bool,
    /// What the sink's close learned: the row count, or that the error was
    /// already returned.
    pub(crate) closed: Option<Result<u64, ()>>,
}

impl CopyInWriter {
    /// The overall format the server expects (binary for `FORMAT binary`).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Sends a piece of the data (any split: rows may span pieces). Waits
    /// while the connection's buffer is full. An error means the COPY has
    /// ended; [`finish`](Self::finish) tells why.
    pub async fn send(&mut self, data: impl Into<Bytes>) -> Result<(), ClientError> {
        let data = data.into();
        if data.is_empty() {
            return Ok(());
        }
        self.push(CopyChunk::Data(data)).await
    }

    async fn push(&mut self, chunk: CopyChunk) -> Result<(), ClientError> {
        std::future::poll_fn(|cx| self.data.poll_reserve(cx)).await.map_err(|_| ClientError::Closed)?;
        self.data.send_item(chunk).map_err(|_| ClientError::Closed)
    }

    /// Ends the data; the number of rows copied.
    pub async fn finish(mut self) -> Result<u64, ClientError> {
        if let Some(closed) = self.closed {
            return closed.map_err(|()| ClientError::Closed);
        }
        // If the task has gone, `done` says why.
        if !self.ended {
            let _ = self.push(CopyChunk::Done).await;
        }
        (&mut self.done).await.map_err(|_| ClientError::Closed)?
    }

    /// Aborts the COPY with `reason` (the server rolls it back).
    pub async fn abort(mut self, reason: &str) -> Result<(), ClientError> {
        let _ = self.push(CopyChunk::Fail(reason.to_owned())).await;
        match (&mut self.done).await.map_err(|_| ClientError::Closed)? {
            Err(ClientError::Db(e)) if e.code == "57014" => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(ClientError::Value("the server completed an aborted COPY".into())),
        }
    }
}

impl Sink<Bytes> for CopyInWriter {
    type Error = ClientError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        self.get_mut().data.poll_reserve(cx).map_err(|_| ClientError::Closed)
    }

    fn start_send(self: Pin<&mut Self>, item: Bytes) -> Result<(), ClientError> {
        if item.is_empty() {
            // Reserved room stays for the next item.
            return Ok(());
        }
        self.get_mut().data.send_item(CopyChunk::Data(item)).map_err(|_| ClientError::Closed)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        // Items go straight to the connection task.
        Poll::Ready(Ok(()))
    }

    /// Ends the data and waits for the server's verdict.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ClientError>> {
        let this = self.get_mut();
        if !this.ended {
            ready!(this.data.poll_reserve(cx)).map_err(|_| ClientError::Closed)?;
            this.data.send_item(CopyChunk::Done).map_err(|_| ClientError::Closed)?;
            this.ended = true;
        }
        if this.closed.is_some() {
            return Poll::Ready(Ok(()));
        }
        let done = ready!(Pin::new(&mut this.done).poll(cx)).map_err(|_| ClientError::Closed)?;
        this.closed = Some(done.as_ref().map(|rows| *rows).map_err(|_| ()));
        Poll::Ready(done.map(|_| ()))
    }
}

/// Receives the data of a `COPY … TO STDOUT` ([`Client::copy_out`](super::Client::copy_out)),
/// one CopyData message at a time (a row, for PostgreSQL's text and CSV
/// formats). Also a [`Stream`] of `Bytes`.
#[derive(Debug)]
pub struct CopyOutReader {
    pub(crate) bodies: MessageBodies,
    pub(crate) format: Format,
}

impl CopyOutReader {
    /// The overall format of the data.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The next piece of data; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, ClientError> {
        std::future::poll_fn(|cx| self.bodies.poll_body(cx)).await
    }

    /// The number of rows copied, once the end has been read.
    pub fn rows(&self) -> Option<u64> {
        self.bodies.tag().map(super::row::rows_in_tag)
    }
}

impl Stream for CopyOutReader {
    type Item = Result<Bytes, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let body = ready!(self.get_mut().bodies.poll_body(cx));
        Poll::Ready(body.transpose())
    }
}
