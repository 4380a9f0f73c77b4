//! FunctionCallResponse ('V').

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// FunctionCallResponse ('V'): the result of a FunctionCall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FunctionCallResponse<'a> {
    /// The result value; `None` is SQL NULL (distinct from an empty value).
    pub result: Option<&'a [u8]>,
}

impl<'a> FunctionCallResponse<'a> {
    /// The type byte.
    pub const TAG: u8 = b'V';

    /// Decodes a body. A negative length other than -1 is [`DecodeError::InvalidValue`].
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let result = r.nullable_bytes()?;
        r.finish()?;
        Ok(FunctionCallResponse { result })
    }
}

impl Encode for FunctionCallResponse<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_nullable_bytes(self.result)
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
        let some = FunctionCallResponse { result: Some(b"\0\0\0\x2a") };
        check_golden(b"V\0\0\0\x0c\0\0\0\x04\0\0\0\x2a", &BackendMessage::FunctionCallResponse(some), Tail::Strict);
        let empty = FunctionCallResponse { result: Some(b"") };
        check_golden(b"V\0\0\0\x08\0\0\0\0", &BackendMessage::FunctionCallResponse(empty), Tail::Strict);
        let null = FunctionCallResponse { result: None };
        check_golden(b"V\0\0\0\x08\xff\xff\xff\xff", &BackendMessage::FunctionCallResponse(null), Tail::Strict);
        assert_eq!(decode(b'V', b"\xff\xff\xff\xfe"), Err(DecodeError::InvalidValue));
    }
}
