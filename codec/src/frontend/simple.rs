//! Query, and the messages with no body: Flush, Sync, Terminate.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// Query (`Q`): a simple-protocol query string, possibly several statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Query<'a> {
    /// The SQL text.
    pub sql: &'a str,
}

impl<'a> Query<'a> {
    /// The type byte.
    pub const TAG: u8 = b'Q';

    /// Decodes a body.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let sql = r.cstr()?;
        r.finish()?;
        Ok(Query { sql })
    }
}

impl Encode for Query<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.sql.as_bytes())
    }
}

empty_message!(
    /// Flush (`H`): asks the server to send what it has buffered, without
    /// ending the extended-query sequence.
    Flush = b'H'
);
empty_message!(
    /// Sync (`S`): ends an extended-query sequence; the server answers with
    /// ReadyForQuery, after an error or not.
    Sync = b'S'
);
empty_message!(
    /// Terminate (`X`): the client is closing the connection.
    Terminate = b'X'
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    #[test]
    fn query_golden() {
        let q = Query { sql: "SELECT 1" };
        check_golden(&q, b"Q\0\0\0\x0dSELECT 1\0", Query::decode_body);
        check_truncations(b"SELECT 1\0", Query::decode_body);
        assert_eq!(Query::decode_body(b"x\0y"), Err(DecodeError::TrailingBytes));
        assert_eq!(Query::decode_body(b"\xc3\0"), Err(DecodeError::InvalidUtf8));
        assert_eq!(Query { sql: "a\0" }.encoded_len(), Err(EncodeError::NulInString));
    }

    #[test]
    fn empty_messages_golden() {
        check_golden(&Flush, b"H\0\0\0\x04", Flush::decode_body);
        check_golden(&Sync, b"S\0\0\0\x04", Sync::decode_body);
        check_golden(&Terminate, b"X\0\0\0\x04", Terminate::decode_body);
        assert_eq!(Sync::decode_body(b"\0"), Err(DecodeError::TrailingBytes));
    }
}
