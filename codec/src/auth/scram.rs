//! SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), as PostgreSQL
//! speaks them.
//!
//! - [`ScramVerifier`]: what the server stores,
//!   `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64).
//! - [`ScramServer`]: the server's side of one exchange.
//! - [`ScramClient`]: the client's side of one exchange.
//!
//! PostgreSQL's dialect: the user name in the client-first message is
//! ignored (the startup packet's counts; libpq sends `n=`), no authorization
//! identity, and the only channel binding is `tls-server-end-point` (the hash
//! of the server's TLS certificate, RFC 5929).
//!
//! Passwords go through SASLprep (RFC 4013) with the `saslprep` feature, as
//! PostgreSQL and libpq do; when SASLprep fails (or without the feature) the
//! raw bytes are used, which is PostgreSQL's own fallback. ASCII passwords
//! without control characters are the same either way.

use core::fmt::{self, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::{SaslError, VerifierError, VerifierText, Writer, constant_time_eq};

/// The mechanism without channel binding.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// The mechanism bound to the TLS channel (`tls-server-end-point`).
pub const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";
/// PostgreSQL's default iteration count (`scram_iterations`).
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length for new verifiers.
pub const DEFAULT_SALT_LEN: usize = 16;
/// The longest salt kept in a [`ScramVerifier`].
pub const MAX_SALT_LEN: usize = 64;
/// The longest `tls-server-end-point` hash (SHA-512).
pub const MAX_CERT_HASH_LEN: usize = 64;
/// The longest client nonce accepted or made (libpq sends 24 characters).
pub const MAX_NONCE_LEN: usize = 64;

/// Random bytes in a nonce, as PostgreSQL draws them; 24 base64 characters.
const NONCE_RAW_LEN: usize = 18;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
/// Longest client-first-message-bare kept by the server.
const MAX_CLIENT_FIRST_BARE: usize = 256;
/// Longest server-first message (either side).
const MAX_SERVER_FIRST: usize = 512;
/// The GS2 header of a -PLUS exchange.
const GS2_PLUS: &[u8] = b"p=tls-server-end-point,,";

type HmacSha256 = hmac::Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; KEY_LEN] {
    // HMAC takes keys of any length, so this never fails.
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        return [0; KEY_LEN];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Runs `f` on the password after SASLprep, or on the raw bytes when
/// SASLprep is unavailable or rejects it (PostgreSQL's fallback).
fn with_prepared_password<T>(password: &[u8], f: impl FnOnce(&[u8]) -> T) -> T {
    #[cfg(feature = "saslprep")]
    if let Ok(text) = core::str::from_utf8(password)
        && let Ok(prepared) = stringprep::saslprep(text)
    {
        return f(prepared.as_bytes());
    }
    f(password)
}

/// PBKDF2-HMAC-SHA-256 of the prepared password: RFC 5802's SaltedPassword.
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    with_prepared_password(password, |p| pbkdf2::pbkdf2_hmac::<Sha256>(p, salt, iterations, &mut out));
    out
}

/// Decodes base64 into `out`, returning the decoded part.
fn b64_decode<'o>(text: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    let n = B64.decode_slice(text, out).ok()?;
    out.get(..n)
}

/// Printable ASCII except `,`: what RFC 5802 allows in a nonce.
fn is_valid_nonce(nonce: &[u8]) -> bool {
    !nonce.is_empty() && nonce.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Splits `attr=value` off the front of a comma-separated message: the
/// value and what follows the comma (empty at the end).
fn attribute(input: &[u8], name: u8) -> Option<(&[u8], &[u8])> {
    let rest = input.strip_prefix(&[name, b'='])?;
    match rest.iter().position(|&b| b == b',') {
        // A comma must be followed by another attribute.
        Some(at) if at + 1 == rest.len() => None,
        Some(at) => Some((&rest[..at], &rest[at + 1..])),
        None => Some((rest, &[])),
    }
}

/// Any `x=value` attribute: its name, value and the rest.
fn any_attribute(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let &name = input.first()?;
    if !name.is_ascii_alphabetic() {
        return None;
    }
    let (value, rest) = attribute(input, name)?;
    Some((name, value, rest))
}

fn parse_iterations(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    (n > 0).then_some(n)
}

// ---------------------------------------------------------------------------
// Verifier

/// A SCRAM-SHA-256 verifier: salt, iteration count, StoredKey and ServerKey.
/// Fixed size, no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ScramVerifier {
    iterations: u32,
    salt: [u8; MAX_SALT_LEN],
    salt_len: u8,
    stored_key: [u8; KEY_LEN],
    server_key: [u8; KEY_LEN],
}

