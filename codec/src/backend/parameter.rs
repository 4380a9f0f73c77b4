//! ParameterStatus ('S') and ParameterDescription ('t').

use super::list::List;
use crate::{
    error::{DecodeError, EncodeError},
    format::Oid,
    read::Reader,
    write::{Encode, Sink},
};

/// ParameterStatus ('S'): the current value of a run-time parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParameterStatus<'a> {
    /// The parameter's name, e.g. `"server_version"`.
    pub name: &'a str,
    /// Its value.
    pub value: &'a str,
}

impl<'a> ParameterStatus<'a> {
    /// The type byte.
    pub const TAG: u8 = b'S';

    /// Decodes a body.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let name = r.cstr()?;
        let value = r.cstr()?;
        r.finish()?;
        Ok(ParameterStatus { name, value })
    }
}

impl Encode for ParameterStatus<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.name.as_bytes())?;
        sink.put_cstr(self.value.as_bytes())
    }
}

/// ParameterDescription ('t'): the type of each parameter of a prepared statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParameterDescription<'a> {
    /// The parameter type OIDs, in order (at most `i16::MAX`).
    pub types: List<'a, Oid>,
}

impl<'a> ParameterDescription<'a> {
    /// The type byte.
    pub const TAG: u8 = b't';

    /// Decodes a body.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let count = r.count_i16()?;
        let types = List::read_counted(&mut r, count)?;
        r.finish()?;
        Ok(ParameterDescription { types })
    }
}

impl Encode for ParameterDescription<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_count_i16(self.types.len())?;
        self.types.write_items(sink)
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
    fn golden_status() {
        let m = ParameterStatus { name: "TimeZone", value: "UTC" };
        check_golden(b"S\0\0\0\x11TimeZone\0UTC\0", &BackendMessage::ParameterStatus(m), Tail::Strict);
    }

    #[test]
    fn golden_description() {
        let m = ParameterDescription { types: List::from_slice(&[23, 25]) };
        check_golden(b"t\0\0\0\x0e\0\x02\0\0\0\x17\0\0\0\x19", &BackendMessage::ParameterDescription(m), Tail::Strict);
        let none = ParameterDescription { types: List::from_slice(&[]) };
        check_golden(b"t\0\0\0\x06\0\0", &BackendMessage::ParameterDescription(none), Tail::Strict);
        assert_eq!(decode(b't', b"\xff\xff"), Err(DecodeError::InvalidValue));
        let many = [0u32; 40_000];
        let too_many = ParameterDescription { types: List::from_slice(&many) };
        assert_eq!(too_many.encoded_len(), Err(EncodeError::TooManyItems));
    }
}
