//! Parse: prepare a statement.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

use super::lists::Oids;

/// Parse (`P`): prepares a statement, optionally fixing parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Parse<'a> {
    /// The statement name; empty for the unnamed statement.
    pub statement: &'a str,
    /// The query text: one statement.
    pub query: &'a str,
    /// Types of the first parameters; 0 leaves one for the server to infer.
    /// Fewer than the query uses is fine. The wire count is an `i16`.
    pub param_types: Oids<'a>,
}

impl<'a> Parse<'a> {
    /// The type byte.
    pub const TAG: u8 = b'P';

    /// Decodes a body; a negative type count is [`DecodeError::InvalidValue`].
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let statement = r.cstr()?;
        let query = r.cstr()?;
        let param_types = Oids::read(&mut r)?;
        r.finish()?;
        Ok(Parse { statement, query, param_types })
    }
}

impl Encode for Parse<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.statement.as_bytes())?;
        sink.put_cstr(self.query.as_bytes())?;
        self.param_types.write(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    const BODY: &[u8] = b"s1\0SELECT $1\0\0\x01\0\0\0\x17";

    #[test]
    fn golden() {
        let p = Parse { statement: "s1", query: "SELECT $1", param_types: Oids::from_slice(&[23]) };
        let mut framed = [0u8; 5 + 19];
        framed[..5].copy_from_slice(b"P\0\0\0\x17");
        framed[5..].copy_from_slice(BODY);
        check_golden(&p, &framed, Parse::decode_body);
        check_truncations(BODY, Parse::decode_body);
        assert_eq!(Parse::decode_body(b"\0q\0\0\0").unwrap().param_types.len(), 0);
    }

    #[test]
    fn errors() {
        assert_eq!(Parse::decode_body(b"\0q\0\xff\xff"), Err(DecodeError::InvalidValue));
        assert_eq!(Parse::decode_body(b"\0q\0\0\0\0"), Err(DecodeError::TrailingBytes));
        let many = [0u32; 40_000];
        let p = Parse { statement: "", query: "", param_types: Oids::from_slice(&many) };
        assert_eq!(p.encoded_len(), Err(EncodeError::TooManyItems));
    }
}