impl ScramVerifier {
    /// Parses PostgreSQL's text form,
    /// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    pub fn parse(text: &str) -> Result<Self, VerifierError> {
        let malformed = VerifierError::Malformed;
        let rest = text.strip_prefix("SCRAM-SHA-256$").ok_or(malformed)?;
        let (params, keys) = rest.split_once('$').ok_or(malformed)?;
        let (iterations, salt) = params.split_once(':').ok_or(malformed)?;
        let (stored, server) = keys.split_once(':').ok_or(malformed)?;
        let iterations = parse_iterations(iterations.as_bytes()).ok_or(malformed)?;
        let mut salt_buf = [0u8; MAX_SALT_LEN + 3];
        let salt = b64_decode(salt.as_bytes(), &mut salt_buf).ok_or(malformed)?;
        let mut verifier = ScramVerifier::from_parts(iterations, salt, [0; KEY_LEN], [0; KEY_LEN])?;
        let mut key = [0u8; KEY_LEN + 3];
        for (text, dst) in [(stored, &mut verifier.stored_key), (server, &mut verifier.server_key)] {
            let decoded = b64_decode(text.as_bytes(), &mut key).ok_or(malformed)?;
            *dst = decoded.try_into().map_err(|_| malformed)?;
        }
        Ok(verifier)
    }

    /// The verifier for `password` with `salt` (1 to [`MAX_SALT_LEN`] bytes)
    /// and `iterations` (at least 1): what PostgreSQL stores for it.
    pub fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<Self, VerifierError> {
        // Check the parameters before the expensive part.
        ScramVerifier::from_parts(iterations, salt, [0; KEY_LEN], [0; KEY_LEN])?;
        let salted = salted_password(password, salt, iterations);
        let client_key = hmac(&salted, &[b"Client Key"]);
        let stored_key = Sha256::digest(client_key).into();
        let server_key = hmac(&salted, &[b"Server Key"]);
        ScramVerifier::from_parts(iterations, salt, stored_key, server_key)
    }

    /// A verifier for `password` with PostgreSQL's defaults: a random
    /// 16-byte salt from `rng` and 4096 iterations. Store
    /// [`to_text`](Self::to_text) as the role's password.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(password: &[u8], rng: &mut R) -> Self {
        let mut salt = [0u8; DEFAULT_SALT_LEN];
        rng.fill_bytes(&mut salt);
        let salted = salted_password(password, &salt, DEFAULT_ITERATIONS);
        let client_key = hmac(&salted, &[b"Client Key"]);
        let mut verifier = ScramVerifier {
            iterations: DEFAULT_ITERATIONS,
            salt: [0; MAX_SALT_LEN],
            salt_len: DEFAULT_SALT_LEN as u8,
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac(&salted, &[b"Server Key"]),
        };
        verifier.salt[..DEFAULT_SALT_LEN].copy_from_slice(&salt);
        verifier
    }

    fn from_parts(
        iterations: u32,
        salt: &[u8],
        stored_key: [u8; KEY_LEN],
        server_key: [u8; KEY_LEN],
    ) -> Result<Self, VerifierError> {
        if iterations == 0 {
            return Err(VerifierError::InvalidIterations);
        }
        if salt.is_empty() || salt.len() > MAX_SALT_LEN {
            return Err(VerifierError::InvalidSalt);
        }
        let mut verifier =
            ScramVerifier { iterations, salt: [0; MAX_SALT_LEN], salt_len: salt.len() as u8, stored_key, server_key };
        verifier.salt[..salt.len()].copy_from_slice(salt);
        Ok(verifier)
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        self.salt.get(..usize::from(self.salt_len)).unwrap_or_default()
    }

    /// StoredKey: `SHA-256(HMAC(SaltedPassword, "Client Key"))`.
    pub fn stored_key(&self) -> &[u8; 32] {
        &self.stored_key
    }

    /// ServerKey: `HMAC(SaltedPassword, "Server Key")`.
    pub fn server_key(&self) -> &[u8; 32] {
        &self.server_key
    }

    /// Whether `password` is the one this verifier was made from (one PBKDF2
    /// run; keys compared in constant time).
    pub fn verify_password(&self, password: &[u8]) -> bool {
        let salted = salted_password(password, self.salt(), self.iterations);
        let stored_key: [u8; KEY_LEN] = Sha256::digest(hmac(&salted, &[b"Client Key"])).into();
        let server_key = hmac(&salted, &[b"Server Key"]);
        constant_time_eq(&stored_key, &self.stored_key) & constant_time_eq(&server_key, &self.server_key)
    }

    /// The text form PostgreSQL stores in `rolpassword`.
    pub fn to_text(&self) -> VerifierText {
        let mut text = VerifierText::new();
        let _ = write!(text, "{self}");
        text
    }
}

impl fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 64 bytes of salt are 88 base64 characters.
        let mut buf = [0u8; 88];
        write!(f, "SCRAM-SHA-256${}:", self.iterations)?;
        for (i, part) in [self.salt(), &self.stored_key[..], &self.server_key[..]].into_iter().enumerate() {
            let n = B64.encode_slice(part, &mut buf).map_err(|_| fmt::Error)?;
            f.write_str(core::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)?;
            f.write_str(match i {
                0 => "$",
                1 => ":",
                _ => "",
            })?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys let anyone log in to this server: keep them out of logs.
        f.debug_struct("ScramVerifier").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for ScramVerifier {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "ScramVerifier {{ iterations: {} }}", self.iterations)
    }
}

// ---------------------------------------------------------------------------
// Server

/// The GS2 channel-binding flag of a client-first message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChannelBindingFlag {
    /// `n`: the client does not support channel binding.
    Unsupported,
    /// `y`: the client supports it but thinks the server does not.
    ClientOnly,
    /// `p=tls-server-end-point`: bound to the server certificate.
    TlsServerEndPoint,
}

