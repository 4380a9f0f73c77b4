//! FunctionCall: the legacy fast-path function call.

use crate::{
    error::{DecodeError, EncodeError},
    format::{Format, Oid},
    read::Reader,
    write::{Encode, Sink},
};

use super::lists::{FormatCodes, Values};

/// FunctionCall (`F`): calls a function by OID (the fast-path interface).
///
/// Decoding validates every list, so the iterators cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FunctionCall<'a> {
    /// The function's OID.
    pub function: Oid,
    /// Argument formats: none (all text), one (for all) or one per argument.
    pub arg_formats: FormatCodes<'a>,
    /// Argument values; `None` is SQL NULL.
    pub args: Values<'a>,
    /// The result's format.
    pub result_format: Format,
}

impl<'a> FunctionCall<'a> {
    /// The type byte.
    pub const TAG: u8 = b'F';

    /// Decodes a body. Negative counts, format codes other than 0 and 1, and
    /// several argument formats not matching the argument count are
    /// [`DecodeError::InvalidValue`].
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let function = r.u32()?;
        let arg_formats = FormatCodes::read(&mut r)?;
        let args = Values::read(&mut r)?;
        if !arg_formats.fits(args.len()) {
            return Err(DecodeError::InvalidValue);
        }
        let result_format = Format::from_code(r.i16()?)?;
        r.finish()?;
        Ok(FunctionCall { function, arg_formats, args, result_format })
    }

    /// The format of argument `i` under the 0/1/N rule; `None` past the last one.
    #[inline]
    pub fn arg_format(&self, i: usize) -> Option<Format> {
        self.arg_formats.format_for(i, self.args.len())
    }
}

impl Encode for FunctionCall<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    /// Fails with `TooManyItems` above `i16::MAX` items in a list, and with
    /// `InvalidValue` if the argument formats do not fit the arguments.
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        if !self.arg_formats.fits(self.args.len()) {
            return Err(EncodeError::InvalidValue);
        }
        sink.put_u32(self.function);
        self.arg_formats.write(sink)?;
        self.args.write(sink)?;
        sink.put_i16(self.result_format.code());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    const FRAME: &[u8] = b"F\0\0\0\x14\0\0\x05\x13\0\0\0\x01\0\0\0\x02ab\0\x01";

    #[test]
    fn golden() {
        let f = FunctionCall {
            function: 1299,
            arg_formats: FormatCodes::EMPTY,
            args: Values::from_slice(&[Some(b"ab")]),
            result_format: Format::Binary,
        };
        check_golden(&f, FRAME, FunctionCall::decode_body);
        check_truncations(&FRAME[5..], FunctionCall::decode_body);
        assert_eq!(FunctionCall::decode_body(&FRAME[5..]).unwrap().arg_format(0), Some(Format::Text));
    }

    #[test]
    fn errors() {
        assert_eq!(FunctionCall::decode_body(b"\0\0\0\x01\0\0\0\0\0\x02"), Err(DecodeError::InvalidValue));
        assert_eq!(FunctionCall::decode_body(b"\0\0\0\x01\0\x02\0\0\0\0\0\0\0\0\0\0"), Err(DecodeError::InvalidValue));
        assert_eq!(FunctionCall::decode_body(b"\0\0\0\x01\0\0\0\0\0\0\0"), Err(DecodeError::TrailingBytes));
    }
}
