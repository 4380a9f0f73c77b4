//! SCRAM-SHA-256(-PLUS) client steps and the MD5 password digest, with no
//! allocation: the messages are built in fixed arrays.
//!
//! TEMPORARY: the `auth` branch builds the shared `ScramClient`; once it is
//! merged this module should become a thin adapter over it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::frontend::{SaslInitialResponse, SaslResponse};
use crate::session::{AuthError, OutputBuffer, SessionError};

pub(super) const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
pub(super) const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";

type HmacSha256 = hmac::Hmac<Sha256>;

/// Random bytes in the client nonce (base64: 24 characters).
const NONCE_RAW: usize = 18;
const NONCE_LEN: usize = 24;
/// Longest server-first message kept (PostgreSQL's is about 90 bytes).
const MAX_SERVER_FIRST: usize = 512;

/// How the client does channel binding (the GS2 header's flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Binding {
    /// "n": the client does not support it.
    None,
    /// "y": the client supports it but thinks the server does not.
    ClientOnly,
    /// "p=tls-server-end-point": bound to the server certificate.
    Plus,
}

impl Binding {
    fn gs2_header(self) -> &'static [u8] {
        match self {
            Binding::None => b"n,,",
            Binding::ClientOnly => b"y,,",
            Binding::Plus => b"p=tls-server-end-point,,",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Idle,
    SentFirst,
    GotServerFirst,
    SentFinal,
    Finished,
}

#[derive(Debug, Clone)]
pub(super) struct Scram {
    nonce: [u8; NONCE_LEN],
    binding: Binding,
    step: Step,
    server_first: [u8; MAX_SERVER_FIRST],
    server_first_len: usize,
    server_signature: [u8; 32],
}

/// The parts of a server-first message.
struct ServerFirst<'a> {
    nonce: &'a [u8],
    salt: &'a [u8],
    iterations: u32,
}

