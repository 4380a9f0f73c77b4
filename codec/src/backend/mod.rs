//! Backend (server → client) messages of protocol 3.0 and 3.2.
//!
//! Each message is a struct (or enum) borrowing from the input, with a `TAG`,
//! `decode_body`, and an [`Encode`] impl. [`BackendMessage`] decodes any of
//! them from a framed [`RawMessage`].
//!
//! Repeated fields ([`List`]) and error fields ([`ErrorBody`]) are validated
//! in full by `decode_body`, so their iterators yield plain items, never
//! errors. The two hot messages, [`DataRow`] and [`RowDescription`], are the
//! exception: their cells and fields are a [`LazyList`], checked once while
//! iterating (each item a `Result`), and [`BackendMessage::validate`] checks
//! them up front. The same types hold caller slices for encoding.
//!
//! For the hot path, [`DataRowWriter`] and [`RowDescriptionWriter`] write
//! straight into a caller's buffer in one pass.

mod auth;
mod command_complete;
mod copy_response;
mod data_row;
mod error_fields;
mod error_notice;
mod function_call_response;
mod key_data;
pub mod list;
mod negotiate;
mod notification;
mod parameter;
mod row_description;
mod simple;
mod status;
#[cfg(test)]
mod test_util;
mod writer;

pub use auth::Authentication;
pub use command_complete::{CommandComplete, rows_in_tag};
pub use copy_response::{CopyBothResponse, CopyFormats, CopyInResponse, CopyOutResponse};
pub use data_row::DataRow;
pub use error_fields::{Decimal, ErrorField, ErrorFields, Severity};
pub use error_notice::{ErrorBody, ErrorResponse, Fields, NoticeResponse};
pub use function_call_response::FunctionCallResponse;
pub use key_data::{BackendKeyData, MAX_SECRET_KEY_LEN};
pub use list::{LazyIter, LazyList, List};
pub use negotiate::NegotiateProtocolVersion;
pub use notification::NotificationResponse;
pub use parameter::{ParameterDescription, ParameterStatus};
pub use row_description::{FieldDescription, RowDescription};
pub use simple::{BindComplete, CloseComplete, EmptyQueryResponse, NoData, ParseComplete, PortalSuspended};
pub use status::{ReadyForQuery, TransactionStatus};
pub use writer::{CellSink, DataRowWriter, RowDescriptionWriter};

use crate::{
    copy::{CopyData, CopyDone},
    error::{DecodeError, EncodeError},
    frame::{FrameLimits, Framed, RawMessage, frame_message},
    write::{Encode, Sink},
};

