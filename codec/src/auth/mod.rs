//! Password and token authentication, shared by the backend and frontend
//! machines and usable on its own.
//!
//! - [`scram`]: SCRAM-SHA-256(-PLUS) verifiers in PostgreSQL's `rolpassword`
//!   format, the server exchange ([`ScramServer`]) and the client exchange
//!   ([`ScramClient`]).
//! - [`md5`]: `md5…` verifiers and the salted challenge response.
//! - [`oauth`]: the OAUTHBEARER mechanism of PostgreSQL 18 (RFC 7628).
//!
//! Nothing here allocates or reads a clock; randomness (salts, nonces) comes
//! from the caller's [`rand_core::CryptoRng`]. Secrets are compared in
//! constant time.
//!
//! ```
//! use postwire_codec::auth::{StoredPassword, scram::ScramVerifier};
//!
//! let verifier = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096)?;
//! let text = verifier.to_text();
//! assert!(text.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"));
//! // What PostgreSQL keeps in pg_authid.rolpassword parses back.
//! let StoredPassword::Scram(parsed) = StoredPassword::parse(&text) else { unreachable!() };
//! assert!(parsed.verify_password(b"pencil"));
//! assert!(!parsed.verify_password(b"pen"));
//! # Ok::<(), postwire_codec::auth::VerifierError>(())
//! ```

pub mod md5;
pub mod oauth;
pub mod scram;

use core::{fmt, ops::Deref};

use crate::SqlState;
pub use md5::Md5Verifier;
pub use oauth::{DiscoveryDocument, OAuthRequest};
pub use scram::{ScramClient, ScramServer, ScramVerifier};

/// A role's stored password, as PostgreSQL keeps it in `pg_authid.rolpassword`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredPassword<'a> {
    /// The password itself. Both MD5 and SCRAM can use it: the verifier is
    /// derived at login (for SCRAM with a fresh salt, which costs one PBKDF2
    /// run of [`scram::DEFAULT_ITERATIONS`]).
    Plaintext(&'a [u8]),
    /// An `md5` + 32 hex digits verifier.
    Md5(Md5Verifier),
    /// A `SCRAM-SHA-256$…` verifier.
    Scram(ScramVerifier),
}

impl<'a> StoredPassword<'a> {
    /// Classifies `rolpassword` the way PostgreSQL does: a well-formed MD5
    /// verifier, else a well-formed SCRAM verifier, else a plaintext password.
    pub fn parse(rolpassword: &'a str) -> Self {
        if let Ok(v) = Md5Verifier::parse(rolpassword) {
            StoredPassword::Md5(v)
        } else if let Ok(v) = ScramVerifier::parse(rolpassword) {
            StoredPassword::Scram(v)
        } else {
            StoredPassword::Plaintext(rolpassword.as_bytes())
        }
    }
}

/// Why a verifier could not be parsed or made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum VerifierError {
    /// The text is not a verifier of this kind.
    Malformed,
    /// The salt is empty or longer than [`scram::MAX_SALT_LEN`].
    InvalidSalt,
    /// The iteration count is zero.
    InvalidIterations,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifierError::Malformed => "malformed password verifier",
            VerifierError::InvalidSalt => "salt must be 1 to 64 bytes",
            VerifierError::InvalidIterations => "iteration count must be at least 1",
        })
    }
}

impl core::error::Error for VerifierError {}

/// Why a SASL exchange (SCRAM or OAUTHBEARER) stopped, on either side.
///
/// [`message`](Self::message) and [`sqlstate`](Self::sqlstate) are what
/// PostgreSQL reports to a client for the same fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SaslError {
    /// A SCRAM message does not follow RFC 5802's grammar (08P01).
    MalformedScram,
    /// An OAUTHBEARER message does not follow RFC 7628's grammar (08P01).
    MalformedOAuth,
    /// The client chose a mechanism the server did not offer (08P01).
    InvalidMechanism,
    /// The GS2 channel-binding flag contradicts the chosen mechanism, or the
    /// client claims the server cannot bind while it offered -PLUS: a
    /// downgrade (08P01).
    ChannelBindingNegotiation,
    /// A channel-binding type other than `tls-server-end-point` (08P01).
    UnsupportedChannelBindingType,
    /// The client-final `c=` attribute does not match (08P01).
    ChannelBindingMismatch,
    /// The client-final nonce is not the one agreed (08P01).
    NonceMismatch,
    /// The client sent an authorization identity (0A000).
    AuthzidUnsupported,
    /// The client requires a SCRAM extension (`m=`) (0A000).
    ExtensionUnsupported,
    /// The proof is wrong: wrong password (28P01). On the client side: the
    /// server's signature is wrong, so the server does not know the password.
    InvalidProof,
    /// Client side: the server's iteration count is above the caller's cap.
    TooManyIterations(u32),
    /// A message arrived when the exchange did not expect one.
    OutOfOrder,
    /// A message or value does not fit the exchange's fixed buffers (08P01).
    TooLong,
}

