//! The output buffer a session machine encodes whole messages into.
//!
//! PLACEHOLDER from the frontend-session branch: the lead's `output.rs`
//! replaces this file.

use super::SessionError;
use crate::write::{Encode, SliceSink};

/// Encoded messages waiting to be transmitted, in caller-chosen storage
/// (`[u8; N]`, `Vec<u8>`, `&'static mut [u8]`, `Box<[u8]>`).
///
/// Bytes between `start` and `end` are pending; [`OutputBuffer::push`] appends
/// whole messages only, so pending output never ends inside a message.
#[derive(Debug, Clone)]
pub struct OutputBuffer<B> {
    storage: B,
    start: usize,
    end: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> OutputBuffer<B> {
    /// Wraps empty storage; its whole length is the capacity.
    pub const fn new(storage: B) -> Self {
        OutputBuffer { storage, start: 0, end: 0 }
    }

    /// The bytes to transmit next. After writing some of them, call
    /// [`OutputBuffer::consume`] with the count written.
    pub fn pending(&self) -> &[u8] {
        self.storage.as_ref().get(self.start..self.end).unwrap_or_default()
    }

    /// Drops `n` transmitted bytes from the front of the pending output
    /// (clamped to what is pending).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Whether nothing is waiting to be transmitted.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The storage's total size.
    pub fn capacity(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// How many bytes `msg` takes, after validating it (NULs, counts, lengths).
    pub fn len_of<M: Encode + ?Sized>(msg: &M) -> Result<usize, SessionError> {
        Ok(msg.encoded_len()?)
    }

    /// Free space after compacting.
    pub fn free(&self) -> usize {
        self.capacity() - (self.end - self.start)
    }

    /// Appends one whole message. When it does not fit, nothing changes and
    /// the error is [`SessionError::OutputFull`]: transmit, consume, retry.
    pub fn push<M: Encode + ?Sized>(&mut self, msg: &M) -> Result<(), SessionError> {
        let len = msg.encoded_len()?;
        self.reserve(len)?;
        let dst =
            self.storage.as_mut().get_mut(self.end..self.end + len).ok_or(SessionError::OutputFull { needed: len })?;
        let mut sink = SliceSink::new(dst);
        msg.encode_to_sink(&mut sink)?;
        self.end += len;
        Ok(())
    }

    /// Makes `len` contiguous free bytes after the pending output, moving the
    /// pending bytes to the front if needed; changes nothing visible.
    pub fn reserve(&mut self, len: usize) -> Result<(), SessionError> {
        let cap = self.capacity();
        if cap - self.end >= len {
            return Ok(());
        }
        if self.free() < len {
            return Err(SessionError::OutputFull { needed: len });
        }
        self.storage.as_mut().copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::{Query, Sync};

    #[test]
    fn push_consume_compact() {
        let mut out = OutputBuffer::new([0u8; 12]);
        out.push(&Sync).unwrap();
        out.push(&Sync).unwrap();
        assert_eq!(out.pending(), b"S\0\0\0\x04S\0\0\0\x04");
        assert_eq!(out.push(&Sync), Err(SessionError::OutputFull { needed: 5 }));
        assert_eq!(out.pending().len(), 10);
        out.consume(3);
        out.push(&Sync).unwrap();
        assert_eq!(out.pending(), b"\0\x04S\0\0\0\x04S\0\0\0\x04");
        out.consume(100);
        assert!(out.is_empty());
        assert_eq!(out.push(&Query { sql: "a\0" }), Err(SessionError::Encode(crate::EncodeError::NulInString)));
        assert_eq!(out.push(&Query { sql: "0123456789" }), Err(SessionError::OutputFull { needed: 16 }));
    }
}
