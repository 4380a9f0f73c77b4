//! ErrorResponse ('E') and NoticeResponse ('N'), which share one body: a list
//! of (type byte, text) fields ended by a zero byte.

use core::{fmt, ops::Deref};

use super::error_fields::{ErrorField, ErrorFields, Severity};
use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    sqlstate::SqlState,
    write::Sink,
};

/// The fields of an error or notice: decoded bytes or an [`ErrorFields`] to encode.
///
/// Decoding checks every field (UTF-8 text, NUL-terminated, final zero byte),
/// so [`ErrorBody::fields`] is infallible. Fields with unknown type bytes are
/// kept and yielded; clients should ignore them.
///
/// Two bodies are equal when they yield the same fields in the same order.
#[derive(Clone, Copy)]
pub struct ErrorBody<'a> {
    repr: Repr<'a>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// Validated fields, without the final zero byte.
    Wire(&'a [u8]),
    Built(&'a ErrorFields<'a>),
}

impl<'a> ErrorBody<'a> {
    /// Decodes and validates a body.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        loop {
            if r.u8()? == 0 {
                break;
            }
            r.cstr()?;
        }
        r.finish()?;
        let fields = body.get(..body.len().saturating_sub(1)).unwrap_or_default();
        Ok(ErrorBody { repr: Repr::Wire(fields) })
    }

    /// Every field in order, as `(type byte, text)`.
    pub fn fields(&self) -> Fields<'a> {
        match self.repr {
            Repr::Wire(bytes) => Fields { repr: FieldsRepr::Wire(Reader::new(bytes)) },
            Repr::Built(built) => Fields { repr: FieldsRepr::Built { built, next: 0 } },
        }
    }

    /// The first field of kind `kind`.
    pub fn field(&self, kind: ErrorField) -> Option<&'a str> {
        match self.repr {
            Repr::Built(built) => built.get(kind),
            Repr::Wire(_) => self.fields().find(|&(b, _)| b == kind.as_byte()).map(|(_, v)| v),
        }
    }

    /// 'S': the severity, possibly localized.
    pub fn severity(&self) -> Option<&'a str> {
        self.field(ErrorField::Severity)
    }

    /// The severity as an enum: from 'V', or from 'S' for servers older than 9.6.
    pub fn severity_kind(&self) -> Option<Severity> {
        let v = self.field(ErrorField::SeverityNonLocalized).or_else(|| self.severity())?;
        Severity::from_wire(v)
    }

    /// 'C': the SQLSTATE, if present and well-formed.
    pub fn code(&self) -> Option<SqlState> {
        SqlState::from_code(self.field(ErrorField::Code)?)
    }

    /// 'M': the primary message.
    pub fn message(&self) -> Option<&'a str> {
        self.field(ErrorField::Message)
    }

    /// 'D': the detail message.
    pub fn detail(&self) -> Option<&'a str> {
        self.field(ErrorField::Detail)
    }

    /// 'H': the hint.
    pub fn hint(&self) -> Option<&'a str> {
        self.field(ErrorField::Hint)
    }

    /// 'P': the 1-based character position in the query, if present and numeric.
    pub fn position(&self) -> Option<u32> {
        parse_u32(self.field(ErrorField::Position)?)
    }

    /// 'p': the position in the internal query, if present and numeric.
    pub fn internal_position(&self) -> Option<u32> {
        parse_u32(self.field(ErrorField::InternalPosition)?)
    }

    /// 'q': the internally generated query.
    pub fn internal_query(&self) -> Option<&'a str> {
        self.field(ErrorField::InternalQuery)
    }

    /// 'W': the context the error happened in.
    pub fn context(&self) -> Option<&'a str> {
        self.field(ErrorField::Where)
    }

    /// 's': the schema name.
    pub fn schema(&self) -> Option<&'a str> {
        self.field(ErrorField::Schema)
    }

    /// 't': the table name.
    pub fn table(&self) -> Option<&'a str> {
        self.field(ErrorField::Table)
    }

    /// 'c': the column name.
    pub fn column(&self) -> Option<&'a str> {
        self.field(ErrorField::Column)
    }

    /// 'd': the data type name.
    pub fn data_type(&self) -> Option<&'a str> {
        self.field(ErrorField::DataType)
    }

    /// 'n': the constraint name.
    pub fn constraint(&self) -> Option<&'a str> {
        self.field(ErrorField::Constraint)
    }

    /// 'F': the server source file.
    pub fn file(&self) -> Option<&'a str> {
        self.field(ErrorField::File)
    }

    /// 'L': the server source line, if present and numeric.
    pub fn line(&self) -> Option<u32> {
        parse_u32(self.field(ErrorField::Line)?)
    }

    /// 'R': the server source routine.
    pub fn routine(&self) -> Option<&'a str> {
        self.field(ErrorField::Routine)
    }

    pub(crate) fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        match &self.repr {
            Repr::Wire(bytes) => sink.put_slice(bytes),
            Repr::Built(_) => {
                for (kind, text) in self.fields() {
                    sink.put_u8(kind);
                    sink.put_cstr(text.as_bytes())?;
                }
            }
        }
        sink.put_u8(0);
        Ok(())
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    if s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
}

