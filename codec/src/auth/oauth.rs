//! OAUTHBEARER (RFC 7628), the SASL mechanism of PostgreSQL 18's `oauth`
//! authentication.
//!
//! The client's one message is `n,,` + `\x01` + `key=value\x01` pairs +
//! `\x01`, where `auth=Bearer <token>` carries the token. An empty `auth`
//! asks for the server's discovery document. A server that refuses the token
//! (or answers the discovery request) sends a JSON error document in
//! SASLContinue, waits for the client's single `\x01`, then fails the login.
//! A server that accepts sends AuthenticationOk (no SASLFinal).

use core::fmt::{self, Write as _};
use core::ops::Deref;

use super::{SaslError, Writer};

/// The mechanism name.
pub const OAUTHBEARER: &str = "OAUTHBEARER";
/// The key/value separator, and the client's whole answer to an error.
pub const KVSEP: u8 = 0x01;

/// What a client's OAUTHBEARER initial response asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OAuthRequest<'a> {
    /// A syntactically valid bearer token: validate it (issuer, audience,
    /// expiry, scope, and that it maps to the requested role).
    Token(&'a str),
    /// An empty `auth` value: the client wants the discovery document. The
    /// login fails after it is sent.
    Discovery,
    /// An `auth` value that is not `Bearer <b64token>`. PostgreSQL treats it
    /// as a refused token (and logs it without echoing the value).
    InvalidToken,
}

/// Parses a client's initial response (RFC 7628 section 3.1) the way
/// PostgreSQL 18 does: GS2 flag `n` or `y` (no channel binding, no
/// authorization identity), key/value pairs (unknown keys ignored, `auth`
/// exactly once), final separator.
pub fn parse_client_response(message: &[u8]) -> Result<OAuthRequest<'_>, SaslError> {
    let malformed = SaslError::MalformedOAuth;
    if message.is_empty() || message.contains(&0) {
        return Err(malformed);
    }
    let rest = match message {
        [b'n' | b'y', b',', rest @ ..] => rest,
        _ => return Err(malformed),
    };
    let rest = match rest {
        [b'a', ..] => return Err(SaslError::AuthzidUnsupported),
        [b',', KVSEP, rest @ ..] => rest,
        _ => return Err(malformed),
    };
    let mut auth = None;
    let mut pairs = rest;
    loop {
        let end = pairs.iter().position(|&b| b == KVSEP).ok_or(malformed)?;
        let (pair, after) = (&pairs[..end], &pairs[end + 1..]);
        if pair.is_empty() {
            // The empty pair ends the list, and the message.
            if !after.is_empty() {
                return Err(malformed);
            }
            break;
        }
        let eq = pair.iter().position(|&b| b == b'=').ok_or(malformed)?;
        let (key, value) = (&pair[..eq], &pair[eq + 1..]);
        let value_ok = value.iter().all(|&b| (0x21..=0x7e).contains(&b) || matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if key.is_empty() || !key.iter().all(u8::is_ascii_alphabetic) || !value_ok {
            return Err(malformed);
        }
        if key == b"auth" {
            if auth.is_some() {
                return Err(malformed);
            }
            auth = Some(value);
        }
        pairs = after;
    }
    let auth = auth.ok_or(malformed)?;
    Ok(bearer_token(auth))
}

/// RFC 6750's `credentials = "Bearer" 1*SP b64token`, scheme case-insensitive.
fn bearer_token(auth: &[u8]) -> OAuthRequest<'_> {
    if auth.is_empty() {
        return OAuthRequest::Discovery;
    }
    let Some((scheme, token)) = auth.split_at_checked(7) else {
        return OAuthRequest::InvalidToken;
    };
    if !scheme.eq_ignore_ascii_case(b"Bearer ") {
        return OAuthRequest::InvalidToken;
    }
    let token = &token[token.iter().take_while(|&&b| b == b' ').count()..];
    let body_len = token.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)));
    let body_len = body_len.unwrap_or(token.len());
    let valid = body_len > 0 && token[body_len..].iter().all(|&b| b == b'=');
    match core::str::from_utf8(token) {
        Ok(token) if valid => OAuthRequest::Token(token),
        _ => OAuthRequest::InvalidToken,
    }
}

/// Writes a client's initial response carrying `token` into `out` and
/// returns its length. An empty token asks for the discovery document.
pub fn write_client_response(token: &str, out: &mut [u8]) -> Result<usize, SaslError> {
    let mut w = Writer::new(out);
    w.put(b"n,,\x01auth=");
    if !token.is_empty() {
        w.put(b"Bearer ");
        w.put(token.as_bytes());
    }
    w.put(b"\x01\x01");
    w.finish()
}

/// Whether a message is the client's acknowledgement of an error document.
pub fn is_error_acknowledgement(message: &[u8]) -> bool {
    message == [KVSEP]
}

/// The JSON error document a server sends when it refuses a token (RFC 7628
/// section 3.2.2), as PostgreSQL 18 writes it: status `invalid_token`, the
/// OpenID discovery URL and the scope. Fixed size; derefs to `&str`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryDocument {
    bytes: [u8; DiscoveryDocument::CAPACITY],
    len: u16,
}

impl DiscoveryDocument {
    /// The longest document held.
    pub const CAPACITY: usize = 1024;

