//! A checked cursor over a message body. No accessor can panic.

use crate::error::DecodeError;

/// Reads big-endian fields from a borrowed body, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading at the front of `buf`.
    #[inline]
    pub const fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The bytes not read yet.
    #[inline]
    pub const fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    /// Whether every byte has been read.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        match self.buf.split_at_checked(n) {
            Some((head, tail)) => {
                self.buf = tail;
                Ok(head)
            }
            None => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// Takes the next `N` bytes as an array.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        match self.buf.split_first_chunk::<N>() {
            Some((head, tail)) => {
                self.buf = tail;
                Ok(*head)
            }
            None => Err(DecodeError::UnexpectedEnd),
        }
    }

    /// Takes one byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Takes a big-endian `i16`.
    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        self.array().map(i16::from_be_bytes)
    }

    /// Takes a big-endian `u16`.
    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    /// Takes a big-endian `i32`.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.array().map(i32::from_be_bytes)
    }

    /// Takes a big-endian `u32`.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    /// Takes a big-endian `i64`.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.array().map(i64::from_be_bytes)
    }

    /// Takes a 16-bit count that must not be negative.
    #[inline]
    pub fn count_i16(&mut self) -> Result<usize, DecodeError> {
        let n = self.i16()?;
        usize::try_from(n).map_err(|_| DecodeError::InvalidValue)
    }

    /// Takes a C string's bytes (without its NUL).
    #[inline]
    pub fn cstr_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let end = memchr::memchr(0, self.buf).ok_or(DecodeError::MissingNul)?;
        let (s, rest) = self.buf.split_at(end);
        self.buf = &rest[1..];
        Ok(s)
    }

    /// Takes a C string and checks that it is UTF-8.
    #[inline]
    pub fn cstr(&mut self) -> Result<&'a str, DecodeError> {
        utf8(self.cstr_bytes()?)
    }

    /// Takes an `i32` length followed by that many bytes; `-1` is `None` (SQL NULL).
    #[inline]
    pub fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| DecodeError::InvalidValue)?;
        self.bytes(len).map(Some)
    }

    /// Takes everything left.
    #[inline]
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Fails unless every byte has been read.
    #[inline]
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes) }
    }
}

/// Checks that `bytes` are UTF-8, mapping failure to [`DecodeError::InvalidUtf8`].
#[inline]
pub fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_reports_short_input() {
        let mut r = Reader::new(b"\x00\x01\xff\xff\xff\xffab\0rest");
        assert_eq!(r.i16(), Ok(1));
        assert_eq!(r.nullable_bytes(), Ok(None));
        assert_eq!(r.cstr(), Ok("ab"));
        assert_eq!(r.bytes(5), Err(DecodeError::UnexpectedEnd));
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes));
        assert_eq!(r.rest(), b"rest");
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(r.u8(), Err(DecodeError::UnexpectedEnd));
    }

    #[test]
    fn rejects_bad_strings_and_lengths() {
        assert_eq!(Reader::new(b"abc").cstr(), Err(DecodeError::MissingNul));
        assert_eq!(Reader::new(b"\xff\0").cstr(), Err(DecodeError::InvalidUtf8));
        assert_eq!(Reader::new(b"\xff\xff\xff\xfe").nullable_bytes(), Err(DecodeError::InvalidValue));
        assert_eq!(Reader::new(b"\x00\x00\x00\x05ab").nullable_bytes(), Err(DecodeError::UnexpectedEnd));
        assert_eq!(Reader::new(b"\xff\xff").count_i16(), Err(DecodeError::InvalidValue));
    }
}
