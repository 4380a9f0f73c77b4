//! CopyInResponse ('G'), CopyOutResponse ('H') and CopyBothResponse ('W').

use super::list::List;
use crate::{
    error::{DecodeError, EncodeError},
    format::Format,
    read::Reader,
    write::{Encode, Sink},
};

/// The body all three COPY responses share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CopyFormats<'a> {
    /// The overall format: text (rows are lines) or binary.
    pub format: Format,
    /// Each column's format; all text when `format` is text.
    pub columns: List<'a, Format>,
}

impl<'a> CopyFormats<'a> {
    fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        // The overall format is a single byte (Int8), unlike the column codes.
        let format = Format::from_code(i16::from(r.u8()?))?;
        let count = r.count_i16()?;
        let columns = List::read_counted(&mut r, count)?;
        r.finish()?;
        Ok(CopyFormats { format, columns })
    }

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        // Format codes are 0 and 1, so the i16 code fits the Int8 field.
        sink.put_u8(self.format.code() as u8);
        sink.put_count_i16(self.columns.len())?;
        self.columns.write_items(sink)
    }
}

macro_rules! copy_response {
    ($(#[$doc:meta])* $name:ident = $tag:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name<'a> {
            /// The overall and per-column formats.
            pub formats: CopyFormats<'a>,
        }

        impl<'a> $name<'a> {
            /// The type byte.
            pub const TAG: u8 = $tag;

            /// A response with the given overall and per-column formats.
            pub const fn new(format: Format, columns: &'a [Format]) -> Self {
                $name { formats: CopyFormats { format, columns: List::from_slice(columns) } }
            }

            /// Decodes a body.
            pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
                CopyFormats::decode(body).map(|formats| $name { formats })
            }
        }

        impl Encode for $name<'_> {
            #[inline]
            fn tag(&self) -> Option<u8> {
                Some(Self::TAG)
            }
            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                self.formats.write(sink)
            }
        }
    };
}

copy_response!(
    /// CopyInResponse ('G'): the server is ready to receive COPY FROM STDIN data.
    CopyInResponse = b'G'
);
copy_response!(
    /// CopyOutResponse ('H'): COPY TO STDOUT data follows.
    CopyOutResponse = b'H'
);
copy_response!(
    /// CopyBothResponse ('W'): COPY data flows both ways (streaming replication).
    CopyBothResponse = b'W'
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    #[test]
    fn golden() {
        let text = [Format::Text, Format::Text];
        let m = CopyInResponse::new(Format::Text, &text);
        check_golden(b"G\0\0\0\x0b\0\0\x02\0\0\0\0", &BackendMessage::CopyInResponse(m), Tail::Strict);
        let bin = [Format::Binary];
        let m = CopyOutResponse::new(Format::Binary, &bin);
        check_golden(b"H\0\0\0\x09\x01\0\x01\0\x01", &BackendMessage::CopyOutResponse(m), Tail::Strict);
        let m = CopyBothResponse::new(Format::Binary, &[]);
        check_golden(b"W\0\0\0\x07\x01\0\0", &BackendMessage::CopyBothResponse(m), Tail::Strict);
    }

    #[test]
    fn rejects_bad_format_codes() {
        assert_eq!(decode(b'G', b"\x02\0\0"), Err(DecodeError::InvalidValue));
        assert_eq!(decode(b'G', b"\0\0\x01\0\x02"), Err(DecodeError::InvalidValue));
        assert_eq!(decode(b'H', b"\0\xff\xff"), Err(DecodeError::InvalidValue));
    }
}
