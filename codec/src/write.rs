//! Output side: the [`Sink`] every encoder writes through and the [`Encode`]
//! trait every message implements.
//!
//! A message describes its body once, in [`Encode::write_body`], generic over the
//! sink. Encoding runs it first into a [`LenCounter`] (which also validates:
//! NULs in C strings, counts, lengths), checks the caller's space, then runs it
//! into the real output. So a failed encode leaves the caller's buffer untouched.

use crate::error::EncodeError;

/// Somewhere encoded bytes go. Writes are infallible: space is checked first.
pub trait Sink {
    /// Appends bytes.
    fn put_slice(&mut self, bytes: &[u8]);

    /// Appends one byte.
    #[inline]
    fn put_u8(&mut self, v: u8) {
        self.put_slice(&[v]);
    }

    /// Appends a big-endian `i16`.
    #[inline]
    fn put_i16(&mut self, v: i16) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `u16`.
    #[inline]
    fn put_u16(&mut self, v: u16) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `i32`.
    #[inline]
    fn put_i32(&mut self, v: i32) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `u32`.
    #[inline]
    fn put_u32(&mut self, v: u32) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `i64`.
    #[inline]
    fn put_i64(&mut self, v: i64) {
        self.put_slice(&v.to_be_bytes());
    }

    /// Appends a NUL-terminated string; fails if `s` itself holds a NUL.
    #[inline]
    fn put_cstr(&mut self, s: &[u8]) -> Result<(), EncodeError> {
        if crate::read::find_nul(s).is_some() {
            return Err(EncodeError::NulInString);
        }
        self.put_slice(s);
        self.put_u8(0);
        Ok(())
    }

    /// Appends a 16-bit count; fails above `i16::MAX`.
    #[inline]
    fn put_count_i16(&mut self, n: usize) -> Result<(), EncodeError> {
        let n = i16::try_from(n).map_err(|_| EncodeError::TooManyItems)?;
        self.put_i16(n);
        Ok(())
    }

    /// Appends an `i32` length and the bytes, or `-1` for `None` (SQL NULL).
    #[inline]
    fn put_nullable_bytes(&mut self, v: Option<&[u8]>) -> Result<(), EncodeError> {
        match v {
            None => self.put_i32(-1),
            Some(b) => {
                self.put_i32(len_i32(b.len())?);
                self.put_slice(b);
            }
        }
        Ok(())
    }
}

/// Converts a length to the protocol's `i32`, failing above `i32::MAX`.
#[inline]
pub fn len_i32(n: usize) -> Result<i32, EncodeError> {
    i32::try_from(n).map_err(|_| EncodeError::TooLong)
}

/// A sink that only counts bytes: the first pass of every encode.
#[derive(Debug, Default, Clone, Copy)]
pub struct LenCounter {
    /// Bytes counted so far.
    pub len: usize,
}

impl Sink for LenCounter {
    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.len = self.len.saturating_add(bytes.len());
    }
    #[inline]
    fn put_u8(&mut self, _: u8) {
        self.len = self.len.saturating_add(1);
    }
}

/// A sink over a caller's slice. Writing past the end is recorded, not a panic.
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflowed: bool,
}

impl<'a> SliceSink<'a> {
    /// Starts writing at the front of `buf`.
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceSink { buf, pos: 0, overflowed: false }
    }

    /// Bytes written so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether a write did not fit (and was dropped).
    #[inline]
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
            }
            None => self.overflowed = true,
        }
    }
    #[inline]
    fn put_u8(&mut self, v: u8) {
        match self.buf.get_mut(self.pos) {
            Some(dst) => {
                *dst = v;
                self.pos += 1;
            }
            None => self.overflowed = true,
        }
    }
}

/// Any `bytes::BufMut` is a sink; encoders reserve space before writing.
#[cfg(feature = "bytes")]
#[derive(Debug)]
pub struct BufMutSink<'a, B: bytes::BufMut>(pub &'a mut B);

