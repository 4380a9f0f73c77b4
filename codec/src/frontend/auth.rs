//! Authentication responses: everything the client sends with type byte `p`.
//!
//! PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share the
//! type byte; only the authentication request the server sent says which one a
//! `p` message is. So [`FrontendMessage`](super::FrontendMessage) decodes `p`
//! as an [`AuthResponse`] and the connection state picks the typed view.

use crate::{
    error::{DecodeError, EncodeError},
    read::{Reader, utf8},
    write::{Encode, Sink},
};

/// The type byte every authentication response uses.
const TAG_P: u8 = b'p';

/// Any `p` message, before the connection state says which kind it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AuthResponse<'a> {
    /// The undecoded body.
    pub body: &'a [u8],
}

impl<'a> AuthResponse<'a> {
    /// The type byte.
    pub const TAG: u8 = TAG_P;

    /// Wraps a body; nothing is checked until a typed view is asked for.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(AuthResponse { body })
    }

    /// Reads it as a PasswordMessage (after a cleartext or MD5 request).
    #[inline]
    pub fn as_password(&self) -> Result<PasswordMessage<'a>, DecodeError> {
        PasswordMessage::decode_body(self.body)
    }

    /// Reads it as a SASLInitialResponse (after AuthenticationSASL).
    #[inline]
    pub fn as_sasl_initial_response(&self) -> Result<SaslInitialResponse<'a>, DecodeError> {
        SaslInitialResponse::decode_body(self.body)
    }

    /// Reads it as a SASLResponse (after AuthenticationSASLContinue).
    #[inline]
    pub fn as_sasl_response(&self) -> Result<SaslResponse<'a>, DecodeError> {
        SaslResponse::decode_body(self.body)
    }

    /// Reads it as a GSSResponse (during GSSAPI or SSPI authentication).
    #[inline]
    pub fn as_gss_response(&self) -> Result<GssResponse<'a>, DecodeError> {
        GssResponse::decode_body(self.body)
    }
}

impl Encode for AuthResponse<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_slice(self.body);
        Ok(())
    }
}

/// PasswordMessage (`p`): a cleartext password or an MD5 hash string.
///
/// The password is bytes, not `&str`: PostgreSQL compares it byte for byte and
/// does not require any encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PasswordMessage<'a> {
    /// The password (or `md5…` hash), without its NUL.
    pub password: &'a [u8],
}

impl<'a> PasswordMessage<'a> {
    /// The type byte.
    pub const TAG: u8 = TAG_P;

    /// Decodes a body: one C string, nothing after it.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let password = r.cstr_bytes()?;
        r.finish()?;
        Ok(PasswordMessage { password })
    }

    /// The password as UTF-8 text.
    #[inline]
    pub fn password_str(&self) -> Result<&'a str, DecodeError> {
        utf8(self.password)
    }
}

impl Encode for PasswordMessage<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.password)
    }
}

/// SASLInitialResponse (`p`): the chosen SASL mechanism and its first message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SaslInitialResponse<'a> {
    /// The mechanism, e.g. `SCRAM-SHA-256`.
    pub mechanism: &'a str,
    /// The client's first message; `None` (length -1 on the wire) when the
    /// mechanism has none.
    pub data: Option<&'a [u8]>,
}

impl<'a> SaslInitialResponse<'a> {
    /// The type byte.
    pub const TAG: u8 = TAG_P;

    /// Decodes a body.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mechanism = r.cstr()?;
        let data = r.nullable_bytes()?;
        r.finish()?;
        Ok(SaslInitialResponse { mechanism, data })
    }
}

impl Encode for SaslInitialResponse<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.mechanism.as_bytes())?;
        sink.put_nullable_bytes(self.data)
    }
}

/// Defines a `p` message whose body is all opaque data.
macro_rules! data_response {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name<'a> {
            /// The mechanism's data: the whole body.
            pub data: &'a [u8],
        }

        impl<'a> $name<'a> {
            /// The type byte.
            pub const TAG: u8 = TAG_P;

            /// Decodes a body (any bytes).
            #[inline]
            pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
                Ok($name { data: body })
            }
        }

        impl Encode for $name<'_> {
            #[inline]
            fn tag(&self) -> Option<u8> {
                Some(Self::TAG)
            }
            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                sink.put_slice(self.data);
                Ok(())
            }
        }
    };
}

data_response!(
    /// SASLResponse (`p`): a later SASL message from the client.
    SaslResponse
);
data_response!(
    /// GSSResponse (`p`): a GSSAPI or SSPI token from the client.
    GssResponse
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    #[test]
    fn password_golden() {
        let p = PasswordMessage { password: b"secret" };
        check_golden(&p, b"p\0\0\0\x0bsecret\0", PasswordMessage::decode_body);
        check_truncations(b"secret\0", PasswordMessage::decode_body);
        assert_eq!(PasswordMessage::decode_body(b"a\0b"), Err(DecodeError::TrailingBytes));
        assert_eq!(p.password_str(), Ok("secret"));
        let raw = AuthResponse::decode_body(b"secret\0").unwrap();
        assert_eq!(raw.as_password(), Ok(p));
        check_golden(&raw, b"p\0\0\0\x0bsecret\0", AuthResponse::decode_body);
    }

    #[test]
    fn sasl_initial_golden() {
        let frame = b"p\0\0\0\x1aSCRAM-SHA-256\0\0\0\0\x04n,,x";
        let s = SaslInitialResponse { mechanism: "SCRAM-SHA-256", data: Some(b"n,,x") };
        check_golden(&s, frame, SaslInitialResponse::decode_body);
        check_truncations(&frame[5..], SaslInitialResponse::decode_body);
        let none = SaslInitialResponse { mechanism: "X", data: None };
        check_golden(&none, b"p\0\0\0\x0aX\0\xff\xff\xff\xff", SaslInitialResponse::decode_body);
        assert_eq!(AuthResponse { body: &frame[5..] }.as_sasl_initial_response(), Ok(s));
        assert_eq!(SaslInitialResponse::decode_body(b"X\0\0\0\0\0z"), Err(DecodeError::TrailingBytes));
        assert_eq!(SaslInitialResponse::decode_body(b"X\0\xff\xff\xff\xfe"), Err(DecodeError::InvalidValue));
    }

    #[test]
    fn opaque_responses_golden() {
        check_golden(&SaslResponse { data: b"c=biws" }, b"p\0\0\0\x0ac=biws", SaslResponse::decode_body);
        check_golden(&GssResponse { data: b"\x60\x01" }, b"p\0\0\0\x06\x60\x01", GssResponse::decode_body);
        let raw = AuthResponse { body: b"tok" };
        assert_eq!(raw.as_sasl_response(), Ok(SaslResponse { data: b"tok" }));
        assert_eq!(raw.as_gss_response(), Ok(GssResponse { data: b"tok" }));
        assert_eq!(raw.as_password(), Err(DecodeError::MissingNul));
    }
}