    /// The document for `issuer` (`/.well-known/openid-configuration` is
    /// appended unless it already names a `/.well-known/` URL) and `scope`
    /// (space-separated). Strings are JSON-escaped.
    pub fn new(issuer: &str, scope: &str) -> Result<Self, SaslError> {
        let mut doc = DiscoveryDocument { bytes: [0; Self::CAPACITY], len: 0 };
        let well_known = if issuer.contains("/.well-known/") { "" } else { "/.well-known/openid-configuration" };
        let written = (|| {
            doc.write_str("{ \"status\": \"invalid_token\", \"openid-configuration\": \"")?;
            doc.write_json_escaped(issuer)?;
            doc.write_str(well_known)?;
            doc.write_str("\", \"scope\": \"")?;
            doc.write_json_escaped(scope)?;
            doc.write_str("\" }")
        })();
        written.map_err(|_| SaslError::TooLong)?;
        Ok(doc)
    }

    fn write_json_escaped(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '"' => self.write_str("\\\"")?,
                '\\' => self.write_str("\\\\")?,
                '\n' => self.write_str("\\n")?,
                '\r' => self.write_str("\\r")?,
                '\t' => self.write_str("\\t")?,
                '\u{8}' => self.write_str("\\b")?,
                '\u{c}' => self.write_str("\\f")?,
                c if u32::from(c) < 0x20 => write!(self, "\\u{:04x}", u32::from(c))?,
                c => self.write_char(c)?,
            }
        }
        Ok(())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.bytes.get(..usize::from(self.len)).unwrap_or_default()).unwrap_or_default()
    }
}

impl fmt::Write for DiscoveryDocument {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let at = usize::from(self.len);
        let dst = self.bytes.get_mut(at..at + s.len()).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len() as u16;
        Ok(())
    }
}

impl Deref for DiscoveryDocument {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for DiscoveryDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for DiscoveryDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_responses() {
        let ok = parse_client_response(b"n,,\x01auth=Bearer abc.DEF-_~+/==\x01\x01");
        assert_eq!(ok, Ok(OAuthRequest::Token("abc.DEF-_~+/==")));
        // Scheme is case-insensitive; extra spaces and unknown keys are fine.
        let ok = parse_client_response(b"y,,\x01host=db\x01auth=bEaReR   tok\x01port=5432\x01\x01");
        assert_eq!(ok, Ok(OAuthRequest::Token("tok")));
        assert_eq!(parse_client_response(b"n,,\x01auth=\x01\x01"), Ok(OAuthRequest::Discovery));
        for invalid in [
            &b"n,,\x01auth=Basic abc\x01\x01"[..],
            b"n,,\x01auth=Bearer \x01\x01",
            b"n,,\x01auth=Bearer a b\x01\x01",
            b"n,,\x01auth=Bearer a=b\x01\x01",
            b"n,,\x01auth=Bear\x01\x01",
        ] {
            assert_eq!(parse_client_response(invalid), Ok(OAuthRequest::InvalidToken), "{invalid:?}");
        }
        assert_eq!(parse_client_response(b"n,a=x,\x01auth=\x01\x01"), Err(SaslError::AuthzidUnsupported));
        for bad in [
            &b""[..],
            b"\x01",
            b"p=tls-server-end-point,,\x01auth=\x01\x01",
            b"n,,auth=\x01\x01",
            b"n,,\x01\x01",
            b"n,,\x01auth=x\x01",
            b"n,,\x01auth=x\x01auth=y\x01\x01",
            b"n,,\x01=x\x01\x01",
            b"n,,\x01a1=x\x01auth=\x01\x01",
            b"n,,\x01noequals\x01\x01",
            b"n,,\x01auth=\x02\x01\x01",
            b"n,,\x01auth=\x01\x01extra",
            b"n,,\x01auth=\0\x01\x01",
        ] {
            assert_eq!(parse_client_response(bad), Err(SaslError::MalformedOAuth), "{bad:?}");
        }
    }

    #[test]
    fn client_response_round_trip() {
        let mut out = [0u8; 64];
        let n = write_client_response("tok.en", &mut out).unwrap();
        assert_eq!(&out[..n], b"n,,\x01auth=Bearer tok.en\x01\x01");
        assert_eq!(parse_client_response(&out[..n]), Ok(OAuthRequest::Token("tok.en")));
        let n = write_client_response("", &mut out).unwrap();
        assert_eq!(parse_client_response(&out[..n]), Ok(OAuthRequest::Discovery));
        assert_eq!(write_client_response(&"x".repeat(64), &mut out), Err(SaslError::TooLong));
        assert!(is_error_acknowledgement(b"\x01"));
        assert!(!is_error_acknowledgement(b"\x01\x01"));
    }

    #[test]
    fn discovery_document_like_postgres() {
        let doc = DiscoveryDocument::new("https://issuer.example", "openid pg").unwrap();
        assert_eq!(
            &*doc,
            r#"{ "status": "invalid_token", "openid-configuration": "https://issuer.example/.well-known/openid-configuration", "scope": "openid pg" }"#
        );
        let doc =
            DiscoveryDocument::new("https://i.example/.well-known/oauth-authorization-server", "a\"b\\\n\x01").unwrap();
        assert!(
            doc.ends_with(r#""https://i.example/.well-known/oauth-authorization-server", "scope": "a\"b\\\n\u0001" }"#),
            "{doc}"
        );
        assert_eq!(DiscoveryDocument::new(&"x".repeat(1024), ""), Err(SaslError::TooLong));
    }
}
