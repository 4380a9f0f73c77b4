//! Frontend (client → server) messages of protocol 3.0 and 3.2.
//!
//! Two phases, two entry points:
//! - the first packets of a connection are untagged: classify the first byte
//!   with [`ConnectionStart::classify`], then decode with [`StartupPacket::parse`];
//! - after that every message is tagged: [`FrontendMessage::parse`].
//!
//! Every message is a struct borrowing from the input, with `decode_body`
//! and an [`Encode`](crate::Encode) impl. Repeated fields ([`FormatCodes`],
//! [`Values`], [`Oids`], [`StartupParams`]) are checked in full while
//! decoding, so their iterators yield plain items and cannot fail. To encode,
//! build them from slices with `from_slice`.
//!
//! ```
//! use postwire_codec::{Encode, Format};
//! use postwire_codec::frontend::{Bind, FormatCodes, FrontendMessage, Values};
//! use postwire_codec::frame::{FrameLimits, Framed};
//!
//! let values: [Option<&[u8]>; 2] = [Some(b"42"), None];
//! let bind = Bind {
//!     portal: "",
//!     statement: "s1",
//!     param_formats: FormatCodes::EMPTY,
//!     params: Values::from_slice(&values),
//!     result_formats: FormatCodes::from_slice(&[Format::Binary]),
//! };
//! let mut buf = [0u8; 64];
//! let n = bind.encode(&mut buf).unwrap();
//! let Framed::Complete { item: FrontendMessage::Bind(got), .. } =
//!     FrontendMessage::parse(&buf[..n], &FrameLimits::DEFAULT)?
//! else {
//!     unreachable!()
//! };
//! assert_eq!(got.param_format(0), Some(Format::Text));
//! assert!(got.params.iter().eq(values));
//! # Ok::<(), postwire_codec::DecodeError>(())
//! ```

mod auth;
mod bind;
mod cancel;
mod copy_fail;
mod describe_close;
mod execute;
mod function_call;
mod lists;
mod message;
mod parse;
mod simple;
mod startup;
#[cfg(test)]
mod test_util;

pub use crate::copy::{CopyData, CopyDone};
pub use auth::{AuthResponse, GssResponse, PasswordMessage, SaslInitialResponse, SaslResponse};
pub use bind::Bind;
pub use cancel::CancelRequest;
pub use copy_fail::CopyFail;
pub use describe_close::{Close, Describe, TargetKind};
pub use execute::Execute;
pub use function_call::FunctionCall;
pub use lists::{FormatCodes, FormatIter, OidIter, Oids, ValueIter, Values};
pub use message::FrontendMessage;
pub use parse::Parse;
pub use simple::{Flush, Query, Sync, Terminate};
pub use startup::{
    ConnectionStart, GssEncRequest, PROTOCOL_OPTION_PREFIX, ProtocolVersion, SslRequest, StartupMessage, StartupPacket,
    StartupParams, StartupParamsIter,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DecodeError, Encode, EncodeError, frame::FrameLimits, frame::Framed};

    #[test]
    fn unknown_tag_and_dispatch() {
        let l = FrameLimits::DEFAULT;
        assert_eq!(FrontendMessage::parse(b"Z\0\0\0\x04", &l), Err(DecodeError::UnknownMessageType { tag: b'Z' }));
        assert_eq!(FrontendMessage::parse(b"S\0\0\0", &l), Ok(Framed::Incomplete { needed: 1 }));
        let got = FrontendMessage::parse(b"p\0\0\0\x06ab", &l).unwrap();
        let Framed::Complete { item: FrontendMessage::AuthResponse(a), consumed: 7 } = got else { panic!("{got:?}") };
        assert_eq!(a.as_sasl_response().map(|s| s.data), Ok(&b"ab"[..]));
        assert_eq!(FrontendMessage::parse(b"S\0\0\0\x05x", &l), Err(DecodeError::TrailingBytes));
        let m: FrontendMessage<'_> = CopyData { data: b"1\t2\n" }.into();
        let mut buf = [0u8; 16];
        assert_eq!(m.encode(&mut buf), Ok(9));
        assert_eq!(&buf[..9], b"d\0\0\0\x081\t2\n");
    }

    #[test]
    fn too_small_buffer_is_untouched() {
        let m = FrontendMessage::Query(Query { sql: "SELECT 1" });
        let mut buf = [0xaau8; 13];
        assert_eq!(m.encode(&mut buf), Err(EncodeError::BufferTooSmall { required: 14 }));
        assert_eq!(buf, [0xaa; 13]);
        let s = StartupPacket::SslRequest(SslRequest);
        let mut buf = [0xaau8; 7];
        assert_eq!(s.encode(&mut buf), Err(EncodeError::BufferTooSmall { required: 8 }));
        assert_eq!(buf, [0xaa; 7]);
    }
}
