//! The outgoing byte queue every state machine writes its messages into.

use crate::{error::EncodeError, write::Encode};

/// Bytes waiting to be transmitted, in caller-chosen storage: `[u8; N]`,
/// `Vec<u8>`, `Box<[u8]>`, `&'static mut [u8]`…
///
/// Messages go in whole or not at all. When one does not fit the free space
/// (after the transmitted prefix is reclaimed), the push fails with
/// [`OutputFull`] and nothing changes: transmit [`OutputBuffer::pending`], call
/// [`OutputBuffer::consume`], and try again.
#[derive(Debug, Clone)]
pub struct OutputBuffer<B> {
    storage: B,
    start: usize,
    end: usize,
}

/// A message did not fit the output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutputFull {
    /// Free bytes the message needs; if this exceeds the buffer's capacity, it
    /// can never be sent through this buffer.
    pub needed: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> OutputBuffer<B> {
    /// An empty queue over `storage`.
    pub fn new(storage: B) -> Self {
        OutputBuffer { storage, start: 0, end: 0 }
    }

    /// The bytes to transmit next, in order.
    #[inline]
    pub fn pending(&self) -> &[u8] {
        self.storage.as_ref().get(self.start..self.end).unwrap_or_default()
    }

    /// Whether nothing is waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drops the first `n` pending bytes (they were transmitted). `n` beyond
    /// what is pending drops everything.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// The storage's total size.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// Space that can be written after reclaiming what was transmitted.
    #[inline]
    fn free_space(&mut self, needed: usize) -> Result<&mut [u8], OutputFull> {
        // The usual case first, in one test: room after what is pending.
        let end = self.end;
        if self.storage.as_ref().len().checked_sub(end).is_some_and(|room| room >= needed) {
            return Ok(self.storage.as_mut().get_mut(end..).unwrap_or_default());
        }
        self.reclaimed_space(needed)
    }

    /// [`free_space`](Self::free_space) when what is pending must move to
    /// the front first (or the message does not fit). Rare, and out of
    /// line: every message written would otherwise save registers around
    /// this call.
    #[cold]
    #[inline(never)]
    fn reclaimed_space(&mut self, needed: usize) -> Result<&mut [u8], OutputFull> {
        if self.start > 0 {
            self.storage.as_mut().copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let free = self.storage.as_mut().get_mut(self.end..).unwrap_or_default();
        if free.len() < needed { Err(OutputFull { needed }) } else { Ok(free) }
    }

    /// Whether `needed` bytes fit now (reclaiming transmitted space).
    pub fn has_room(&mut self, needed: usize) -> bool {
        self.free_space(needed).is_ok()
    }

    /// Appends one whole message.
    pub fn push<M: Encode + ?Sized>(&mut self, message: &M) -> Result<(), PushError> {
        let len = message.encoded_len()?;
        crate::write::write_sized(message, self.free_space(len)?, len)?;
        self.end += len;
        Ok(())
    }

    /// Appends raw bytes (a one-byte SSL answer, say).
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputFull> {
        let free = self.free_space(bytes.len())?;
        free[..bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
        Ok(())
    }

    /// Lets `write` fill the free space directly (a streaming row writer), then
    /// keeps the `n` bytes it reports. `min` is the free space to make sure of
    /// first. On error nothing is kept.
    pub fn write_with<E: From<OutputFull>>(
        &mut self,
        min: usize,
        write: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let free = self.free_space(min)?;
        let room = free.len();
        let n = write(free)?;
        self.end += n.min(room);
        Ok(n)
    }

    /// Moves the pending bytes into `storage` and keeps it, returning the old
    /// storage: a driver grows the buffer for one large message this way, and
    /// shrinks it back afterwards. If the pending bytes do not fit `storage`,
    /// nothing changes and `storage` comes back as the error.
    pub fn replace_storage(&mut self, mut storage: B) -> Result<B, B> {
        let len = self.end - self.start;
        let Some(dst) = storage.as_mut().get_mut(..len) else { return Err(storage) };
        dst.copy_from_slice(self.pending());
        self.start = 0;
        self.end = len;
        Ok(core::mem::replace(&mut self.storage, storage))
    }

    /// Drops everything not yet transmitted.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PushError {
    /// No room now; transmit and retry.
    Full(OutputFull),
    /// The message itself cannot be encoded.
    Encode(EncodeError),
}

impl From<OutputFull> for PushError {
    fn from(e: OutputFull) -> Self {
        PushError::Full(e)
    }
}

impl From<EncodeError> for PushError {
    fn from(e: EncodeError) -> Self {
        PushError::Encode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::{Query, Sync};

    #[test]
    fn whole_messages_or_nothing_and_space_is_reclaimed() {
        let mut out = OutputBuffer::new([0u8; 16]);
        out.push(&Query { sql: "SELECT 1" }).unwrap(); // 14 bytes
        assert_eq!(out.pending().len(), 14);
        assert_eq!(out.push(&Sync), Err(PushError::Full(OutputFull { needed: 5 })));
        assert_eq!(out.pending().len(), 14, "a failed push changes nothing");
        out.consume(10);
        out.push(&Sync).unwrap();
        assert_eq!(out.pending(), b"T 1\0S\0\0\0\x04");
        out.consume(100);
        assert!(out.is_empty());
        assert_eq!(
            out.push(&Query { sql: "a query far too long for sixteen bytes" }).unwrap_err(),
            PushError::Full(OutputFull { needed: 44 })
        );
    }

    #[test]
    fn storage_is_replaced_with_the_pending_bytes_kept() {
        extern crate std;
        use std::{vec, vec::Vec};
        let mut out = OutputBuffer::new(vec![0u8; 16]);
        out.push(&Query { sql: "SELECT 1" }).unwrap();
        out.consume(5);
        // Too small for the 9 pending bytes: refused, nothing changes.
        let small = out.replace_storage(vec![0u8; 8]).unwrap_err();
        assert_eq!(small.len(), 8);
        assert_eq!(out.pending(), b"SELECT 1\0");
        let old: Vec<u8> = out.replace_storage(vec![0u8; 64]).unwrap();
        assert_eq!(old.len(), 16);
        assert_eq!(out.capacity(), 64);
        assert_eq!(out.pending(), b"SELECT 1\0");
        out.push(&Query { sql: "a query far too long for sixteen bytes" }).unwrap();
        assert_eq!(out.pending().len(), 9 + 44);
    }
}