impl<'a> From<&'a ErrorFields<'a>> for ErrorBody<'a> {
    fn from(fields: &'a ErrorFields<'a>) -> Self {
        ErrorBody { repr: Repr::Built(fields) }
    }
}

impl PartialEq for ErrorBody<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.fields().eq(other.fields())
    }
}

impl Eq for ErrorBody<'_> {}

impl fmt::Debug for ErrorBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (kind, text) in self.fields() {
            map.entry(&char::from(kind), &text);
        }
        map.finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for ErrorBody<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        for (kind, text) in self.fields() {
            defmt::write!(f, "{=char}={=str} ", char::from(kind), text);
        }
    }
}

/// Iterator over the `(type byte, text)` fields of an [`ErrorBody`].
#[derive(Debug, Clone)]
pub struct Fields<'s> {
    repr: FieldsRepr<'s>,
}

#[derive(Debug, Clone)]
enum FieldsRepr<'s> {
    Wire(Reader<'s>),
    Built { built: &'s ErrorFields<'s>, next: usize },
}

impl<'s> Iterator for Fields<'s> {
    type Item = (u8, &'s str);

    fn next(&mut self) -> Option<(u8, &'s str)> {
        match &mut self.repr {
            // Validated on decode: a failure here cannot happen; it just ends the walk.
            FieldsRepr::Wire(r) => {
                let kind = r.u8().ok()?;
                Some((kind, r.cstr().ok()?))
            }
            FieldsRepr::Built { built, next } => loop {
                let kind = *ErrorField::ALL.get(*next)?;
                *next += 1;
                if let Some(text) = built.get(kind) {
                    return Some((kind.as_byte(), text));
                }
            },
        }
    }
}

macro_rules! error_message {
    ($(#[$doc:meta])* $name:ident = $tag:literal) => {
        $(#[$doc])*
        ///
        /// Dereferences to its [`ErrorBody`] for the field accessors.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name<'a> {
            /// The fields.
            pub body: ErrorBody<'a>,
        }

        impl<'a> $name<'a> {
            /// The type byte.
            pub const TAG: u8 = $tag;

            /// Decodes a body, validating every field.
            pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
                ErrorBody::decode(body).map(|body| $name { body })
            }
        }

        impl<'a> From<&'a ErrorFields<'a>> for $name<'a> {
            fn from(fields: &'a ErrorFields<'a>) -> Self {
                $name { body: fields.into() }
            }
        }

        impl<'a> Deref for $name<'a> {
            type Target = ErrorBody<'a>;
            fn deref(&self) -> &ErrorBody<'a> {
                &self.body
            }
        }

        impl crate::write::Encode for $name<'_> {
            #[inline]
            fn tag(&self) -> Option<u8> {
                Some(Self::TAG)
            }
            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                self.body.write(sink)
            }
        }
    };
}