impl ChannelBindingFlag {
    fn gs2_header(self) -> &'static [u8] {
        match self {
            ChannelBindingFlag::Unsupported => b"n,,",
            ChannelBindingFlag::ClientOnly => b"y,,",
            ChannelBindingFlag::TlsServerEndPoint => GS2_PLUS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerStep {
    ClientFirst,
    ClientFinal,
    Done,
}

/// The server side of one SCRAM-SHA-256(-PLUS) exchange, sans-IO:
/// [`mechanisms`](Self::mechanisms) to offer in AuthenticationSASL, then
/// [`client_first`](Self::client_first) (answer with SASLContinue), then
/// [`client_final`](Self::client_final) (answer with SASLFinal, then
/// AuthenticationOk). Any error ends the exchange.
///
/// About 1 KiB, fixed size; nothing allocates.
#[derive(Clone)]
pub struct ScramServer {
    verifier: ScramVerifier,
    /// Makes every proof fail: PostgreSQL's mock exchange for a role
    /// without a SCRAM secret.
    doomed: bool,
    server_nonce: [u8; MAX_NONCE_LEN],
    server_nonce_len: u8,
    /// The `tls-server-end-point` hash; -PLUS is offered when present.
    cert_hash: [u8; MAX_CERT_HASH_LEN],
    cert_hash_len: u8,
    flag: ChannelBindingFlag,
    step: ServerStep,
    client_first_bare: [u8; MAX_CLIENT_FIRST_BARE],
    client_first_bare_len: u16,
    /// Where the client nonce sits in `client_first_bare`.
    client_nonce: (u16, u16),
    server_first: [u8; MAX_SERVER_FIRST],
    server_first_len: u16,
}

impl ScramServer {
    /// An exchange against `verifier`. `tls_server_end_point` is the hash of
    /// the server certificate when the session runs on TLS and the driver
    /// knows it: SCRAM-SHA-256-PLUS is then offered (first, as PostgreSQL
    /// does). `rng` draws the server nonce (18 bytes, base64).
    pub fn new<R: rand_core::CryptoRng + ?Sized>(
        verifier: ScramVerifier,
        tls_server_end_point: Option<&[u8]>,
        rng: &mut R,
    ) -> Result<Self, SaslError> {
        let mut raw = [0u8; NONCE_RAW_LEN];
        rng.fill_bytes(&mut raw);
        let mut nonce = [0u8; NONCE_LEN];
        // 18 bytes always encode to 24 characters.
        let _ = B64.encode_slice(raw, &mut nonce);
        Self::with_server_nonce(verifier, tls_server_end_point, &nonce)
    }

    /// Like [`new`](Self::new) with a given server nonce (printable ASCII
    /// without `,`, at most 64 bytes): for test vectors. Real exchanges need
    /// a fresh random nonce each time. Fails with `MalformedScram` for a bad
    /// nonce, `TooLong` for a hash that is empty or over 64 bytes.
    pub fn with_server_nonce(
        verifier: ScramVerifier,
        tls_server_end_point: Option<&[u8]>,
        server_nonce: &[u8],
    ) -> Result<Self, SaslError> {
        if !is_valid_nonce(server_nonce) || server_nonce.len() > MAX_NONCE_LEN {
            return Err(SaslError::MalformedScram);
        }
        let hash = tls_server_end_point.unwrap_or_default();
        if hash.len() > MAX_CERT_HASH_LEN || tls_server_end_point == Some(&[]) {
            return Err(SaslError::TooLong);
        }
        let mut server = ScramServer {
            verifier,
            doomed: false,
            server_nonce: [0; MAX_NONCE_LEN],
            server_nonce_len: server_nonce.len() as u8,
            cert_hash: [0; MAX_CERT_HASH_LEN],
            cert_hash_len: hash.len() as u8,
            flag: ChannelBindingFlag::Unsupported,
            step: ServerStep::ClientFirst,
            client_first_bare: [0; MAX_CLIENT_FIRST_BARE],
            client_first_bare_len: 0,
            client_nonce: (0, 0),
            server_first: [0; MAX_SERVER_FIRST],
            server_first_len: 0,
        };
        server.server_nonce[..server_nonce.len()].copy_from_slice(server_nonce);
        server.cert_hash[..hash.len()].copy_from_slice(hash);
        Ok(server)
    }

    /// An exchange that runs to the end and then fails, as PostgreSQL does
    /// for a role with no SCRAM secret (or no role): the client learns
    /// nothing before the proof is refused. The salt is random each time;
    /// a caller hiding which roles exist should instead derive a verifier
    /// from a random password with a salt that is stable per role name.
    pub fn doomed<R: rand_core::CryptoRng + ?Sized>(tls_server_end_point: Option<&[u8]>, rng: &mut R) -> Self {
        let mut mock = ScramVerifier {
            iterations: DEFAULT_ITERATIONS,
            salt: [0; MAX_SALT_LEN],
            salt_len: DEFAULT_SALT_LEN as u8,
            stored_key: [0; KEY_LEN],
            server_key: [0; KEY_LEN],
        };
        rng.fill_bytes(&mut mock.salt[..DEFAULT_SALT_LEN]);
        rng.fill_bytes(&mut mock.stored_key);
        rng.fill_bytes(&mut mock.server_key);
        // An oversized hash only loses -PLUS; the exchange fails anyway.
        let mut server = Self::new(mock, tls_server_end_point, rng)
            .or_else(|_| Self::new(mock, None, rng))
            .unwrap_or_else(|_| unreachable_server(mock));
        server.doomed = true;
        server
    }

    /// The mechanisms to offer in AuthenticationSASL, in preference order.
    pub fn mechanisms(&self) -> &'static [&'static str] {
        if self.offers_plus() { &[SCRAM_SHA_256_PLUS, SCRAM_SHA_256] } else { &[SCRAM_SHA_256] }
    }

    fn offers_plus(&self) -> bool {
        self.cert_hash_len > 0
    }

    /// Whether the client chose SCRAM-SHA-256-PLUS (known after
    /// [`client_first`](Self::client_first)).
    pub fn uses_channel_binding(&self) -> bool {
        self.flag == ChannelBindingFlag::TlsServerEndPoint
    }

    /// Reads the client's SASLInitialResponse (`mechanism` and its data) and
    /// writes the server-first message into `out` (512 bytes always
    /// suffice), returning its length. Send it in AuthenticationSASLContinue.
    pub fn client_first(&mut self, mechanism: &str, message: &[u8], out: &mut [u8]) -> Result<usize, SaslError> {
        if self.step != ServerStep::ClientFirst {
            return Err(SaslError::OutOfOrder);
        }
        self.step = ServerStep::Done;
        let plus = match mechanism {
            SCRAM_SHA_256 => false,
            SCRAM_SHA_256_PLUS if self.offers_plus() => true,
            _ => return Err(SaslError::InvalidMechanism),
        };
        // gs2-cbind-flag
        let (flag, rest) = match message {
            [b'p', b'=', ..] => {
                let (name, rest) = attribute(message, b'p').ok_or(SaslError::MalformedScram)?;
                if !plus {
                    return Err(SaslError::ChannelBindingNegotiation);
                }
                if name != b"tls-server-end-point" {
                    return Err(SaslError::UnsupportedChannelBindingType);
                }
                (ChannelBindingFlag::TlsServerEndPoint, rest)
            }
            [b'y', b',', rest @ ..] => {
                // "y" while we offered -PLUS: someone stripped it (a downgrade).
                if plus || self.offers_plus() {
                    return Err(SaslError::ChannelBindingNegotiation);
                }
                (ChannelBindingFlag::ClientOnly, rest)
            }
            [b'n', b',', rest @ ..] => {
                if plus {
                    return Err(SaslError::ChannelBindingNegotiation);
                }
                (ChannelBindingFlag::Unsupported, rest)
            }
            _ => return Err(SaslError::MalformedScram),
        };
        // authzid: PostgreSQL supports none.
        let bare = match rest {
            [b'a', b'=', ..] => return Err(SaslError::AuthzidUnsupported),
            [b',', bare @ ..] => bare,
            _ => return Err(SaslError::MalformedScram),
        };
        if bare.starts_with(b"m=") {
            return Err(SaslError::ExtensionUnsupported);
        }
        // The user name is ignored: the startup packet's counts.
        let (_user, after_user) = attribute(bare, b'n').ok_or(SaslError::MalformedScram)?;
        let (nonce, mut extensions) = attribute(after_user, b'r').ok_or(SaslError::MalformedScram)?;
        if !is_valid_nonce(nonce) {
            return Err(SaslError::MalformedScram);
        }
        while !extensions.is_empty() {
            extensions = any_attribute(extensions).ok_or(SaslError::MalformedScram)?.2;
        }
        if bare.len() > MAX_CLIENT_FIRST_BARE || nonce.len() > MAX_NONCE_LEN {
            return Err(SaslError::TooLong);
        }
        self.flag = flag;
        self.client_first_bare[..bare.len()].copy_from_slice(bare);
        self.client_first_bare_len = bare.len() as u16;
        let nonce_at = bare.len() - after_user.len() + 2;
        self.client_nonce = (nonce_at as u16, (nonce_at + nonce.len()) as u16);

        let mut w = Writer::new(&mut self.server_first);
        w.put(b"r=");
        w.put(nonce);
        w.put(self.server_nonce.get(..usize::from(self.server_nonce_len)).unwrap_or_default());
        w.put(b",s=");
        w.put_b64(self.verifier.salt());
        w.put(b",i=");
        w.put_u32(self.verifier.iterations);
        let len = w.finish()?;
        self.server_first_len = len as u16;
        let dst = out.get_mut(..len).ok_or(SaslError::TooLong)?;
        dst.copy_from_slice(&self.server_first[..len]);
        self.step = ServerStep::ClientFinal;
        Ok(len)
    }

    /// Reads the client-final message (SASLResponse), checks channel
    /// binding, nonce and proof, and writes the server-final message into
    /// `out` (64 bytes suffice), returning its length: send it in
    /// AuthenticationSASLFinal, then AuthenticationOk.
    /// [`SaslError::InvalidProof`] means a wrong password (28P01).
    pub fn client_final(&mut self, message: &[u8], out: &mut [u8]) -> Result<usize, SaslError> {
        if self.step != ServerStep::ClientFinal {
            return Err(SaslError::OutOfOrder);
        }
        self.step = ServerStep::Done;
        let (cbind, rest) = attribute(message, b'c').ok_or(SaslError::MalformedScram)?;
        let (nonce, mut rest) = attribute(rest, b'r').ok_or(SaslError::MalformedScram)?;
        // Extensions up to the proof, which must come last.
        let proof_at = loop {
            let at = message.len() - rest.len();
            let (name, value, next) = any_attribute(rest).ok_or(SaslError::MalformedScram)?;
            if name == b'p' {
                if !next.is_empty() || rest.len() != 2 + value.len() {
                    return Err(SaslError::MalformedScram);
                }
                break at;
            }
            rest = next;
        };
        let mut proof = [0u8; KEY_LEN + 3];
        let proof: [u8; KEY_LEN] = b64_decode(&message[proof_at + 2..], &mut proof)
            .and_then(|p| p.try_into().ok())
            .ok_or(SaslError::MalformedScram)?;

        // c= must be our GS2 header plus, for -PLUS, the certificate hash.
        let mut expected = [0u8; GS2_PLUS.len() + MAX_CERT_HASH_LEN];
        let mut w = Writer::new(&mut expected);
        w.put(self.flag.gs2_header());
        if self.flag == ChannelBindingFlag::TlsServerEndPoint {
            w.put(self.cert_hash.get(..usize::from(self.cert_hash_len)).unwrap_or_default());
        }
        let expected_len = w.len();
        let mut got = [0u8; GS2_PLUS.len() + MAX_CERT_HASH_LEN + 3];
        let got = b64_decode(cbind, &mut got).ok_or(SaslError::MalformedScram)?;
        if got != &expected[..expected_len] {
            return Err(SaslError::ChannelBindingMismatch);
        }

        let bare = self.client_first_bare.get(..usize::from(self.client_first_bare_len)).unwrap_or_default();
        let client_nonce = bare.get(usize::from(self.client_nonce.0)..usize::from(self.client_nonce.1));
        let server_nonce = self.server_nonce.get(..usize::from(self.server_nonce_len));
        let (Some(client_nonce), Some(server_nonce)) = (client_nonce, server_nonce) else {
            return Err(SaslError::OutOfOrder);
        };
        if nonce.len() != client_nonce.len() + server_nonce.len()
            || !nonce.starts_with(client_nonce)
            || !nonce.ends_with(server_nonce)
        {
            return Err(SaslError::NonceMismatch);
        }

        let server_first = self.server_first.get(..usize::from(self.server_first_len)).unwrap_or_default();
        // The message ends ",p=<proof>": AuthMessage takes what precedes it.
        let without_proof = message.get(..proof_at.saturating_sub(1)).unwrap_or_default();
        let auth_message: [&[u8]; 5] = [bare, b",", server_first, b",", without_proof];
        let client_signature = hmac(&self.verifier.stored_key, &auth_message);
        let mut client_key = proof;
        for (k, s) in client_key.iter_mut().zip(client_signature) {
            *k ^= s;
        }
        let candidate: [u8; KEY_LEN] = Sha256::digest(client_key).into();
        let proof_ok = constant_time_eq(&candidate, &self.verifier.stored_key);
        if !proof_ok || self.doomed {
            return Err(SaslError::InvalidProof);
        }
        let server_signature = hmac(&self.verifier.server_key, &auth_message);
        let mut w = Writer::new(out);
        w.put(b"v=");
        w.put_b64(&server_signature);
        w.finish()
    }
}

/// Unreachable in practice: a generated 24-character nonce and no hash
/// always make a server. Keeps `doomed` free of panics all the same.
fn unreachable_server(verifier: ScramVerifier) -> ScramServer {
    ScramServer {
        verifier,
        doomed: true,
        server_nonce: [b'A'; MAX_NONCE_LEN],
        server_nonce_len: NONCE_LEN as u8,
        cert_hash: [0; MAX_CERT_HASH_LEN],
        cert_hash_len: 0,
        flag: ChannelBindingFlag::Unsupported,
        step: ServerStep::ClientFirst,
        client_first_bare: [0; MAX_CLIENT_FIRST_BARE],
        client_first_bare_len: 0,
        client_nonce: (0, 0),
        server_first: [0; MAX_SERVER_FIRST],
        server_first_len: 0,
    }
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramServer")
            .field("step", &self.step)
            .field("offers_plus", &self.offers_plus())
            .field("flag", &self.flag)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Client

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientStep {
    Start,
    SentFirst,
    GotServerFirst,
    SentFinal,
    Finished,
}

/// The client side of one SCRAM-SHA-256(-PLUS) exchange, sans-IO:
/// [`client_first`](Self::client_first) (send in SASLInitialResponse with
/// [`mechanism`](Self::mechanism)), [`server_first`](Self::server_first)
/// (from SASLContinue), [`client_final`](Self::client_final) (send in
/// SASLResponse), [`server_final`](Self::server_final) (from SASLFinal).
#[derive(Clone)]
pub struct ScramClient {
    nonce: [u8; MAX_NONCE_LEN],
    nonce_len: u8,
    flag: ChannelBindingFlag,
    step: ClientStep,
    client_first_bare: [u8; MAX_CLIENT_FIRST_BARE],
    client_first_bare_len: u16,
    server_first: [u8; MAX_SERVER_FIRST],
    server_first_len: u16,
    server_signature: [u8; KEY_LEN],
}

impl ScramClient {
    /// A client with a fresh nonce: 18 bytes from `rng`, base64.
    pub fn new<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut raw = [0u8; NONCE_RAW_LEN];
        rng.fill_bytes(&mut raw);
        let mut nonce = [0u8; NONCE_LEN];
        let _ = B64.encode_slice(raw, &mut nonce);
        Self::build(&nonce)
    }

    /// A client with a given nonce (printable ASCII without `,`, at most 64
    /// bytes): for test vectors. Real exchanges need a fresh random nonce.
    pub fn with_nonce(nonce: &[u8]) -> Result<Self, SaslError> {
        if !is_valid_nonce(nonce) || nonce.len() > MAX_NONCE_LEN {
            return Err(SaslError::MalformedScram);
        }
        Ok(Self::build(nonce))
    }

    /// A client before its nonce is drawn; only for a machine's initial state.
    pub(crate) fn unstarted() -> Self {
        Self::build(b"")
    }

    fn build(nonce: &[u8]) -> Self {
        let mut client = ScramClient {
            nonce: [0; MAX_NONCE_LEN],
            nonce_len: nonce.len() as u8,
            flag: ChannelBindingFlag::Unsupported,
            step: ClientStep::Start,
            client_first_bare: [0; MAX_CLIENT_FIRST_BARE],
            client_first_bare_len: 0,
            server_first: [0; MAX_SERVER_FIRST],
            server_first_len: 0,
            server_signature: [0; KEY_LEN],
        };
        if let Some(dst) = client.nonce.get_mut(..nonce.len()) {
            dst.copy_from_slice(nonce);
        }
        client
    }

    fn nonce(&self) -> &[u8] {
        self.nonce.get(..usize::from(self.nonce_len)).unwrap_or_default()
    }

    /// The mechanism name to send with the client-first message.
    pub fn mechanism(&self) -> &'static str {
        if self.uses_channel_binding() { SCRAM_SHA_256_PLUS } else { SCRAM_SHA_256 }
    }

