//! [`FrontendMessage`]: any tagged frontend message, decoded by its type byte.

use crate::{
    copy::{CopyData, CopyDone},
    error::{DecodeError, EncodeError},
    frame::{FrameLimits, Framed, RawMessage, frame_message},
    write::{Encode, Sink},
};

use super::{
    AuthResponse, Bind, Close, CopyFail, Describe, Execute, Flush, FunctionCall, Parse, Query, Sync, Terminate,
};

/// Defines the enum, its decoder, its encoder and `From` conversions from one list.
macro_rules! frontend_messages {
    ($($(#[$doc:meta])* $variant:ident($ty:ty)),* $(,)?) => {
        /// Any tagged message a client sends after the startup phase.
        ///
        /// `p` decodes as [`AuthResponse`]: which authentication message it is
        /// depends on the connection state.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum FrontendMessage<'a> {
            $($(#[$doc])* $variant($ty),)*
        }

        impl<'a> FrontendMessage<'a> {
            /// Decodes a framed message by its type byte; an unknown one is
            /// [`DecodeError::UnknownMessageType`].
            #[inline]
            pub fn decode(raw: RawMessage<'a>) -> Result<Self, DecodeError> {
                match raw.tag {
                    $(<$ty>::TAG => <$ty>::decode_body(raw.body).map(FrontendMessage::$variant),)*
                    tag => Err(DecodeError::UnknownMessageType { tag }),
                }
            }

            /// Whether `tag` starts a message a client may send: a stream
            /// can be refused on its first byte, before a bogus length is
            /// waited for.
            #[inline]
            pub fn is_known_tag(tag: u8) -> bool {
                matches!(tag, $(<$ty>::TAG)|*)
            }
        }

        impl Encode for FrontendMessage<'_> {
            #[inline]
            fn tag(&self) -> Option<u8> {
                match self {
                    $(FrontendMessage::$variant(m) => m.tag(),)*
                }
            }
            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                match self {
                    $(FrontendMessage::$variant(m) => m.write_body(sink),)*
                }
            }
        }

        $(impl<'a> From<$ty> for FrontendMessage<'a> {
            #[inline]
            fn from(m: $ty) -> Self {
                FrontendMessage::$variant(m)
            }
        })*
    };
}

frontend_messages! {
    /// Bind (`B`).
    Bind(Bind<'a>),
    /// Close (`C`).
    Close(Close<'a>),
    /// CopyData (`d`).
    CopyData(CopyData<'a>),
    /// CopyDone (`c`).
    CopyDone(CopyDone),
    /// CopyFail (`f`).
    CopyFail(CopyFail<'a>),
    /// Describe (`D`).
    Describe(Describe<'a>),
    /// Execute (`E`).
    Execute(Execute<'a>),
    /// Flush (`H`).
    Flush(Flush),
    /// FunctionCall (`F`).
    FunctionCall(FunctionCall<'a>),
    /// Parse (`P`).
    Parse(Parse<'a>),
    /// Query (`Q`).
    Query(Query<'a>),
    /// Sync (`S`).
    Sync(Sync),
    /// Terminate (`X`).
    Terminate(Terminate),
    /// `p`: PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse.
    AuthResponse(AuthResponse<'a>),
}

impl<'a> FrontendMessage<'a> {
    /// Frames and decodes one message from the front of `buf`.
    ///
    /// ```
    /// use postwire_codec::frame::{FrameLimits, Framed};
    /// use postwire_codec::frontend::{FrontendMessage, Query};
    /// let got = FrontendMessage::parse(b"Q\0\0\0\x0dSELECT 1\0", &FrameLimits::DEFAULT)?;
    /// let want = FrontendMessage::Query(Query { sql: "SELECT 1" });
    /// assert_eq!(got, Framed::Complete { item: want, consumed: 14 });
    /// # Ok::<(), postwire_codec::DecodeError>(())
    /// ```
    #[inline]
    pub fn parse(buf: &'a [u8], limits: &FrameLimits) -> Result<Framed<FrontendMessage<'a>>, DecodeError> {
        frame_message(buf, limits)?.try_map(FrontendMessage::decode)
    }
}