#[cfg(feature = "bytes")]
impl<B: bytes::BufMut> Sink for BufMutSink<'_, B> {
    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }
    #[inline]
    fn put_u8(&mut self, v: u8) {
        self.0.put_u8(v);
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::vec::Vec<u8> {
    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
}

/// A protocol message that can be written to the wire.
///
/// Implementors write only [`Encode::write_body`]; the framing (type byte,
/// length) and the space checks come from the provided methods.
///
/// ```
/// use postwire_codec::{Encode, frontend::Query};
/// let q = Query { sql: "SELECT 1" };
/// let mut buf = [0u8; 64];
/// let n = q.encode(&mut buf).unwrap();
/// assert_eq!(n, q.encoded_len().unwrap());
/// assert_eq!(&buf[..n], b"Q\0\0\0\x0dSELECT 1\0");
/// ```
pub trait Encode {
    /// The message type byte, or `None` for the untagged startup-phase packets
    /// (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest).
    fn tag(&self) -> Option<u8>;

    /// Writes the body (everything after the length field). Must write the same
    /// bytes for every sink, and return any validation error on the first pass.
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError>;

    /// The size of the whole encoded message, validating it on the way.
    #[inline]
    fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut counter = LenCounter::default();
        self.write_body(&mut counter)?;
        let framed = counter.len.checked_add(4).ok_or(EncodeError::TooLong)?;
        len_i32(framed)?;
        Ok(framed + usize::from(self.tag().is_some()))
    }

    /// Writes the message to any sink, returning its size. The caller makes
    /// room (the sink's writes cannot fail).
    #[inline]
    fn encode_to_sink<S: Sink>(&self, sink: &mut S) -> Result<usize, EncodeError> {
        let total = self.encoded_len()?;
        write_framed(self, sink, total)?;
        Ok(total)
    }

    /// Encodes into the front of `out`, returning the bytes written.
    ///
    /// `out` is left untouched when this fails; `BufferTooSmall` says how much room
    /// the message needs.
    #[inline]
    fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        encode_into(self, out)
    }

    /// Appends the message to a `BufMut`, reserving nothing it cannot hold:
    /// fails with `BufferTooSmall` if `remaining_mut` is short.
    #[cfg(feature = "bytes")]
    #[inline]
    fn encode_buf<B: bytes::BufMut>(&self, out: &mut B) -> Result<usize, EncodeError> {
        let total = self.encoded_len()?;
        if out.remaining_mut() < total {
            return Err(EncodeError::BufferTooSmall { required: total });
        }
        write_framed(self, &mut BufMutSink(out), total)?;
        Ok(total)
    }

    /// Appends the message to a `Vec`, growing it as needed.
    #[cfg(feature = "alloc")]
    #[inline]
    fn encode_to_vec(&self, out: &mut alloc::vec::Vec<u8>) -> Result<usize, EncodeError> {
        let total = self.encoded_len()?;
        out.reserve(total);
        write_framed(self, out, total)?;
        Ok(total)
    }
}

/// [`Encode::encode`]'s provided body, for implementors that specialise it
/// for some values only.
#[inline]
pub(crate) fn encode_into<M: Encode + ?Sized>(message: &M, out: &mut [u8]) -> Result<usize, EncodeError> {
    let total = message.encoded_len()?;
    write_sized(message, out, total)?;
    Ok(total)
}

/// Writes `message`, whose size `total` came from [`Encode::encoded_len`],
/// into the front of `out`, through a sink over exactly its room (the
/// writes' bounds checks then fold). `out` is untouched if it is too short.
#[inline]
pub(crate) fn write_sized<M: Encode + ?Sized>(message: &M, out: &mut [u8], total: usize) -> Result<(), EncodeError> {
    let Some(dst) = out.get_mut(..total) else {
        return Err(EncodeError::BufferTooSmall { required: total });
    };
    let mut sink = SliceSink::new(dst);
    write_framed(message, &mut sink, total)?;
    debug_assert!(!sink.overflowed() && sink.position() == total);
    Ok(())
}

/// Writes `message` (type byte, length, body) whose size `total` the caller
/// got from [`Encode::encoded_len`] (which also checked it fits the length
/// field): one writing pass, no second counting pass.
#[inline]
pub(crate) fn write_framed<M: Encode + ?Sized, S: Sink>(
    message: &M,
    sink: &mut S,
    total: usize,
) -> Result<(), EncodeError> {
    let tag = message.tag();
    if let Some(tag) = tag {
        sink.put_u8(tag);
    }
    sink.put_i32(len_i32(total.saturating_sub(usize::from(tag.is_some())))?);
    message.write_body(sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_sink_records_overflow_instead_of_panicking() {
        let mut buf = [0u8; 3];
        let mut s = SliceSink::new(&mut buf);
        s.put_i16(0x0102);
        assert!(!s.overflowed());
        s.put_i16(0x0304);
        assert!(s.overflowed());
        s.put_u8(5);
        assert_eq!(s.position(), 3);
        assert_eq!(buf, [1, 2, 5]);
    }

    #[test]
    fn cstr_and_counts_are_validated() {
        let mut c = LenCounter::default();
        assert_eq!(c.put_cstr(b"a\0b"), Err(EncodeError::NulInString));
        assert_eq!(c.put_count_i16(40_000), Err(EncodeError::TooManyItems));
        assert_eq!(c.put_cstr(b"ab"), Ok(()));
        assert_eq!(c.len, 3);
    }
}