    /// Whether the exchange is SCRAM-SHA-256-PLUS.
    pub fn uses_channel_binding(&self) -> bool {
        self.flag == ChannelBindingFlag::TlsServerEndPoint
    }

    /// Whether the server-first message arrived and the password is due.
    pub fn is_awaiting_password(&self) -> bool {
        self.step == ClientStep::GotServerFirst
    }

    /// Whether the server proved it knows the password.
    pub fn is_finished(&self) -> bool {
        self.step == ClientStep::Finished
    }

    /// Writes the client-first message into `out` and returns its length.
    /// `user` may be empty (PostgreSQL ignores it; libpq sends it empty).
    pub fn client_first(&mut self, user: &str, flag: ChannelBindingFlag, out: &mut [u8]) -> Result<usize, SaslError> {
        if self.step != ClientStep::Start {
            return Err(SaslError::OutOfOrder);
        }
        let mut bare = [0u8; MAX_CLIENT_FIRST_BARE];
        let mut w = Writer::new(&mut bare);
        w.put(b"n=");
        // saslname: ',' and '=' are escaped.
        for &b in user.as_bytes() {
            match b {
                b',' => w.put(b"=2C"),
                b'=' => w.put(b"=3D"),
                _ => w.put(&[b]),
            }
        }
        w.put(b",r=");
        w.put(self.nonce());
        let bare_len = w.finish()?;
        let mut w = Writer::new(out);
        w.put(flag.gs2_header());
        w.put(&bare[..bare_len]);
        let len = w.finish()?;
        self.client_first_bare = bare;
        self.client_first_bare_len = bare_len as u16;
        self.flag = flag;
        self.step = ClientStep::SentFirst;
        Ok(len)
    }

