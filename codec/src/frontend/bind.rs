//! Bind: create a portal from a prepared statement and parameter values.

use crate::{
    error::{DecodeError, EncodeError},
    format::Format,
    read::Reader,
    write::{Encode, Sink},
};

use super::lists::{FormatCodes, Values};

/// Bind (`B`): binds parameter values to a prepared statement, making a portal.
///
/// Decoding walks every list once and checks it (lengths, format codes 0 or 1,
/// parameter format count 0, 1 or one per parameter), so the lists' iterators
/// yield plain items and cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bind<'a> {
    /// The portal to create; empty for the unnamed portal.
    pub portal: &'a str,
    /// The prepared statement; empty for the unnamed statement.
    pub statement: &'a str,
    /// Parameter formats: none (all text), one (for all) or one per parameter.
    pub param_formats: FormatCodes<'a>,
    /// Parameter values; `None` is SQL NULL.
    pub params: Values<'a>,
    /// Result column formats: none (all text), one (for all) or one per
    /// column (the server checks that count against the result).
    pub result_formats: FormatCodes<'a>,
}

impl<'a> Bind<'a> {
    /// The type byte.
    pub const TAG: u8 = b'B';

    /// Decodes a body. Negative counts and format codes other than 0 and 1 are
    /// [`DecodeError::InvalidValue`], as are several parameter formats that do
    /// not match the parameter count.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let portal = r.cstr()?;
        let statement = r.cstr()?;
        let param_formats = FormatCodes::read(&mut r)?;
        let params = Values::read(&mut r)?;
        if !param_formats.fits(params.len()) {
            return Err(DecodeError::InvalidValue);
        }
        let result_formats = FormatCodes::read(&mut r)?;
        r.finish()?;
        Ok(Bind { portal, statement, param_formats, params, result_formats })
    }

    /// The format of parameter `i` under the 0/1/N rule; `None` past the last
    /// parameter.
    #[inline]
    pub fn param_format(&self, i: usize) -> Option<Format> {
        self.param_formats.format_for(i, self.params.len())
    }

    /// The format of result column `i` of `columns` under the 0/1/N rule;
    /// `None` past the last column or if the code count does not fit `columns`.
    #[inline]
    pub fn result_format(&self, i: usize, columns: usize) -> Option<Format> {
        self.result_formats.format_for(i, columns)
    }
}

impl Encode for Bind<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    /// Fails with `TooManyItems` above `i16::MAX` items in a list, and with
    /// `InvalidValue` if the parameter formats do not fit the parameters.
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        if !self.param_formats.fits(self.params.len()) {
            return Err(EncodeError::InvalidValue);
        }
        sink.put_cstr(self.portal.as_bytes())?;
        sink.put_cstr(self.statement.as_bytes())?;
        self.param_formats.write(sink)?;
        self.params.write(sink)?;
        self.result_formats.write(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    const FRAME: &[u8] = b"B\0\0\0\x1e\0s1\0\0\x01\0\x01\0\x02\0\0\0\x04\0\0\0\x01\xff\xff\xff\xff\0\x01\0\x01";

    #[test]
    fn golden() {
        let values: [Option<&[u8]>; 2] = [Some(b"\0\0\0\x01"), None];
        let b = Bind {
            portal: "",
            statement: "s1",
            param_formats: FormatCodes::from_slice(&[Format::Binary]),
            params: Values::from_slice(&values),
            result_formats: FormatCodes::from_slice(&[Format::Binary]),
        };
        check_golden(&b, FRAME, Bind::decode_body);
        check_truncations(&FRAME[5..], Bind::decode_body);
        let d = Bind::decode_body(&FRAME[5..]).unwrap();
        assert_eq!(d.param_format(1), Some(Format::Binary));
        assert_eq!(d.param_format(2), None);
        assert_eq!(d.result_format(4, 5), Some(Format::Binary));
        assert!(d.params.iter().eq(values.iter().copied()));
    }

    #[test]
    fn errors() {
        // Two parameter formats for one parameter.
        let body = b"\0\0\0\x02\0\0\0\0\0\x01\xff\xff\xff\xff\0\0";
        assert_eq!(Bind::decode_body(body), Err(DecodeError::InvalidValue));
        // Format code 2.
        assert_eq!(Bind::decode_body(b"\0\0\0\x01\0\x02\0\0\0\0"), Err(DecodeError::InvalidValue));
        // Negative parameter count.
        assert_eq!(Bind::decode_body(b"\0\0\0\0\x80\0\0\0"), Err(DecodeError::InvalidValue));
        // Negative value length other than -1.
        assert_eq!(Bind::decode_body(b"\0\0\0\0\0\x01\xff\xff\xff\xfe\0\0"), Err(DecodeError::InvalidValue));
        assert_eq!(Bind::decode_body(b"\0\0\0\0\0\0\0\0\0"), Err(DecodeError::TrailingBytes));

        let two = [Format::Text, Format::Binary];
        let b = Bind {
            portal: "",
            statement: "",
            param_formats: FormatCodes::from_slice(&two),
            params: Values::from_slice(&[None]),
            result_formats: FormatCodes::EMPTY,
        };
        assert_eq!(b.encoded_len(), Err(EncodeError::InvalidValue));
        let many = [None; 40_000];
        let b = Bind { params: Values::from_slice(&many), param_formats: FormatCodes::EMPTY, ..b };
        assert_eq!(b.encoded_len(), Err(EncodeError::TooManyItems));
    }
}
