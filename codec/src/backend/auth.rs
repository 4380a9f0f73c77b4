//! Authentication requests ('R').

use super::list::List;
use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// An authentication request or outcome ('R'), one variant per request code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Authentication<'a> {
    /// Code 0: authentication succeeded.
    Ok,
    /// Code 2: Kerberos V5 (no longer supported by PostgreSQL).
    KerberosV5,
    /// Code 3: send the password in clear text.
    CleartextPassword,
    /// Code 5: send the MD5-hashed password, salted with `salt`.
    Md5Password {
        /// The 4-byte salt.
        salt: [u8; 4],
    },
    /// Code 7: start GSSAPI authentication.
    Gss,
    /// Code 8: GSSAPI or SSPI continuation data.
    GssContinue {
        /// The opaque token.
        data: &'a [u8],
    },
    /// Code 9: start SSPI authentication.
    Sspi,
    /// Code 10: start SASL; the mechanisms the server accepts, in preference order.
    Sasl {
        /// Mechanism names (non-empty; an empty name ends the list on the wire).
        mechanisms: List<'a, &'a str>,
    },
    /// Code 11: a SASL challenge.
    SaslContinue {
        /// Mechanism-specific data.
        data: &'a [u8],
    },
    /// Code 12: SASL outcome data ("additional data with success").
    SaslFinal {
        /// Mechanism-specific data.
        data: &'a [u8],
    },
}

impl<'a> Authentication<'a> {
    /// The type byte.
    pub const TAG: u8 = b'R';

    /// Decodes a body. An unknown request code is [`DecodeError::InvalidValue`].
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let msg = match r.i32()? {
            0 => Authentication::Ok,
            2 => Authentication::KerberosV5,
            3 => Authentication::CleartextPassword,
            5 => Authentication::Md5Password { salt: r.array()? },
            7 => Authentication::Gss,
            8 => Authentication::GssContinue { data: r.rest() },
            9 => Authentication::Sspi,
            10 => Authentication::Sasl { mechanisms: List::read_terminated(&mut r, |m: &&str| m.is_empty())? },
            11 => Authentication::SaslContinue { data: r.rest() },
            12 => Authentication::SaslFinal { data: r.rest() },
            _ => return Err(DecodeError::InvalidValue),
        };
        r.finish()?;
        Ok(msg)
    }

    /// The request code on the wire.
    pub const fn code(&self) -> i32 {
        match self {
            Authentication::Ok => 0,
            Authentication::KerberosV5 => 2,
            Authentication::CleartextPassword => 3,
            Authentication::Md5Password { .. } => 5,
            Authentication::Gss => 7,
            Authentication::GssContinue { .. } => 8,
            Authentication::Sspi => 9,
            Authentication::Sasl { .. } => 10,
            Authentication::SaslContinue { .. } => 11,
            Authentication::SaslFinal { .. } => 12,
        }
    }
}

impl Encode for Authentication<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }

    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_i32(self.code());
        match self {
            Authentication::Md5Password { salt } => sink.put_slice(salt),
            Authentication::GssContinue { data }
            | Authentication::SaslContinue { data }
            | Authentication::SaslFinal { data } => sink.put_slice(data),
            Authentication::Sasl { mechanisms } => {
                // An empty name would end the list early on the wire.
                if mechanisms.iter().any(str::is_empty) {
                    return Err(EncodeError::InvalidValue);
                }
                mechanisms.write_items(sink)?;
                sink.put_u8(0);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    fn golden(wire: &[u8], auth: Authentication<'_>, tail: Tail) {
        check_golden(wire, &BackendMessage::Authentication(auth), tail);
    }

    #[test]
    fn golden_requests() {
        golden(b"R\0\0\0\x08\0\0\0\0", Authentication::Ok, Tail::Strict);
        golden(b"R\0\0\0\x08\0\0\0\x02", Authentication::KerberosV5, Tail::Strict);
        golden(b"R\0\0\0\x08\0\0\0\x03", Authentication::CleartextPassword, Tail::Strict);
        golden(
            b"R\0\0\0\x0c\0\0\0\x05\x01\x02\x03\x04",
            Authentication::Md5Password { salt: [1, 2, 3, 4] },
            Tail::Strict,
        );
        golden(b"R\0\0\0\x08\0\0\0\x07", Authentication::Gss, Tail::Strict);
        golden(b"R\0\0\0\x0b\0\0\0\x08tok", Authentication::GssContinue { data: b"tok" }, Tail::Rest);
        golden(b"R\0\0\0\x08\0\0\0\x09", Authentication::Sspi, Tail::Strict);
        golden(b"R\0\0\0\x0b\0\0\0\x0br=1", Authentication::SaslContinue { data: b"r=1" }, Tail::Rest);
        golden(b"R\0\0\0\x0b\0\0\0\x0cv=2", Authentication::SaslFinal { data: b"v=2" }, Tail::Rest);
    }

    #[test]
    fn golden_sasl_mechanisms() {
        let wire = b"R\0\0\0\x2a\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0";
        let mechanisms = List::from_slice(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]);
        golden(wire, Authentication::Sasl { mechanisms }, Tail::Strict);
        let Ok(BackendMessage::Authentication(Authentication::Sasl { mechanisms })) = decode(b'R', &wire[5..]) else {
            panic!()
        };
        assert!(mechanisms.iter().eq(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]));
        let none = Authentication::Sasl { mechanisms: List::from_slice(&[]) };
        golden(b"R\0\0\0\x09\0\0\0\x0a\0", none, Tail::Strict);
    }

    #[test]
    fn rejects_unknown_codes_and_empty_mechanisms() {
        assert_eq!(decode(b'R', b"\0\0\0\x06"), Err(DecodeError::InvalidValue));
        assert_eq!(decode(b'R', b"\xff\xff\xff\xff"), Err(DecodeError::InvalidValue));
        let bad = Authentication::Sasl { mechanisms: List::from_slice(&["SCRAM-SHA-256", ""]) };
        assert_eq!(bad.encoded_len(), Err(EncodeError::InvalidValue));
        let nul = Authentication::Sasl { mechanisms: List::from_slice(&["A\0B"]) };
        assert_eq!(nul.encoded_len(), Err(EncodeError::NulInString));
    }
}