    /// Checks and keeps the server-first message. Iteration counts above
    /// `max_iterations` are refused, so a hostile server cannot make the
    /// client burn CPU.
    pub fn server_first(&mut self, message: &[u8], max_iterations: u32) -> Result<(), SaslError> {
        if self.step != ClientStep::SentFirst {
            return Err(SaslError::OutOfOrder);
        }
        let parsed = parse_server_first(message).ok_or(SaslError::MalformedScram)?;
        if !parsed.nonce.starts_with(self.nonce()) || parsed.nonce.len() <= self.nonce().len() {
            return Err(SaslError::NonceMismatch);
        }
        let mut salt = [0u8; MAX_SERVER_FIRST];
        b64_decode(parsed.salt, &mut salt).filter(|s| !s.is_empty()).ok_or(SaslError::MalformedScram)?;
        if parsed.iterations > max_iterations {
            return Err(SaslError::TooManyIterations(parsed.iterations));
        }
        let dst = self.server_first.get_mut(..message.len()).ok_or(SaslError::TooLong)?;
        dst.copy_from_slice(message);
        self.server_first_len = message.len() as u16;
        self.step = ClientStep::GotServerFirst;
        Ok(())
    }

    /// Writes the client-final message (with the proof for `password`) into
    /// `out` and returns its length; remembers the server signature to
    /// expect. `tls_server_end_point` is required for -PLUS. Runs PBKDF2.
    pub fn client_final(
        &mut self,
        password: &[u8],
        tls_server_end_point: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<usize, SaslError> {
        if self.step != ClientStep::GotServerFirst {
            return Err(SaslError::OutOfOrder);
        }
        let server_first = self.server_first.get(..usize::from(self.server_first_len)).unwrap_or_default();
        let parsed = parse_server_first(server_first).ok_or(SaslError::MalformedScram)?;
        let mut salt = [0u8; MAX_SERVER_FIRST];
        let salt = b64_decode(parsed.salt, &mut salt).ok_or(SaslError::MalformedScram)?;

        // c= : base64(gs2 header + channel binding data).
        let mut cbind = [0u8; GS2_PLUS.len() + MAX_CERT_HASH_LEN];
        let mut cw = Writer::new(&mut cbind);
        cw.put(self.flag.gs2_header());
        if self.uses_channel_binding() {
            cw.put(tls_server_end_point.ok_or(SaslError::ChannelBindingNegotiation)?);
        }
        let cbind_len = cw.finish()?;
        let mut w = Writer::new(out);
        w.put(b"c=");
        w.put_b64(&cbind[..cbind_len]);
        w.put(b",r=");
        w.put(parsed.nonce);
        let without_proof = w.len();

        let salted = salted_password(password, salt, parsed.iterations);
        let client_key = hmac(&salted, &[b"Client Key"]);
        let stored_key: [u8; KEY_LEN] = Sha256::digest(client_key).into();
        let bare = self.client_first_bare.get(..usize::from(self.client_first_bare_len)).unwrap_or_default();
        let final_without_proof = w.written().get(..without_proof).unwrap_or_default();
        let auth_message: [&[u8]; 5] = [bare, b",", server_first, b",", final_without_proof];
        let client_signature = hmac(&stored_key, &auth_message);
        let server_key = hmac(&salted, &[b"Server Key"]);
        let server_signature = hmac(&server_key, &auth_message);
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        w.put(b",p=");
        w.put_b64(&proof);
        let len = w.finish()?;
        self.server_signature = server_signature;
        self.step = ClientStep::SentFinal;
        Ok(len)
    }

    /// Checks the server-final message's signature (constant time).
    pub fn server_final(&mut self, message: &[u8]) -> Result<(), SaslError> {
        if self.step != ClientStep::SentFinal {
            return Err(SaslError::OutOfOrder);
        }
        let signature = message.strip_prefix(b"v=").ok_or(SaslError::MalformedScram)?;
        let mut got = [0u8; KEY_LEN + 3];
        let got = b64_decode(signature, &mut got).ok_or(SaslError::MalformedScram)?;
        if !constant_time_eq(got, &self.server_signature) {
            return Err(SaslError::InvalidProof);
        }
        self.step = ClientStep::Finished;
        Ok(())
    }
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient").field("step", &self.step).field("flag", &self.flag).finish_non_exhaustive()
    }
}

