//! Execute: run a bound portal.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// Execute (`E`): runs a portal, returning at most `max_rows` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Execute<'a> {
    /// The portal name; empty for the unnamed portal.
    pub portal: &'a str,
    /// The most rows to return before PortalSuspended. Zero means no limit;
    /// PostgreSQL treats negative values the same way, so they decode as-is.
    pub max_rows: i32,
}

impl<'a> Execute<'a> {
    /// The type byte.
    pub const TAG: u8 = b'E';

    /// Decodes a body.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let portal = r.cstr()?;
        let max_rows = r.i32()?;
        r.finish()?;
        Ok(Execute { portal, max_rows })
    }

    /// Whether this asks for every row (`max_rows <= 0`).
    #[inline]
    pub const fn fetches_all(&self) -> bool {
        self.max_rows <= 0
    }
}

impl Encode for Execute<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.portal.as_bytes())?;
        sink.put_i32(self.max_rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    #[test]
    fn golden() {
        let e = Execute { portal: "p1", max_rows: 100 };
        check_golden(&e, b"E\0\0\0\x0bp1\0\0\0\0\x64", Execute::decode_body);
        check_truncations(b"p1\0\0\0\0\x64", Execute::decode_body);
        let all = Execute::decode_body(b"\0\0\0\0\0").unwrap();
        assert_eq!(all, Execute { portal: "", max_rows: 0 });
        assert!(all.fetches_all());
        assert_eq!(Execute::decode_body(b"\0\0\0\0\0\0"), Err(DecodeError::TrailingBytes));
    }
}