impl SaslError {
    /// The SQLSTATE PostgreSQL uses for this fault.
    pub const fn sqlstate(&self) -> SqlState {
        match self {
            SaslError::AuthzidUnsupported | SaslError::ExtensionUnsupported => SqlState::FEATURE_NOT_SUPPORTED,
            SaslError::InvalidProof => SqlState::INVALID_PASSWORD,
            _ => SqlState::PROTOCOL_VIOLATION,
        }
    }

    /// PostgreSQL's message for this fault.
    pub const fn message(&self) -> &'static str {
        match self {
            SaslError::MalformedScram | SaslError::TooLong => "malformed SCRAM message",
            SaslError::MalformedOAuth => "malformed OAUTHBEARER message",
            SaslError::InvalidMechanism => "client selected an invalid SASL authentication mechanism",
            SaslError::ChannelBindingNegotiation => "SCRAM channel binding negotiation error",
            SaslError::UnsupportedChannelBindingType => "unsupported SCRAM channel-binding type",
            SaslError::ChannelBindingMismatch => "SCRAM channel binding check failed",
            SaslError::NonceMismatch => "invalid SCRAM response",
            SaslError::AuthzidUnsupported => "client uses authorization identity, but it is not supported",
            SaslError::ExtensionUnsupported => "client requires an unsupported SCRAM extension",
            SaslError::InvalidProof => "SCRAM proof or signature does not match",
            SaslError::TooManyIterations(_) => "SCRAM iteration count above the configured limit",
            SaslError::OutOfOrder => "SASL message out of order",
        }
    }
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::TooManyIterations(n) => write!(f, "{} ({n})", self.message()),
            _ => f.write_str(self.message()),
        }
    }
}

impl core::error::Error for SaslError {}

/// A verifier's text form in a fixed buffer: derefs to `&str` and displays
/// as it, with no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifierText {
    bytes: [u8; VerifierText::CAPACITY],
    len: u16,
}

impl VerifierText {
    /// The longest text held: a SCRAM verifier with a 64-byte salt and a
    /// ten-digit iteration count is 202 bytes.
    pub const CAPACITY: usize = 224;

    const fn new() -> Self {
        VerifierText { bytes: [0; Self::CAPACITY], len: 0 }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        core::str::from_utf8(self.bytes.get(..usize::from(self.len)).unwrap_or_default()).unwrap_or_default()
    }
}

impl Deref for VerifierText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for VerifierText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for VerifierText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for VerifierText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for VerifierText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for VerifierText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Write for VerifierText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let at = usize::from(self.len);
        let dst = self.bytes.get_mut(at..at + s.len()).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len() as u16;
        Ok(())
    }
}

/// Constant-time equality of two secrets (lengths are not secret).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// A bounded writer over a caller's buffer that records overflow instead of
/// panicking; callers check [`Writer::finish`].
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflow: bool,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0, overflow: false }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.len..self.len.saturating_add(bytes.len())) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    pub(crate) fn put_b64(&mut self, bytes: &[u8]) {
        use base64::Engine as _;
        let rest = self.buf.get_mut(self.len..).unwrap_or_default();
        match base64::engine::general_purpose::STANDARD.encode_slice(bytes, rest) {
            Ok(n) => self.len += n,
            Err(_) => self.overflow = true,
        }
    }

    pub(crate) fn put_u32(&mut self, n: u32) {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[at..]);
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The length written, or `TooLong` if anything did not fit.
    pub(crate) fn finish(self) -> Result<usize, SaslError> {
        if self.overflow { Err(SaslError::TooLong) } else { Ok(self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_password_classification_follows_postgres() {
        assert!(matches!(StoredPassword::parse("md5ac833357757ae90cce38f0d7a2f43144"), StoredPassword::Md5(_)));
        // Upper-case hex is not an MD5 verifier for PostgreSQL: plaintext.
        assert!(matches!(StoredPassword::parse("md5AC833357757AE90CCE38F0D7A2F43144"), StoredPassword::Plaintext(_)));
        assert!(matches!(StoredPassword::parse("md5"), StoredPassword::Plaintext(b"md5")));
        let scram = "SCRAM-SHA-256$4096:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=";
        assert!(matches!(StoredPassword::parse(scram), StoredPassword::Scram(_)));
        assert!(matches!(StoredPassword::parse("SCRAM-SHA-256$x"), StoredPassword::Plaintext(_)));
    }

    #[test]
    fn writer_never_overflows() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.put(b"abc");
        w.put_u32(42);
        assert_eq!(w.finish(), Err(SaslError::TooLong));
        let mut w = Writer::new(&mut buf);
        w.put_u32(0);
        w.put_u32(123);
        assert_eq!(w.written(), b"0123");
    }
}
