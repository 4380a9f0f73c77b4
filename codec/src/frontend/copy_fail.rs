//! CopyFail: the client aborts a COPY FROM STDIN.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// CopyFail (`f`): the client aborts COPY FROM STDIN with an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CopyFail<'a> {
    /// Why the copy failed; the server reports it in its ErrorResponse.
    pub message: &'a str,
}

impl<'a> CopyFail<'a> {
    /// The type byte.
    pub const TAG: u8 = b'f';

    /// Decodes a body.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let message = r.cstr()?;
        r.finish()?;
        Ok(CopyFail { message })
    }
}

impl Encode for CopyFail<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.message.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    #[test]
    fn golden() {
        check_golden(&CopyFail { message: "oops" }, b"f\0\0\0\x09oops\0", CopyFail::decode_body);
        check_truncations(b"oops\0", CopyFail::decode_body);
        assert_eq!(CopyFail::decode_body(b"a\0\0"), Err(DecodeError::TrailingBytes));
    }
}