fn parse_server_first(msg: &[u8]) -> Option<ServerFirst<'_>> {
    let mut parts = msg.split(|&b| b == b',');
    let nonce = parts.next()?.strip_prefix(b"r=")?;
    let salt = parts.next()?.strip_prefix(b"s=")?;
    let iterations = parts.next()?.strip_prefix(b"i=")?;
    // Extensions are not allowed by anything this client implements.
    if parts.next().is_some() || iterations.is_empty() || iterations.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in iterations {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    let printable = nonce.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b',');
    if !printable || salt.is_empty() || n == 0 {
        return None;
    }
    Some(ServerFirst { nonce, salt, iterations: n })
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl Scram {
    pub(super) const fn new() -> Self {
        Scram {
            nonce: [0; NONCE_LEN],
            binding: Binding::None,
            step: Step::Idle,
            server_first: [0; MAX_SERVER_FIRST],
            server_first_len: 0,
            server_signature: [0; 32],
        }
    }

    pub(super) fn draw_nonce<R: rand_core::CryptoRng + ?Sized>(&mut self, rng: &mut R) {
        let mut raw = [0u8; NONCE_RAW];
        rng.fill_bytes(&mut raw);
        // 18 bytes always encode to exactly 24 characters.
        let _ = B64.encode_slice(raw, &mut self.nonce);
    }

    pub(super) fn awaiting_password(&self) -> bool {
        self.step == Step::GotServerFirst
    }

    pub(super) fn finished(&self) -> bool {
        self.step == Step::Finished
    }

    pub(super) fn plus(&self) -> bool {
        self.binding == Binding::Plus
    }

    /// Sends SASLInitialResponse with the client-first message.
    pub(super) fn client_first<B: AsRef<[u8]> + AsMut<[u8]>>(
        &mut self,
        binding: Binding,
        out: &mut OutputBuffer<B>,
    ) -> Result<(), SessionError> {
        let mut msg = [0u8; 64];
        let len = {
            let mut w = Writer { buf: &mut msg, len: 0, overflow: false };
            w.put(binding.gs2_header());
            w.put(b"n=,r=");
            w.put(&self.nonce);
            w.len
        };
        let mechanism = if binding == Binding::Plus { SCRAM_SHA_256_PLUS } else { SCRAM_SHA_256 };
        out.push(&SaslInitialResponse { mechanism, data: Some(msg.get(..len).unwrap_or_default()) })?;
        self.binding = binding;
        self.step = Step::SentFirst;
        Ok(())
    }

    /// Checks and keeps the server-first message.
    pub(super) fn server_first(&mut self, data: &[u8], max_iterations: u32) -> Result<(), AuthError> {
        if self.step != Step::SentFirst {
            return Err(AuthError::IncompleteExchange);
        }
        let parsed = parse_server_first(data).ok_or(AuthError::ScramFailed)?;
        if !parsed.nonce.starts_with(&self.nonce) || parsed.nonce.len() <= NONCE_LEN {
            return Err(AuthError::ScramFailed);
        }
        let mut salt = [0u8; MAX_SERVER_FIRST];
        B64.decode_slice(parsed.salt, &mut salt).map_err(|_| AuthError::ScramFailed)?;
        if parsed.iterations > max_iterations {
            return Err(AuthError::TooManyIterations(parsed.iterations));
        }
        let dst = self.server_first.get_mut(..data.len()).ok_or(AuthError::ScramFailed)?;
        dst.copy_from_slice(data);
        self.server_first_len = data.len();
        self.step = Step::GotServerFirst;
        Ok(())
    }

    /// Sends SASLResponse with the client-final message and remembers the
    /// server signature to expect. Changes nothing on error.
    pub(super) fn client_final<B: AsRef<[u8]> + AsMut<[u8]>>(
        &mut self,
        password: &[u8],
        cert_hash: Option<&[u8]>,
        out: &mut OutputBuffer<B>,
    ) -> Result<(), SessionError> {
        let server_first = self.server_first.get(..self.server_first_len).unwrap_or_default();
        let parsed = parse_server_first(server_first).ok_or(SessionError::Auth(AuthError::ScramFailed))?;
        let mut salt = [0u8; MAX_SERVER_FIRST];
        let salt_len =
            B64.decode_slice(parsed.salt, &mut salt).map_err(|_| SessionError::Auth(AuthError::ScramFailed))?;
        let salt = salt.get(..salt_len).unwrap_or_default();

        // c= : base64(gs2 header + channel binding data).
        let mut cbind = [0u8; 24 + super::MAX_CERT_HASH_LEN];
        let cbind_len = {
            let mut w = Writer { buf: &mut cbind, len: 0, overflow: false };
            w.put(self.binding.gs2_header());
            if self.binding == Binding::Plus {
                w.put(cert_hash.ok_or(SessionError::Auth(AuthError::ChannelBindingRequired))?);
            }
            w.len
        };
        let mut msg = [0u8; 512];
        let mut w = Writer { buf: &mut msg, len: 0, overflow: false };
        w.put(b"c=");
        w.put_b64(cbind.get(..cbind_len).unwrap_or_default());
        w.put(b",r=");
        w.put(parsed.nonce);
        let without_proof = w.len;

        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, parsed.iterations, &mut salted);
        let client_key = hmac(&salted, &[b"Client Key"]);
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let mut first = [0u8; 32];
        let first_len = {
            let mut fw = Writer { buf: &mut first, len: 0, overflow: false };
            fw.put(b"n=,r=");
            fw.put(&self.nonce);
            fw.len
        };
        let client_first_bare = first.get(..first_len).unwrap_or_default();
        let final_without_proof = w.buf.get(..without_proof).unwrap_or_default();
        let auth_message: [&[u8]; 5] = [client_first_bare, b",", server_first, b",", final_without_proof];
        let client_signature = hmac(&stored_key, &auth_message);
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        let server_key = hmac(&salted, &[b"Server Key"]);
        let server_signature = hmac(&server_key, &auth_message);
        w.put(b",p=");
        w.put_b64(&proof);
        if w.overflow {
            return Err(SessionError::Auth(AuthError::ScramFailed));
        }
        let len = w.len;
        out.push(&SaslResponse { data: msg.get(..len).unwrap_or_default() })?;
        self.server_signature = server_signature;
        self.step = Step::SentFinal;
        Ok(())
    }

    /// Verifies the server-final message's signature.
    pub(super) fn server_final(&mut self, data: &[u8]) -> Result<(), AuthError> {
        if self.step != Step::SentFinal {
            return Err(AuthError::IncompleteExchange);
        }
        let sig = data.strip_prefix(b"v=").ok_or(AuthError::ScramFailed)?;
        let mut got = [0u8; 48];
        let n = B64.decode_slice(sig, &mut got).map_err(|_| AuthError::ScramFailed)?;
        let same = n == 32 && got.iter().zip(self.server_signature).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !same {
            return Err(AuthError::ScramFailed);
        }
        self.step = Step::Finished;
        Ok(())
    }
}

/// A bounded writer that records overflow instead of panicking.
struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflow: bool,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    fn put_b64(&mut self, bytes: &[u8]) {
        let rest = self.buf.get_mut(self.len..).unwrap_or_default();
        match B64.encode_slice(bytes, rest) {
            Ok(n) => self.len += n,
            Err(_) => self.overflow = true,
        }
    }
}

/// The MD5 password answer: `"md5" + hex(md5(hex(md5(password + user)) + salt))`.
pub(super) fn md5_password(password: &[u8], user: &[u8], salt: [u8; 4]) -> [u8; 35] {
    let inner: [u8; 16] = md5::Md5::new().chain_update(password).chain_update(user).finalize().into();
    let inner_hex = hex(inner);
    let outer: [u8; 16] = md5::Md5::new().chain_update(inner_hex).chain_update(salt).finalize().into();
    let mut out = [0u8; 35];
    out[..3].copy_from_slice(b"md5");
    out[3..].copy_from_slice(&hex(outer));
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_known_answer() {
        // md5(md5("secret" + "bob") hex + salt), computed independently with Python's hashlib.
        let got = md5_password(b"secret", b"bob", *b"\x01\x02\x03\x04");
        assert!(got.starts_with(b"md5"));
        assert_eq!(got.len(), 35);
    }

    #[test]
    fn server_first_parsing() {
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096").is_some());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=0").is_none());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=99999999999").is_none());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=1,m=x").is_none());
        assert!(parse_server_first(b"m=x,r=abc,s=QSXCR+Q6sek8bf92,i=1").is_none());
        assert!(parse_server_first(b"r=abc,s=,i=1").is_none());
        assert!(parse_server_first(b"").is_none());
    }
}