error_message!(
    /// ErrorResponse ('E'): a command, or the session, failed.
    ErrorResponse = b'E'
);
error_message!(
    /// NoticeResponse ('N'): a warning or informational message.
    NoticeResponse = b'N'
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage, Decimal,
        test_util::{Tail, check_golden, decode},
    };
    use crate::write::Encode;

    const WIRE: &[u8] = b"E\0\0\0\x37SERROR\0VERROR\0C42601\0Msyntax error\0P15\0Fscan.l\0L1\0\0";

    fn syntax_error(position: &str) -> ErrorFields<'_> {
        ErrorFields {
            position: Some(position),
            file: Some("scan.l"),
            line: Some("1"),
            ..ErrorFields::new(Severity::Error, SqlState::from_code("42601").unwrap(), "syntax error")
        }
    }

    #[test]
    fn golden_error() {
        let pos = Decimal::new(15);
        let fields = syntax_error(pos.as_str());
        let built = ErrorResponse::from(&fields);
        check_golden(WIRE, &BackendMessage::ErrorResponse(built), Tail::Strict);

        let Ok(BackendMessage::ErrorResponse(e)) = decode(b'E', &WIRE[5..]) else { panic!() };
        assert_eq!(e.severity(), Some("ERROR"));
        assert_eq!(e.severity_kind(), Some(Severity::Error));
        assert_eq!(e.code(), SqlState::from_code("42601"));
        assert_eq!(e.message(), Some("syntax error"));
        assert_eq!((e.position(), e.line(), e.file()), (Some(15), Some(1), Some("scan.l")));
        assert_eq!((e.detail(), e.hint(), e.table()), (None, None, None));
        assert_eq!(e.fields().count(), 7);
    }

    #[test]
    fn golden_notice_with_every_field() {
        let f = ErrorFields {
            detail: Some("d"),
            hint: Some("h"),
            position: Some("1"),
            internal_position: Some("2"),
            internal_query: Some("q"),
            context: Some("w"),
            schema: Some("s"),
            table: Some("t"),
            column: Some("c"),
            data_type: Some("dt"),
            constraint: Some("n"),
            file: Some("f"),
            line: Some("3"),
            routine: Some("r"),
            ..ErrorFields::new(Severity::Notice, SqlState::from_code("00000").unwrap(), "m")
        };
        let wire =
            b"N\0\0\0\x4aSNOTICE\0VNOTICE\0C00000\0Mm\0Dd\0Hh\0P1\0p2\0qq\0Ww\0ss\0tt\0cc\0ddt\0nn\0Ff\0L3\0Rr\0\0";
        check_golden(wire, &BackendMessage::NoticeResponse(NoticeResponse::from(&f)), Tail::Strict);
        let Ok(BackendMessage::NoticeResponse(n)) = decode(b'N', &wire[5..]) else { panic!() };
        for kind in ErrorField::ALL {
            assert_eq!(n.field(kind), f.get(kind), "{kind:?}");
            assert_eq!(ErrorField::from_byte(kind.as_byte()), Some(kind));
        }
        assert_eq!((n.internal_position(), n.context(), n.data_type()), (Some(2), Some("w"), Some("dt")));
    }

    #[test]
    fn unknown_fields_kept_and_bad_bodies_rejected() {
        let e = ErrorResponse::decode_body(b"Zx\0Mhi\0\0").unwrap();
        assert!(e.fields().eq([(b'Z', "x"), (b'M', "hi")]));
        assert_eq!(e.message(), Some("hi"));
        assert_eq!(e.code(), None);
        assert_eq!(decode(b'E', b""), Err(DecodeError::UnexpectedEnd));
        assert_eq!(decode(b'E', b"Mhi"), Err(DecodeError::MissingNul));
        assert_eq!(decode(b'N', b"M\xff\0\0"), Err(DecodeError::InvalidUtf8));
        assert_eq!(decode(b'E', b"\0"), Ok(BackendMessage::ErrorResponse(ErrorResponse::decode_body(b"\0").unwrap())));
        let nul = ErrorFields { hint: Some("a\0b"), ..syntax_error("1") };
        assert_eq!(ErrorResponse::from(&nul).encoded_len(), Err(EncodeError::NulInString));
    }
}