/// The parts of a server-first message.
struct ServerFirst<'a> {
    nonce: &'a [u8],
    salt: &'a [u8],
    iterations: u32,
}

fn parse_server_first(message: &[u8]) -> Option<ServerFirst<'_>> {
    if message.starts_with(b"m=") {
        return None;
    }
    let (nonce, rest) = attribute(message, b'r')?;
    let (salt, rest) = attribute(rest, b's')?;
    let (iterations, mut rest) = attribute(rest, b'i')?;
    // Extensions are allowed after the iteration count.
    while !rest.is_empty() {
        rest = any_attribute(rest)?.2;
    }
    if !is_valid_nonce(nonce) || salt.is_empty() {
        return None;
    }
    Some(ServerFirst { nonce, salt, iterations: parse_iterations(iterations)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3.
    const RFC_CLIENT_NONCE: &[u8] = b"rOprNGfwEbeRWgbNEkqO";
    const RFC_SERVER_NONCE: &[u8] = b"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const RFC_CLIENT_FIRST: &[u8] = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const RFC_SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const RFC_CLIENT_FINAL: &[u8] =
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const RFC_SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_verifier() -> ScramVerifier {
        let mut salt = [0u8; 16];
        let salt = b64_decode(b"W22ZaJ0SNY7soEsUEjb6gQ==", &mut salt).unwrap();
        ScramVerifier::derive(b"pencil", salt, 4096).unwrap()
    }

    #[test]
    fn rfc7677_client() {
        let mut client = ScramClient::with_nonce(RFC_CLIENT_NONCE).unwrap();
        let mut out = [0u8; 256];
        let n = client.client_first("user", ChannelBindingFlag::Unsupported, &mut out).unwrap();
        assert_eq!(&out[..n], RFC_CLIENT_FIRST);
        assert_eq!(client.mechanism(), SCRAM_SHA_256);
        client.server_first(RFC_SERVER_FIRST, 4096).unwrap();
        assert!(client.is_awaiting_password());
        let n = client.client_final(b"pencil", None, &mut out).unwrap();
        assert_eq!(&out[..n], RFC_CLIENT_FINAL);
        assert_eq!(client.server_final(b"v=AAAA"), Err(SaslError::InvalidProof));
        client.step = ClientStep::SentFinal;
        client.server_final(RFC_SERVER_FINAL).unwrap();
        assert!(client.is_finished());
    }

    #[test]
    fn rfc7677_server() {
        let mut server = ScramServer::with_server_nonce(rfc_verifier(), None, RFC_SERVER_NONCE).unwrap();
        assert_eq!(server.mechanisms(), [SCRAM_SHA_256]);
        let mut out = [0u8; 512];
        let n = server.client_first(SCRAM_SHA_256, RFC_CLIENT_FIRST, &mut out).unwrap();
        assert_eq!(&out[..n], RFC_SERVER_FIRST);
        let n = server.client_final(RFC_CLIENT_FINAL, &mut out).unwrap();
        assert_eq!(&out[..n], RFC_SERVER_FINAL);
        assert_eq!(server.client_final(RFC_CLIENT_FINAL, &mut out), Err(SaslError::OutOfOrder));
    }

    #[test]
    fn rfc7677_wrong_password_and_tampering() {
        let verifier = ScramVerifier::derive(b"pencil!", rfc_verifier().salt(), 4096).unwrap();
        let run = |verifier, final_message: &[u8]| {
            let mut server = ScramServer::with_server_nonce(verifier, None, RFC_SERVER_NONCE).unwrap();
            let mut out = [0u8; 512];
            server.client_first(SCRAM_SHA_256, RFC_CLIENT_FIRST, &mut out).unwrap();
            server.client_final(final_message, &mut out)
        };
        assert_eq!(run(verifier, RFC_CLIENT_FINAL), Err(SaslError::InvalidProof));
        let good = rfc_verifier();
        let other_nonce = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(run(good, other_nonce), Err(SaslError::NonceMismatch));
        let y_binding = b"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(run(good, y_binding), Err(SaslError::ChannelBindingMismatch));
        let flipped = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(run(good, flipped), Err(SaslError::InvalidProof));
        let short = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzb";
        assert_eq!(run(good, short), Err(SaslError::MalformedScram));
        let trailing = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1";
        assert_eq!(run(good, trailing), Err(SaslError::MalformedScram));
        // An extension before the proof is allowed (and is part of AuthMessage).
        let ext = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(run(good, ext), Err(SaslError::InvalidProof));
    }

    #[test]
    fn client_first_checks() {
        let hash = [7u8; 32];
        let first = |offer: Option<&[u8]>, mechanism: &str, msg: &[u8]| {
            let mut server = ScramServer::with_server_nonce(rfc_verifier(), offer, b"srv").unwrap();
            let mut out = [0u8; 512];
            server.client_first(mechanism, msg, &mut out).map(|n| out[..n].to_vec())
        };
        let ok = first(None, SCRAM_SHA_256, b"n,,n=,r=abc").unwrap();
        assert_eq!(ok, b"r=abcsrv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
        assert!(first(None, SCRAM_SHA_256, b"y,,n=,r=abc").is_ok());
        assert!(first(None, SCRAM_SHA_256, b"n,,n=someone,r=abc,q=ext").is_ok());
        // (offered cert hash, mechanism, client-first, expected error)
        type Case<'a> = (Option<&'a [u8]>, &'a str, &'a [u8], SaslError);
        let cases: &[Case<'_>] = &[
            (None, SCRAM_SHA_256_PLUS, b"p=tls-server-end-point,,n=,r=abc", SaslError::InvalidMechanism),
            (None, "SCRAM-SHA-1", b"n,,n=,r=abc", SaslError::InvalidMechanism),
            (Some(&hash), SCRAM_SHA_256, b"y,,n=,r=abc", SaslError::ChannelBindingNegotiation),
            (Some(&hash), SCRAM_SHA_256_PLUS, b"n,,n=,r=abc", SaslError::ChannelBindingNegotiation),
            (Some(&hash), SCRAM_SHA_256, b"p=tls-server-end-point,,n=,r=abc", SaslError::ChannelBindingNegotiation),
            (Some(&hash), SCRAM_SHA_256_PLUS, b"p=tls-unique,,n=,r=abc", SaslError::UnsupportedChannelBindingType),
            (None, SCRAM_SHA_256, b"n,a=admin,n=,r=abc", SaslError::AuthzidUnsupported),
            (None, SCRAM_SHA_256, b"n,,m=x,n=,r=abc", SaslError::ExtensionUnsupported),
            (None, SCRAM_SHA_256, b"x,,n=,r=abc", SaslError::MalformedScram),
            (None, SCRAM_SHA_256, b"n,,r=abc", SaslError::MalformedScram),
            (None, SCRAM_SHA_256, b"n,,n=,r=", SaslError::MalformedScram),
            (None, SCRAM_SHA_256, b"n,,n=,r=a\x01c", SaslError::MalformedScram),
            (None, SCRAM_SHA_256, b"n,,n=,r=abc,", SaslError::MalformedScram),
            (None, SCRAM_SHA_256, b"", SaslError::MalformedScram),
            (None, SCRAM_SHA_256, b"n", SaslError::MalformedScram),
        ];
        for (offer, mechanism, msg, want) in cases {
            assert_eq!(first(*offer, mechanism, msg), Err(*want), "{}", std::string::String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn plus_round_trip_and_mismatched_hash() {
        let verifier = ScramVerifier::derive(b"pw", b"salt", 64).unwrap();
        for (client_hash, ok) in [([9u8; 32], true), ([8u8; 32], false)] {
            let mut server = ScramServer::with_server_nonce(verifier, Some(&[9; 32]), b"srv").unwrap();
            assert_eq!(server.mechanisms(), [SCRAM_SHA_256_PLUS, SCRAM_SHA_256]);
            let mut client = ScramClient::with_nonce(b"cli").unwrap();
            let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
            let n = client.client_first("", ChannelBindingFlag::TlsServerEndPoint, &mut a).unwrap();
            assert_eq!(client.mechanism(), SCRAM_SHA_256_PLUS);
            let m = server.client_first(client.mechanism(), &a[..n], &mut b).unwrap();
            assert!(server.uses_channel_binding());
            client.server_first(&b[..m], 4096).unwrap();
            let n = client.client_final(b"pw", Some(&client_hash), &mut a).unwrap();
            match server.client_final(&a[..n], &mut b) {
                Ok(m) => {
                    assert!(ok);
                    client.server_final(&b[..m]).unwrap();
                }
                Err(e) => {
                    assert!(!ok);
                    assert_eq!(e, SaslError::ChannelBindingMismatch);
                }
            }
        }
    }

    #[test]
    fn doomed_exchange_fails_at_the_end() {
        struct Counter(u8);
        impl rand_core::TryRng for Counter {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok(1)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(1)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                for b in dst {
                    self.0 = self.0.wrapping_add(1);
                    *b = self.0;
                }
                Ok(())
            }
        }
        impl rand_core::TryCryptoRng for Counter {}
        let mut server = ScramServer::doomed(None, &mut Counter(0));
        let mut client = ScramClient::new(&mut Counter(100));
        let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
        let n = client.client_first("", ChannelBindingFlag::Unsupported, &mut a).unwrap();
        let m = server.client_first(SCRAM_SHA_256, &a[..n], &mut b).unwrap();
        client.server_first(&b[..m], 4096).unwrap();
        let n = client.client_final(b"anything", None, &mut a).unwrap();
        assert_eq!(server.client_final(&a[..n], &mut b), Err(SaslError::InvalidProof));
        // Fresh verifiers from the rng have PostgreSQL's defaults.
        let v = ScramVerifier::generate(b"pw", &mut Counter(0));
        assert_eq!((v.iterations(), v.salt().len()), (4096, 16));
        assert!(v.verify_password(b"pw"));
    }

    #[test]
    fn verifier_text_round_trip_and_errors() {
        let v = rfc_verifier();
        let text = v.to_text();
        assert_eq!(ScramVerifier::parse(&text), Ok(v));
        assert_eq!(std::format!("{v}"), &*text);
        assert_eq!(std::format!("{v:?}"), "ScramVerifier { iterations: 4096, .. }");
        let max = ScramVerifier::derive(b"x", &[0xff; MAX_SALT_LEN], u32::MAX / 1_000_000).unwrap();
        assert_eq!(ScramVerifier::parse(&max.to_text()), Ok(max));
        let max = ScramVerifier { iterations: u32::MAX, ..max };
        assert!(max.to_text().len() <= VerifierText::CAPACITY);
        assert_eq!(ScramVerifier::parse(&max.to_text()), Ok(max));
        assert_eq!(ScramVerifier::derive(b"x", b"", 1), Err(VerifierError::InvalidSalt));
        assert_eq!(ScramVerifier::derive(b"x", &[0; 65], 1), Err(VerifierError::InvalidSalt));
        assert_eq!(ScramVerifier::derive(b"x", b"s", 0), Err(VerifierError::InvalidIterations));
        let good = "SCRAM-SHA-256$4096:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=";
        assert!(ScramVerifier::parse(good).is_ok());
        for bad in [
            "",
            "SCRAM-SHA-256$",
            "SCRAM-SHA-1$4096:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=",
            "SCRAM-SHA-256$0:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=",
            "SCRAM-SHA-256$-1:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=",
            "SCRAM-SHA-256$4096:$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=",
            "SCRAM-SHA-256$4096:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4:Fi7pVTlHdrFoSXK8rrGdi3uhKFx0ZvIhLw0naenHqTo=",
            "SCRAM-SHA-256$4096:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=:Fi7p",
            "SCRAM-SHA-256$4096:qyeS80KCHoXhwZaCbtxMEA==$IH0xmcLhHV+ky7xnUU2QSjTKSNve+G59rDUjhK2Hlc4=",
        ] {
            assert!(ScramVerifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_first_parsing() {
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096").is_some());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=4096,x=ext").is_some());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=0").is_none());
        assert!(parse_server_first(b"r=abc,s=QSXCR+Q6sek8bf92,i=99999999999").is_none());
        assert!(parse_server_first(b"m=x,r=abc,s=QSXCR+Q6sek8bf92,i=1").is_none());
        assert!(parse_server_first(b"r=abc,s=,i=1").is_none());
        assert!(parse_server_first(b"").is_none());
    }
}