macro_rules! backend_messages {
    ($($(#[$doc:meta])* $variant:ident($ty:ident $(<$lt:lifetime>)?),)*) => {
        /// Any backend message, decoded.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        // A whole-word tag: every variant's fields start at offset 8, so a
        // move copies whole words. With a one-byte tag, moving a message
        // copied bytes 1..8 as two overlapping 4-byte moves, and reading
        // them back stalled on store forwarding: a `BackendMessage::parse`
        // loop ran 19 % faster with this (BENCHMARKS.md, Session machines).
        #[repr(u64)]
        pub enum BackendMessage<'a> {
            $($(#[$doc])* $variant($ty $(<$lt>)?),)*
        }

        impl<'a> BackendMessage<'a> {
            /// Decodes a framed message; an unknown type byte is
            /// [`DecodeError::UnknownMessageType`].
            pub fn decode(raw: RawMessage<'a>) -> Result<Self, DecodeError> {
                match raw.tag {
                    $($ty::TAG => $ty::decode_body(raw.body).map(BackendMessage::$variant),)*
                    tag => Err(DecodeError::UnknownMessageType { tag }),
                }
            }
        }

        impl Encode for BackendMessage<'_> {
            #[inline]
            fn tag(&self) -> Option<u8> {
                match self {
                    $(BackendMessage::$variant(m) => m.tag(),)*
                }
            }

            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                match self {
                    $(BackendMessage::$variant(m) => m.write_body(sink),)*
                }
            }
        }

        $(
            impl<'a> From<$ty $(<$lt>)?> for BackendMessage<'a> {
                #[inline]
                fn from(m: $ty $(<$lt>)?) -> Self {
                    BackendMessage::$variant(m)
                }
            }
        )*
    };
}

backend_messages! {
    /// 'R'
    Authentication(Authentication<'a>),
    /// 'K'
    BackendKeyData(BackendKeyData<'a>),
    /// '2'
    BindComplete(BindComplete),
    /// '3'
    CloseComplete(CloseComplete),
    /// 'C'
    CommandComplete(CommandComplete<'a>),
    /// 'd'
    CopyData(CopyData<'a>),
    /// 'c'
    CopyDone(CopyDone),
    /// 'G'
    CopyInResponse(CopyInResponse<'a>),
    /// 'H'
    CopyOutResponse(CopyOutResponse<'a>),
    /// 'W'
    CopyBothResponse(CopyBothResponse<'a>),
    /// 'D'
    DataRow(DataRow<'a>),
    /// 'I'
    EmptyQueryResponse(EmptyQueryResponse),
    /// 'E'
    ErrorResponse(ErrorResponse<'a>),
    /// 'V'
    FunctionCallResponse(FunctionCallResponse<'a>),
    /// 'v'
    NegotiateProtocolVersion(NegotiateProtocolVersion<'a>),
    /// 'n'
    NoData(NoData),
    /// 'N'
    NoticeResponse(NoticeResponse<'a>),
    /// 'A'
    NotificationResponse(NotificationResponse<'a>),
    /// 't'
    ParameterDescription(ParameterDescription<'a>),
    /// 'S'
    ParameterStatus(ParameterStatus<'a>),
    /// '1'
    ParseComplete(ParseComplete),
    /// 's'
    PortalSuspended(PortalSuspended),
    /// 'Z'
    ReadyForQuery(ReadyForQuery),
    /// 'T'
    RowDescription(RowDescription<'a>),
}

impl<'a> BackendMessage<'a> {
    /// Checks what decoding leaves to iteration (a [`DataRow`]'s cells, a
    /// [`RowDescription`]'s fields): `Ok` if iterating them yields no error.
    /// Every other message was checked in full by [`BackendMessage::decode`].
    #[inline]
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            BackendMessage::DataRow(row) => row.validate(),
            BackendMessage::RowDescription(description) => description.validate(),
            _ => Ok(()),
        }
    }

    /// [`BackendMessage::decode`] and then [`BackendMessage::validate`]: the
    /// whole message checked before it is returned. A row or description
    /// returned from here is marked as checked: validating it again, or
    /// encoding it again (a proxy passing rows on), does not walk it again.
    #[inline]
    pub fn decode_validated(raw: RawMessage<'a>) -> Result<Self, DecodeError> {
        // Only these two have parts checked lazily. The rest is decode's
        // answer returned as is, so it is built in place, not copied (a copy
        // of a value just stored field by field stalls on those stores).
        match raw.tag {
            DataRow::TAG => Ok(BackendMessage::DataRow(DataRow::decode_body(raw.body)?.checked()?)),
            RowDescription::TAG => {
                Ok(BackendMessage::RowDescription(RowDescription::decode_body(raw.body)?.checked()?))
            }
            _ => Self::decode(raw),
        }
    }

    /// [`BackendMessage::decode`], with the hot message decoded inline:
    /// reading a DataRow's count is all it takes.
    #[inline]
    fn decode_hot(raw: RawMessage<'a>) -> Result<Self, DecodeError> {
        if raw.tag == DataRow::TAG {
            DataRow::decode_body(raw.body).map(BackendMessage::DataRow)
        } else {
            BackendMessage::decode(raw)
        }
    }

    /// Frames and decodes one message from the front of `buf`.
    ///
    /// ```
    /// use postwire_codec::backend::{BackendMessage, ReadyForQuery, TransactionStatus};
    /// use postwire_codec::{FrameLimits, Framed};
    /// let parsed = BackendMessage::parse(b"Z\0\0\0\x05T", &FrameLimits::DEFAULT)?;
    /// let ready = ReadyForQuery { status: TransactionStatus::InTransaction };
    /// assert_eq!(parsed, Framed::Complete { item: BackendMessage::ReadyForQuery(ready), consumed: 6 });
    /// # Ok::<(), postwire_codec::DecodeError>(())
    /// ```
    #[inline]
    ///
    /// As with [`BackendMessage::decode`], a DataRow's cells and a
    /// RowDescription's fields are checked while iterating them.
    pub fn parse(buf: &'a [u8], limits: &FrameLimits) -> Result<Framed<BackendMessage<'a>>, DecodeError> {
        frame_message(buf, limits)?.try_map(BackendMessage::decode_hot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_frontend_only_tags_are_rejected() {
        for tag in [b'Q', b'P', b'X', b'x', 0] {
            assert_eq!(
                BackendMessage::decode(RawMessage { tag, body: b"" }),
                Err(DecodeError::UnknownMessageType { tag })
            );
        }
    }

    #[test]
    fn parse_reports_incomplete_and_bad_lengths() {
        let l = FrameLimits::DEFAULT;
        assert_eq!(BackendMessage::parse(b"Z\0\0", &l), Ok(Framed::Incomplete { needed: 2 }));
        assert_eq!(BackendMessage::parse(b"Z\0\0\0\x03", &l), Err(DecodeError::LengthTooSmall { length: 3 }));
        assert_eq!(BackendMessage::parse(b"Z\0\0\0\x04", &l), Err(DecodeError::UnexpectedEnd));
    }
}
