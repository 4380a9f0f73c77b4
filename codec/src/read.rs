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
        let end = find_nul(self.buf).ok_or(DecodeError::MissingNul)?;
        let (s, rest) = self.buf.split_at(end);
        self.buf = rest.get(1..).unwrap_or_default();
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

/// The position of the first NUL in `buf`. Most C strings on the wire are
/// short (column names, parameter names), where `memchr`'s calls cost more
/// than the search: the first 32 bytes are scanned inline, 8 at a time.
#[inline]
pub fn find_nul(buf: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut at = 0;
    while let Some(word) = buf.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let v = u64::from_le_bytes(*word);
        // A zero byte sets its high bit here; bits above the first zero byte
        // can be set spuriously, never bits below it, so the lowest set bit
        // marks the first zero.
        let zeros = v.wrapping_sub(ONES) & !v & HIGHS;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
        if at >= 32 {
            return memchr::memchr(0, buf.get(at..)?).map(|i| at + i);
        }
    }
    buf.get(at..)?.iter().position(|&b| b == 0).map(|i| at + i)
}

/// Checks that `bytes` are UTF-8, mapping failure to [`DecodeError::InvalidUtf8`].
///
/// Most text on the wire is ASCII (column names, command tags, numbers in
/// text), so that is checked first, inline; anything else goes through
/// `core::str::from_utf8`.
#[inline]
#[allow(unsafe_code)] // The one `unsafe` in the crate: see the comment inside.
pub fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    if bytes.is_ascii() {
        // SAFETY: `is_ascii` checked that every byte is below 0x80. Each such
        // byte is, on its own, the UTF-8 encoding of one code point (U+0000 to
        // U+007F), so the whole slice is valid UTF-8, which is all
        // `from_utf8_unchecked` requires.
        //
        // Why not `core::str::from_utf8`: it is a call that is not inlined,
        // and for short strings the call and its set-up cost more than the
        // check. In a 20-field RowDescription it was half of the parse, which
        // decided whether it beat postgres-protocol (BENCHMARKS.md, Codec).
        // Covered by `utf8_agrees_with_from_utf8` (every byte value, ASCII and
        // not, at every length up to 40) and the proptests and fuzz targets
        // that decode arbitrary bytes.
        return Ok(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
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
    fn find_nul_agrees_with_a_plain_search() {
        let mut buf = [b'a'; 80];
        assert_eq!(find_nul(&buf), None);
        assert_eq!(find_nul(&[]), None);
        for len in 0..buf.len() {
            for nul in (0..len).chain([len]) {
                let mut b = buf;
                if nul < len {
                    b[nul] = 0;
                    // A second NUL and high bytes after the first must not matter.
                    if nul + 1 < len {
                        b[nul + 1] = 0;
                    }
                    if let Some(x) = b.get_mut(nul + 2) {
                        *x = 0x80;
                    }
                }
                let expected = b[..len].iter().position(|&x| x == 0);
                assert_eq!(find_nul(&b[..len]), expected, "len {len}, nul {nul}");
            }
            buf[len] = if len % 3 == 0 { 0x80 } else { 0xff - (len as u8) };
            assert_eq!(find_nul(&buf[..=len]), None);
            buf[len] = b'a';
        }
        // 0x01 bytes next to a zero (the borrow case of the word trick).
        assert_eq!(find_nul(b"\x01\x01\0\x01\x01\x01\x01\x01\x01"), Some(2));
        assert_eq!(find_nul(b"\x01\x01\x01\x01\x01\x01\x01\x01\x01\0"), Some(9));
    }

    #[test]
    fn utf8_agrees_with_from_utf8() {
        let check = |bytes: &[u8]| {
            let expected = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8);
            assert_eq!(utf8(bytes), expected, "{bytes:?}");
        };
        let mut buf = [b'a'; 40];
        for len in 0..=buf.len() {
            check(&buf[..len]);
            for at in 0..len {
                for b in 0..=255u8 {
                    buf[at] = b;
                    check(&buf[..len]);
                }
                buf[at] = b'a';
            }
        }
        for s in ["", "\0", "\x7f", "é", "naïve", "🐘 elephant", "ascii then é"] {
            assert_eq!(utf8(s.as_bytes()), Ok(s));
        }
        for bad in [&b"\x80"[..], b"abc\xff", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f\x90"] {
            assert_eq!(utf8(bad), Err(DecodeError::InvalidUtf8));
        }
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
