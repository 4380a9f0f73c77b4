//! Where a result's rows come from: a stream of any row type plus the
//! function that writes one row, pulled by the driver as the client reads.
//! Rows are written straight into the output buffer; nothing per row is
//! boxed or collected.

use std::task::{Context, Poll};

use futures_util::stream::{BoxStream, Stream, StreamExt};
use postwire_codec::EncodeError;

use crate::error::PgError;
use crate::value::RowWriter;

/// A result's rows, one at a time: pull one, then write it (as many times as
/// the driver needs, should the output buffer be full the first time).
pub(crate) trait RowSource: Send {
    /// Pulls the next row; `Ready(None)` at the end.
    fn poll_next_row(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<(), PgError>>>;

    /// Writes the row last pulled.
    fn write_row(&mut self, row: &mut RowWriter<'_, '_>) -> Result<(), EncodeError>;
}

/// Rows of type `T` from a stream, written by `write`.
pub(crate) struct TypedRows<T, W> {
    stream: BoxStream<'static, Result<T, PgError>>,
    current: Option<T>,
    write: W,
}

impl<T, W> TypedRows<T, W> {
    pub(crate) fn new(stream: impl Stream<Item = Result<T, PgError>> + Send + 'static, write: W) -> Self
    where
        T: Send + 'static,
    {
        TypedRows { stream: stream.boxed(), current: None, write }
    }
}

impl<T, W> RowSource for TypedRows<T, W>
where
    T: Send,
    W: Fn(&T, &mut RowWriter<'_, '_>) -> Result<(), EncodeError> + Send,
{
    fn poll_next_row(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<(), PgError>>> {
        self.stream.poll_next_unpin(cx).map(|next| {
            next.map(|row| {
                self.current = Some(row?);
                Ok(())
            })
        })
    }

    fn write_row(&mut self, row: &mut RowWriter<'_, '_>) -> Result<(), EncodeError> {
        match &self.current {
            Some(current) => (self.write)(current, row),
            None => Err(EncodeError::InvalidValue),
        }
    }
}
