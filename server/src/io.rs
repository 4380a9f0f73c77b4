//! Byte plumbing: the boxed client stream, the input buffer, and a stream
//! that replays bytes already read (for direct TLS).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// A client connection: plain, TLS, Unix or in-memory.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;

/// Bytes read from the client and not yet consumed by the machine. Starts at
/// a fixed size and grows only to hold one whole message (the machine's frame
/// limits bound that), shrinking back once it is empty.
#[derive(Debug)]
pub(crate) struct InputBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    default_size: usize,
}

impl InputBuffer {
    pub(crate) fn new(size: usize) -> Self {
        InputBuffer { buf: vec![0; size], start: 0, end: 0, default_size: size }
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Frees the buffer while nothing is buffered: an idle connection then
    /// costs no input memory until the client sends again.
    pub(crate) fn release(&mut self) {
        if self.len() == 0 {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    /// Takes everything buffered (to replay it into a TLS handshake).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let bytes = self.data().to_vec();
        self.consume(bytes.len());
        bytes
    }

    /// Reads once from `io`, making room for at least `needed` more bytes
    /// (what the machine says it lacks; at least one). Returns the bytes read:
    /// 0 at end of stream. Cancel-safe: nothing is lost if the future is
    /// dropped.
    pub(crate) async fn read_from(&mut self, io: &mut BoxIo, needed: usize) -> io::Result<usize> {
        if self.buf.is_empty() {
            // Released while idle: wait for data without holding a buffer.
            let mut first = [0u8; 64];
            let n = io.read(&mut first).await?;
            self.buf = vec![0; self.default_size.max(n)];
            self.buf[..n].copy_from_slice(&first[..n]);
            self.start = 0;
            self.end = n;
            return Ok(n);
        }
        let want = self.len() + needed.max(1);
        if self.len() == 0 && self.buf.len() > self.default_size && want <= self.default_size {
            self.buf = vec![0; self.default_size];
        }
        if self.start + want > self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if want > self.buf.len() && self.end == self.buf.len() {
            // Grow as the data arrives, not to what a length field announces:
            // a client claiming a huge message must send it to cost memory.
            let grown = want.min(self.buf.len() * 2).max(self.default_size);
            self.buf.resize(grown, 0);
        }
        let n = io.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}

/// A stream that first yields `prefix`, then reads from `inner`.
#[derive(Debug)]
pub(crate) struct Rewind<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Rewind { prefix, at: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.at);
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A placeholder stream while the real one is handed to the TLS handshake.
pub(crate) fn detached() -> BoxIo {
    Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn input_grows_to_what_is_needed_and_shrinks_back() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut io: BoxIo = Box::new(server);
        let mut input = InputBuffer::new(8);
        client.write_all(&[7; 100]).await.unwrap();
        let mut total = input.read_from(&mut io, 1).await.unwrap();
        assert!(total <= 8);
        while total < 100 {
            total += input.read_from(&mut io, 100 - input.len()).await.unwrap();
        }
        assert_eq!(input.data(), &[7; 100][..]);
        input.consume(100);
        client.write_all(b"ab").await.unwrap();
        input.read_from(&mut io, 1).await.unwrap();
        assert_eq!(input.data(), b"ab");
        assert_eq!(input.buf.len(), 8, "back to the default size");
    }

    #[tokio::test]
    async fn an_announced_huge_message_is_not_allocated_before_it_arrives() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut io: BoxIo = Box::new(server);
        let mut input = InputBuffer::new(8);
        client.write_all(&[1; 20]).await.unwrap();
        let mut total = 0;
        while total < 20 {
            total += input.read_from(&mut io, 1 << 30).await.unwrap();
        }
        assert!(input.buf.len() <= 32, "grew to {} for 20 bytes", input.buf.len());
    }

    #[tokio::test]
    async fn a_released_buffer_comes_back_when_data_does() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut io: BoxIo = Box::new(server);
        let mut input = InputBuffer::new(16);
        input.release();
        assert_eq!(input.buf.capacity(), 0);
        client.write_all(b"hello").await.unwrap();
        assert_eq!(input.read_from(&mut io, 1).await.unwrap(), 5);
        assert_eq!(input.data(), b"hello");
        assert_eq!(input.buf.len(), 16);
        input.release();
        assert_eq!(input.data(), b"hello", "nothing buffered is dropped");
    }

    #[tokio::test]
    async fn rewind_replays_the_prefix() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"world").await.unwrap();
        drop(client);
        let mut s = Rewind::new(b"hello ".to_vec(), server);
        let mut all = String::new();
        s.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
    }
}
