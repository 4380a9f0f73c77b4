//! Streamed results: blocks of whole messages (DataRows, or CopyData) cut
//! from the socket reads and handed over as they arrive.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_util::Stream;
use tokio::sync::mpsc;

use super::row::rows_in_tag;
use super::{ClientError, ColumnInfo, Row};

/// What the connection task sends a stream.
pub(crate) enum StreamItem {
    /// The columns of the rows that follow.
    Columns(Arc<[ColumnInfo]>),
    /// Whole messages back to back (all DataRows, or all CopyData).
    Messages(Bytes),
    /// The end, with the last command tag.
    Done(Option<Bytes>),
    /// The end, with an error.
    Error(ClientError),
}

/// The receiving side: message bodies one at a time.
#[derive(Debug)]
pub(crate) struct MessageBodies {
    rx: mpsc::Receiver<StreamItem>,
    block: Bytes,
    columns: Arc<[ColumnInfo]>,
    tag: Option<Bytes>,
    done: bool,
}

impl std::fmt::Debug for StreamItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamItem::Columns(c) => write!(f, "Columns({})", c.len()),
            StreamItem::Messages(b) => write!(f, "Messages({} bytes)", b.len()),
            StreamItem::Done(_) => f.write_str("Done"),
            StreamItem::Error(e) => write!(f, "Error({e})"),
        }
    }
}

impl MessageBodies {
    pub(crate) fn new(rx: mpsc::Receiver<StreamItem>) -> Self {
        MessageBodies { rx, block: Bytes::new(), columns: Arc::from(Vec::new()), tag: None, done: false }
    }

    /// The next message body; `None` at the end.
    pub(crate) fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, ClientError>> {
        loop {
            if self.block.len() >= 5 {
                let len = u32::from_be_bytes([self.block[1], self.block[2], self.block[3], self.block[4]]) as usize;
                // The machine framed these messages; a short block cannot happen.
                let total = (1 + len).min(self.block.len());
                let body = self.block.slice(5..total);
                self.block.advance(total);
                return Poll::Ready(Ok(Some(body)));
            }
            if self.done {
                return Poll::Ready(Ok(None));
            }
            match ready!(self.rx.poll_recv(cx)) {
                Some(StreamItem::Columns(columns)) => self.columns = columns,
                Some(StreamItem::Messages(block)) => self.block = block,
                Some(StreamItem::Done(tag)) => {
                    self.tag = tag;
                    self.done = true;
                }
                Some(StreamItem::Error(e)) => {
                    self.done = true;
                    return Poll::Ready(Err(e));
                }
                None => {
                    self.done = true;
                    return Poll::Ready(Err(ClientError::Closed));
                }
            }
        }
    }

    pub(crate) fn tag(&self) -> Option<&str> {
        self.tag.as_deref().and_then(|t| std::str::from_utf8(t).ok())
    }
}

/// Rows of a query as the server sends them ([`Client::query_stream`](super::Client::query_stream)).
/// Also a [`Stream`] of rows. Dropping it early discards the rest of the
/// result.
#[derive(Debug)]
pub struct RowStream {
    bodies: MessageBodies,
}

impl RowStream {
    pub(crate) fn new(rx: mpsc::Receiver<StreamItem>) -> Self {
        RowStream { bodies: MessageBodies::new(rx) }
    }

    /// The next row; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Row>, ClientError> {
        std::future::poll_fn(|cx| self.poll_row(cx)).await
    }

    fn poll_row(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Row>, ClientError>> {
        let body = ready!(self.bodies.poll_body(cx))?;
        Poll::Ready(Ok(body.map(|body| Row { columns: self.bodies.columns.clone(), body })))
    }

    /// The columns of the rows (known once the first row, or the end, has
    /// been read).
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.bodies.columns
    }

    /// The command tag, once the stream has ended.
    pub fn tag(&self) -> Option<&str> {
        self.bodies.tag()
    }

    /// The row count in the tag, once the stream has ended.
    pub fn rows_affected(&self) -> Option<u64> {
        self.tag().map(rows_in_tag)
    }
}

impl Stream for RowStream {
    type Item = Result<Row, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_row(cx).map(Result::transpose)
    }
}
