//! NegotiateProtocolVersion ('v').

use super::list::List;
use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// NegotiateProtocolVersion ('v'): the server does not support the requested
/// minor version or some `_pq_.` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NegotiateProtocolVersion<'a> {
    /// The newest protocol version the server supports for the requested
    /// major, as the whole number `major << 16 | minor` (what PostgreSQL sends).
    pub newest_version: i32,
    /// Protocol options the server did not recognize.
    pub unrecognized_options: List<'a, &'a str>,
}

impl<'a> NegotiateProtocolVersion<'a> {
    /// The type byte.
    pub const TAG: u8 = b'v';

    /// Decodes a body.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let newest_version = r.i32()?;
        let count = usize::try_from(r.i32()?).map_err(|_| DecodeError::InvalidValue)?;
        // Each name takes at least its NUL, so a huge count fails on the body's end.
        let unrecognized_options = List::read_counted(&mut r, count)?;
        r.finish()?;
        Ok(NegotiateProtocolVersion { newest_version, unrecognized_options })
    }
}

impl Encode for NegotiateProtocolVersion<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        let count = i32::try_from(self.unrecognized_options.len()).map_err(|_| EncodeError::TooManyItems)?;
        sink.put_i32(self.newest_version);
        sink.put_i32(count);
        self.unrecognized_options.write_items(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    #[test]
    fn golden() {
        let m = NegotiateProtocolVersion {
            newest_version: 0,
            unrecognized_options: List::from_slice(&["_pq_.a", "_pq_.bc"]),
        };
        let wire = b"v\0\0\0\x1b\0\0\0\0\0\0\0\x02_pq_.a\0_pq_.bc\0";
        check_golden(wire, &BackendMessage::NegotiateProtocolVersion(m), Tail::Strict);
        let none =
            NegotiateProtocolVersion { newest_version: 0x0003_0002, unrecognized_options: List::from_slice(&[]) };
        check_golden(b"v\0\0\0\x0c\0\x03\0\x02\0\0\0\0", &BackendMessage::NegotiateProtocolVersion(none), Tail::Strict);
        assert_eq!(decode(b'v', b"\0\0\0\0\xff\xff\xff\xff"), Err(DecodeError::InvalidValue));
        assert_eq!(decode(b'v', b"\0\0\0\0\x7f\xff\xff\xffa\0"), Err(DecodeError::MissingNul));
    }
}
