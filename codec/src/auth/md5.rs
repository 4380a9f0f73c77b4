//! MD5 password authentication (AuthenticationMD5Password).
//!
//! PostgreSQL stores `"md5" + hex(md5(password + user))`; at login it sends a
//! random 4-byte salt and expects `"md5" + hex(md5(hex_digest + salt))`.
//! MD5 is weak: prefer SCRAM; this exists for old roles and old clients.

use core::fmt::{self, Write as _};

use md5::{Digest, Md5};

use super::{VerifierError, VerifierText, constant_time_eq};

/// Length of what a client sends: `md5` and 32 hex digits.
pub const RESPONSE_LEN: usize = 35;

/// A stored MD5 verifier: `md5(password + user)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Md5Verifier {
    digest: [u8; 16],
}

impl Md5Verifier {
    /// Parses `md5` followed by 32 lower-case hex digits (PostgreSQL's test).
    pub fn parse(text: &str) -> Result<Self, VerifierError> {
        let hex = text.strip_prefix("md5").ok_or(VerifierError::Malformed)?.as_bytes();
        if hex.len() != 32 {
            return Err(VerifierError::Malformed);
        }
        let mut digest = [0u8; 16];
        for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(VerifierError::Malformed);
            };
            *byte = hi << 4 | lo;
        }
        Ok(Md5Verifier { digest })
    }

    /// The verifier PostgreSQL stores for `user` with `password`.
    pub fn derive(user: &[u8], password: &[u8]) -> Self {
        Md5Verifier { digest: Md5::new().chain_update(password).chain_update(user).finalize().into() }
    }

    /// The text PostgreSQL keeps in `rolpassword`: `md5` + 32 hex digits.
    pub fn to_text(&self) -> VerifierText {
        let mut text = VerifierText::new();
        let _ = text.write_str("md5");
        let _ = text.write_str(hex_str(&hex(self.digest)));
        text
    }

    /// What a client answers to the challenge `salt`.
    pub fn response(&self, salt: [u8; 4]) -> [u8; RESPONSE_LEN] {
        let outer: [u8; 16] = Md5::new().chain_update(hex(self.digest)).chain_update(salt).finalize().into();
        let mut out = [0u8; RESPONSE_LEN];
        out[..3].copy_from_slice(b"md5");
        out[3..].copy_from_slice(&hex(outer));
        out
    }

    /// Whether a client's PasswordMessage answers the challenge `salt`
    /// correctly, compared in constant time.
    pub fn verify_response(&self, salt: [u8; 4], response: &[u8]) -> bool {
        constant_time_eq(&self.response(salt), response)
    }
}

/// The client's answer to AuthenticationMD5Password: `"md5" +
/// hex(md5(hex(md5(password + user)) + salt))`.
pub fn client_response(user: &[u8], password: &[u8], salt: [u8; 4]) -> [u8; RESPONSE_LEN] {
    Md5Verifier::derive(user, password).response(salt)
}

impl fmt::Debug for Md5Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digest is password-equivalent for MD5 logins: keep it out of logs.
        f.write_str("Md5Verifier(..)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Md5Verifier {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Md5Verifier(..)")
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex(bytes: [u8; 16]) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    out
}

fn hex_str(hex: &[u8; 32]) -> &str {
    core::str::from_utf8(hex).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_verifier_and_response() {
        // From PostgreSQL 15 (fixtures/pg_verifiers.tsv).
        let v = Md5Verifier::parse("md5ac833357757ae90cce38f0d7a2f43144").unwrap();
        assert_eq!(v, Md5Verifier::derive(b"md5_a", b"correct horse battery staple"));
        assert_eq!(v.to_text(), "md5ac833357757ae90cce38f0d7a2f43144");
        // Checked against Python's hashlib.
        let r = client_response(b"bob", b"secret", [1, 2, 3, 4]);
        assert_eq!(&r, b"md5f21dfe33ff3a9e03dbc3e008251fe5cc");
        let bob = Md5Verifier::derive(b"bob", b"secret");
        assert!(bob.verify_response([1, 2, 3, 4], &r));
        assert!(!bob.verify_response([1, 2, 3, 5], &r));
        assert!(!bob.verify_response([1, 2, 3, 4], &r[..34]));
        assert_eq!(std::format!("{bob:?}"), "Md5Verifier(..)");
    }

    #[test]
    fn malformed_verifiers() {
        for bad in [
            "",
            "md5",
            "md5ac833357757ae90cce38f0d7a2f4314",
            "md5ac833357757ae90cce38f0d7a2f43144a",
            "md6ac833357757ae90cce38f0d7a2f43144",
            "md5ac833357757ae90cce38f0d7a2f4314g",
        ] {
            assert_eq!(Md5Verifier::parse(bad), Err(VerifierError::Malformed), "{bad}");
        }
    }
}
