//! Startup and authentication: everything before the first ReadyForQuery.

use super::{Backend, Input, State, event, text::stack_format};
use crate::{
    DecodeError, Encode, EncodeError, Framed, SqlState,
    auth::{
        DiscoveryDocument, Md5Verifier, OAuthRequest, SaslError, ScramServer, ScramVerifier, StoredPassword,
        oauth::{self, OAUTHBEARER},
        scram::{MAX_CERT_HASH_LEN, SCRAM_SHA_256, SCRAM_SHA_256_PLUS},
    },
    backend::{
        Authentication, BackendKeyData, ErrorFields, List, ParameterStatus, ReadyForQuery, Severity, TransactionStatus,
    },
    frame::{frame_message, frame_startup, is_direct_tls},
    frontend::{FrontendMessage, ProtocolVersion, StartupPacket, StartupParams},
    session::{CloseReason, SessionError, Violation, backend::Event},
    write::Sink,
};

/// The newest protocol minor version this backend speaks (3.2).
const NEWEST_MINOR: u16 = 2;

/// How the client must prove who it is; chosen per user by the driver, as
/// a `pg_hba.conf` line would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod<'a> {
    /// No proof: the client is in.
    Trust,
    /// A cleartext password, checked by the driver (`PasswordReceived`).
    Cleartext,
    /// MD5 challenge-response against the role's stored password, checked by
    /// the machine. As in PostgreSQL, a role whose password is a SCRAM
    /// verifier is asked for SCRAM instead.
    Md5 {
        /// The role's password as stored (`StoredPassword::parse(rolpassword)`).
        password: StoredPassword<'a>,
    },
    /// SCRAM-SHA-256, checked by the machine; SCRAM-SHA-256-PLUS is offered
    /// too when the session is on TLS and the driver gave the certificate
    /// hash ([`Backend::set_tls_server_end_point`]). A role whose password is
    /// an MD5 verifier goes through a mock exchange that fails at the end,
    /// as in PostgreSQL.
    ScramSha256 {
        /// The role's password as stored (`StoredPassword::parse(rolpassword)`).
        password: StoredPassword<'a>,
    },
    /// OAUTHBEARER (PostgreSQL 18 `oauth`): the driver validates the token
    /// (`OAuthToken`). `issuer` and `scope` go into the discovery document
    /// sent to clients without a valid token.
    OAuthBearer {
        /// The issuer URL, e.g. `https://accounts.example.com`.
        issuer: &'a str,
        /// The scopes a token needs, space-separated.
        scope: &'a str,
    },
}

/// Where the authentication exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthStep {
    /// A PasswordMessage with the cleartext password.
    Cleartext,
    /// A PasswordMessage answering the MD5 challenge `salt`.
    Md5 { salt: [u8; 4] },
    /// SASLInitialResponse (SCRAM or OAUTHBEARER, per [`Exchange`]).
    SaslInitial,
    /// SASLResponse with the SCRAM client-first message (the initial
    /// response came without data).
    ScramClientFirst { plus: bool },
    /// SASLResponse with the SCRAM client-final message.
    ScramClientFinal,
    /// SASLResponse with the OAUTHBEARER initial response (the initial
    /// response came without data).
    OAuthInitial,
    /// The client's `\x01` after the OAUTHBEARER error document.
    OAuthErrorAck,
}

/// Secrets and state of the exchange, kept out of the small `State`.
#[derive(Debug, Clone)]
pub(super) enum Exchange {
    None,
    Md5(Md5Verifier),
    Scram(ScramServer),
    OAuth(DiscoveryDocument),
}

/// The `tls-server-end-point` channel-binding data: the hash of the
/// server's certificate.
#[derive(Debug, Clone, Copy)]
pub(super) struct CertHash {
    bytes: [u8; MAX_CERT_HASH_LEN],
    len: u8,
}

impl CertHash {
    fn get(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// A user or application name, kept to PostgreSQL's 63 significant bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct UserName {
    bytes: [u8; 63],
    len: u8,
}

impl Default for UserName {
    fn default() -> Self {
        UserName { bytes: [0; 63], len: 0 }
    }
}

impl UserName {
    fn new(name: &str) -> Self {
        let mut end = name.len().min(63);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 63];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        UserName { bytes, len: end as u8 }
    }

    pub(super) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// The process id and secret key a client quotes to cancel this session's
/// queries. Register it with the server's cancel registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BackendKey {
    process_id: i32,
    secret: [u8; BackendKey::MAX_LEN],
    len: u8,
}

impl BackendKey {
    /// The longest key kept: 32 bytes, as PostgreSQL 18 generates for 3.2.
    pub const MAX_LEN: usize = 32;

    /// A key from its parts; `None` unless `secret` is 4 to 32 bytes. Protocol
    /// 3.0 sessions are sent (and must be cancelled with) its first 4 bytes.
    pub fn new(process_id: i32, secret: &[u8]) -> Option<Self> {
        if !(4..=Self::MAX_LEN).contains(&secret.len()) {
            return None;
        }
        let mut key = BackendKey { process_id, secret: [0; Self::MAX_LEN], len: secret.len() as u8 };
        key.secret[..secret.len()].copy_from_slice(secret);
        Some(key)
    }

    /// A key with a random 32-byte secret.
    pub fn random(process_id: i32, rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut secret = [0u8; Self::MAX_LEN];
        rng.fill_bytes(&mut secret);
        BackendKey { process_id, secret, len: Self::MAX_LEN as u8 }
    }

    /// The process id.
    pub const fn process_id(&self) -> i32 {
        self.process_id
    }

    /// The secret as sent to a client speaking `version`.
    pub fn secret_for(&self, version: ProtocolVersion) -> &[u8] {
        let len = if version.minor >= 2 { usize::from(self.len) } else { 4 };
        &self.secret[..len]
    }
}

/// The run-time parameters reported to the client after authentication
/// (ParameterStatus). `application_name` and `session_authorization` come from
/// the session itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerParameters<'a> {
    /// `server_version`, e.g. `"18.0"`. Clients parse it: keep it numeric first.
    pub server_version: &'a str,
    /// `TimeZone`.
    pub time_zone: &'a str,
    /// `DateStyle`.
    pub date_style: &'a str,
    /// `IntervalStyle`.
    pub interval_style: &'a str,
    /// `is_superuser`: `"on"` or `"off"`.
    pub is_superuser: &'a str,
    /// More parameters to report, after the standard ones.
    pub extra: &'a [(&'a str, &'a str)],
}

impl ServerParameters<'static> {
    /// PostgreSQL 18's defaults for a UTF-8 database in UTC.
    pub const DEFAULT: ServerParameters<'static> = ServerParameters {
        server_version: "18.0",
        time_zone: "UTC",
        date_style: "ISO, MDY",
        interval_style: "postgres",
        is_superuser: "off",
        extra: &[],
    };
}

impl Default for ServerParameters<'static> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl<'a> ServerParameters<'a> {
    fn each(&self, user: &'a str, application_name: &'a str, mut f: impl FnMut(&'a str, &'a str)) {
        for (name, value) in [
            ("application_name", application_name),
            ("client_encoding", "UTF8"),
            ("DateStyle", self.date_style),
            ("default_transaction_read_only", "off"),
            ("in_hot_standby", "off"),
            ("integer_datetimes", "on"),
            ("IntervalStyle", self.interval_style),
            ("is_superuser", self.is_superuser),
            ("server_encoding", "UTF8"),
            ("server_version", self.server_version),
            ("session_authorization", user),
            ("standard_conforming_strings", "on"),
            ("TimeZone", self.time_zone),
        ] {
            f(name, value);
        }
        for &(name, value) in self.extra {
            f(name, value);
        }
    }
}

/// NegotiateProtocolVersion written straight from the startup parameters.
struct Negotiation<'a> {
    /// The minor version (major is 3).
    newest_version: u16,
    params: StartupParams<'a>,
}

impl Encode for Negotiation<'_> {
    fn tag(&self) -> Option<u8> {
        Some(b'v')
    }
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), crate::EncodeError> {
        sink.put_i32(3 << 16 | i32::from(self.newest_version));
        sink.put_i32(self.params.protocol_options().count() as i32);
        for (name, _) in self.params.protocol_options() {
            sink.put_cstr(name.as_bytes())?;
        }
        Ok(())
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, const S: usize, const P: usize> Backend<B, S, P> {
    pub(super) fn read_startup<'a>(&mut self, input: &'a [u8], encrypted: bool, first: bool) -> Input<'a> {
        if first && is_direct_tls(input) {
            self.state = State::DirectTls;
            return event(0, Event::DirectTls);
        }
        let (raw, consumed) = match frame_startup(input, &self.limits) {
            Ok(Framed::Complete { item, consumed }) => (item, consumed),
            Ok(Framed::Incomplete { needed }) => return Input { consumed: 0, event: None, needed },
            Err(e) => return self.violation(0, Violation::Malformed(e)),
        };
        let pipelined = input.len() > consumed;
        match StartupPacket::decode(raw) {
            Ok(StartupPacket::SslRequest(_)) if !encrypted => {
                if pipelined {
                    return self.violation(consumed, Violation::DataAfterEncryptionRequest);
                }
                self.state = State::TlsDecision { encrypted };
                event(consumed, Event::TlsRequested)
            }
            Ok(StartupPacket::GssEncRequest(_)) if !encrypted => {
                if pipelined {
                    return self.violation(consumed, Violation::DataAfterEncryptionRequest);
                }
                // No GSSAPI here: decline, and the client goes on unencrypted or with SSL.
                if self.out.push_bytes(b"N").is_err() {
                    return self.output_overflow(consumed);
                }
                self.state = State::Startup { encrypted, first: false };
                Input { consumed, event: None, needed: 0 }
            }
            Ok(StartupPacket::CancelRequest(c)) => {
                self.state = State::Closed(CloseReason::CancelRequest);
                event(consumed, Event::CancelRequest { process_id: c.process_id, secret_key: c.secret_key })
            }
            Ok(StartupPacket::Startup(startup)) => {
                let Some(user) = startup.user().filter(|u| !u.is_empty()) else {
                    return self.violation(consumed, Violation::NoUser);
                };
                let requested = startup.version;
                let newest_version = requested.minor.min(NEWEST_MINOR);
                if requested.minor > NEWEST_MINOR || startup.protocol_options().next().is_some() {
                    let negotiation = Negotiation { newest_version, params: startup.params };
                    if self.out.push(&negotiation).is_err() {
                        return self.output_overflow(consumed);
                    }
                }
                self.version = ProtocolVersion { major: 3, minor: if newest_version >= 2 { 2 } else { 0 } };
                self.user = UserName::new(user);
                self.encrypted_session = encrypted;
                self.application_name = UserName::new(startup.get("application_name").unwrap_or(""));
                // Remembered for the rest of the session (the state forgets it).
                self.encrypted_session = encrypted;
                self.state = State::AuthChoice;
                event(
                    consumed,
                    Event::Startup {
                        version: self.version,
                        user,
                        database: startup.database_or_user().unwrap_or(user),
                        params: startup.params,
                    },
                )
            }
            // A second SSL/GSS request once encrypted.
            Ok(_) => self.violation(consumed, Violation::UnexpectedMessage { tag: 0 }),
            Err(DecodeError::UnsupportedProtocol { major, minor }) => {
                let message = stack_format!(
                    "unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.{NEWEST_MINOR}"
                );
                let violation = Violation::Malformed(DecodeError::UnsupportedProtocol { major, minor });
                self.fatal(
                    consumed,
                    SqlState::FEATURE_NOT_SUPPORTED,
                    message.as_str(),
                    CloseReason::ProtocolViolation(violation),
                )
            }
            Err(e) => self.violation(consumed, Violation::Malformed(e)),
        }
    }

    pub(super) fn read_auth<'a>(&mut self, input: &'a [u8], step: AuthStep) -> Input<'a> {
        let (raw, consumed) = match frame_message(input, &self.limits) {
            Ok(Framed::Complete { item, consumed }) => (item, consumed),
            Ok(Framed::Incomplete { needed }) => return Input { consumed: 0, event: None, needed },
            Err(e) => return self.violation(0, Violation::Malformed(e)),
        };
        let response = match FrontendMessage::decode(raw) {
            Ok(FrontendMessage::AuthResponse(r)) => r,
            // A client may give up politely.
            Ok(FrontendMessage::Terminate(_)) => {
                self.state = State::Closed(CloseReason::Finished);
                return event(consumed, Event::Ended { reason: CloseReason::Finished });
            }
            Ok(_) | Err(DecodeError::UnknownMessageType { .. }) => {
                return self.violation(consumed, Violation::UnexpectedMessage { tag: raw.tag });
            }
            Err(e) => return self.violation(consumed, Violation::Malformed(e)),
        };
        match step {
            AuthStep::Cleartext => match response.as_password() {
                Ok(p) => {
                    self.state = State::PasswordCheck;
                    event(consumed, Event::PasswordReceived { password: p.password })
                }
                Err(e) => self.violation(consumed, Violation::Malformed(e)),
            },
            AuthStep::Md5 { salt } => match response.as_password() {
                Ok(p) => {
                    let ok = matches!(&self.exchange, Exchange::Md5(v) if v.verify_response(salt, p.password));
                    self.auth_outcome(consumed, ok)
                }
                Err(e) => self.violation(consumed, Violation::Malformed(e)),
            },
            AuthStep::SaslInitial => match response.as_sasl_initial_response() {
                Ok(initial) => self.read_sasl_initial(consumed, initial.mechanism, initial.data),
                Err(e) => self.violation(consumed, Violation::Malformed(e)),
            },
            AuthStep::ScramClientFirst { plus } => {
                let mechanism = if plus { SCRAM_SHA_256_PLUS } else { SCRAM_SHA_256 };
                self.scram_client_first(consumed, mechanism, response.body)
            }
            AuthStep::ScramClientFinal => {
                let mut server_final = [0u8; 64];
                let result = match &mut self.exchange {
                    Exchange::Scram(server) => server.client_final(response.body, &mut server_final),
                    _ => Err(SaslError::OutOfOrder),
                };
                match result {
                    Ok(len) => {
                        let data = server_final.get(..len).unwrap_or_default();
                        if self.out.push(&Authentication::SaslFinal { data }).is_err() {
                            return self.output_overflow(consumed);
                        }
                        self.auth_outcome(consumed, true)
                    }
                    Err(SaslError::InvalidProof) => self.auth_outcome(consumed, false),
                    Err(e) => self.violation(consumed, Violation::Sasl(e)),
                }
            }
            AuthStep::OAuthInitial => self.oauth_initial(consumed, response.body),
            AuthStep::OAuthErrorAck => {
                if oauth::is_error_acknowledgement(response.body) {
                    self.fail_authentication();
                    event(consumed, Event::Ended { reason: CloseReason::AuthenticationFailed })
                } else {
                    self.violation(consumed, Violation::Sasl(SaslError::MalformedOAuth))
                }
            }
        }
    }

    /// A password check the machine did itself: in (`Authenticated` right
    /// away), or FATAL.
    fn auth_outcome<'a>(&mut self, consumed: usize, ok: bool) -> Input<'a> {
        if ok {
            self.exchange = Exchange::None;
            self.state = State::AcceptDecision;
            event(consumed, Event::Authenticated)
        } else {
            self.fail_authentication();
            event(consumed, Event::Ended { reason: CloseReason::AuthenticationFailed })
        }
    }

    fn read_sasl_initial<'a>(&mut self, consumed: usize, mechanism: &str, data: Option<&'a [u8]>) -> Input<'a> {
        let offered = match &self.exchange {
            Exchange::Scram(server) => server.mechanisms().contains(&mechanism),
            Exchange::OAuth(_) => mechanism == OAUTHBEARER,
            _ => false,
        };
        if !offered {
            return self.violation(consumed, Violation::Sasl(SaslError::InvalidMechanism));
        }
        let oauth = matches!(self.exchange, Exchange::OAuth(_));
        match data {
            Some(data) if oauth => self.oauth_initial(consumed, data),
            Some(data) => self.scram_client_first(consumed, mechanism, data),
            // No initial response: an empty challenge asks for it.
            None => {
                if self.out.push(&Authentication::SaslContinue { data: &[] }).is_err() {
                    return self.output_overflow(consumed);
                }
                self.state = State::Authenticating(if oauth {
                    AuthStep::OAuthInitial
                } else {
                    AuthStep::ScramClientFirst { plus: mechanism == SCRAM_SHA_256_PLUS }
                });
                Input { consumed, event: None, needed: 0 }
            }
        }
    }

    fn scram_client_first<'a>(&mut self, consumed: usize, mechanism: &str, message: &[u8]) -> Input<'a> {
        let mut server_first = [0u8; 512];
        let result = match &mut self.exchange {
            Exchange::Scram(server) => server.client_first(mechanism, message, &mut server_first),
            _ => Err(SaslError::OutOfOrder),
        };
        match result {
            Ok(len) => {
                let data = server_first.get(..len).unwrap_or_default();
                if self.out.push(&Authentication::SaslContinue { data }).is_err() {
                    return self.output_overflow(consumed);
                }
                self.state = State::Authenticating(AuthStep::ScramClientFinal);
                Input { consumed, event: None, needed: 0 }
            }
            Err(e) => self.violation(consumed, Violation::Sasl(e)),
        }
    }

    fn oauth_initial<'a>(&mut self, consumed: usize, message: &'a [u8]) -> Input<'a> {
        match oauth::parse_client_response(message) {
            Ok(OAuthRequest::Token(token)) => {
                self.state = State::TokenCheck;
                event(consumed, Event::OAuthToken { token })
            }
            // Discovery, or a token that is not even well-formed: the error
            // document, then failure once the client acknowledges it.
            Ok(_) => match self.send_oauth_error() {
                Ok(()) => Input { consumed, event: None, needed: 0 },
                Err(_) => self.output_overflow(consumed),
            },
            Err(e) => self.violation(consumed, Violation::Sasl(e)),
        }
    }

    fn send_oauth_error(&mut self) -> Result<(), SessionError> {
        let Exchange::OAuth(document) = &self.exchange else { return Err(SessionError::OutOfOrder) };
        self.out.push(&Authentication::SaslContinue { data: document.as_bytes() })?;
        self.state = State::Authenticating(AuthStep::OAuthErrorAck);
        Ok(())
    }

    /// Answers `TlsRequested` with `S`: transmit it, run the TLS handshake,
    /// then feed decrypted bytes.
    pub fn accept_tls(&mut self) -> Result<(), SessionError> {
        let State::TlsDecision { .. } = self.state else { return Err(SessionError::OutOfOrder) };
        self.out.push_bytes(b"S")?;
        self.state = State::Startup { encrypted: true, first: false };
        Ok(())
    }

    /// Answers `TlsRequested` with `N`: the client may go on unencrypted.
    pub fn decline_tls(&mut self) -> Result<(), SessionError> {
        let State::TlsDecision { encrypted } = self.state else { return Err(SessionError::OutOfOrder) };
        self.out.push_bytes(b"N")?;
        self.state = State::Startup { encrypted, first: false };
        Ok(())
    }

    /// After `DirectTls`: the handshake is done; feed decrypted bytes next.
    pub fn tls_established(&mut self) -> Result<(), SessionError> {
        let State::DirectTls = self.state else { return Err(SessionError::OutOfOrder) };
        self.state = State::Startup { encrypted: true, first: false };
        Ok(())
    }

    /// Whether the client is on TLS (SSLRequest accepted or direct TLS).
    pub fn is_encrypted(&self) -> bool {
        match self.state {
            State::Startup { encrypted, .. } | State::TlsDecision { encrypted } => encrypted,
            State::DirectTls => true,
            _ => self.encrypted_session,
        }
    }

    /// Gives the `tls-server-end-point` channel-binding data: the hash of
    /// the server's TLS certificate (RFC 5929: SHA-256 when the certificate
    /// is signed with MD5 or SHA-1, else the signature's hash). With it,
    /// SCRAM offers SCRAM-SHA-256-PLUS. Call after the TLS handshake and
    /// before `authenticate`.
    pub fn set_tls_server_end_point(&mut self, cert_hash: &[u8]) -> Result<(), SessionError> {
        let before_auth = matches!(self.state, State::Startup { encrypted: true, .. } | State::AuthChoice);
        if !before_auth || !self.is_encrypted() {
            return Err(SessionError::OutOfOrder);
        }
        if cert_hash.is_empty() {
            return Err(SessionError::Encode(EncodeError::InvalidValue));
        }
        let mut hash = CertHash { bytes: [0; MAX_CERT_HASH_LEN], len: cert_hash.len() as u8 };
        hash.bytes.get_mut(..cert_hash.len()).ok_or(EncodeError::TooLong)?.copy_from_slice(cert_hash);
        self.tls_server_end_point = Some(hash);
        Ok(())
    }

    /// Answers `Startup`: asks the client for proof of identity, `method`'s
    /// way. `rng` draws the salt or nonce the method needs (MD5 salt, SCRAM
    /// nonce, a salt for a plaintext password used with SCRAM).
    ///
    /// Next: keep feeding input. Trust, MD5 and SCRAM lead to
    /// `Authenticated` (or a FATAL 28P01 and `Ended`); cleartext to
    /// `PasswordReceived`; OAUTHBEARER to `OAuthToken` (or FATAL 28000).
    pub fn authenticate<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        method: AuthMethod<'_>,
        rng: &mut R,
    ) -> Result<(), SessionError> {
        let State::AuthChoice = self.state else { return Err(SessionError::OutOfOrder) };
        let hash = self.tls_server_end_point.filter(|_| self.is_encrypted());
        let hash = hash.as_ref().map(CertHash::get);
        let scram = |password: StoredPassword<'_>, rng: &mut R| {
            match password {
                StoredPassword::Scram(v) => ScramServer::new(v, hash, rng),
                StoredPassword::Plaintext(p) => ScramServer::new(ScramVerifier::generate(p, rng), hash, rng),
                // No SCRAM secret: PostgreSQL's mock exchange.
                StoredPassword::Md5(_) => Ok(ScramServer::doomed(hash, rng)),
            }
            .map_err(|_| SessionError::Encode(EncodeError::InvalidValue))
        };
        let md5 = match method {
            AuthMethod::Md5 { password: StoredPassword::Md5(v) } => Some(v),
            AuthMethod::Md5 { password: StoredPassword::Plaintext(p) } => {
                Some(Md5Verifier::derive(self.user.as_str().as_bytes(), p))
            }
            _ => None,
        };
        match method {
            AuthMethod::Trust => self.state = State::AuthPassed,
            AuthMethod::Cleartext => {
                self.out.push(&Authentication::CleartextPassword)?;
                self.state = State::Authenticating(AuthStep::Cleartext);
            }
            AuthMethod::Md5 { .. } if md5.is_some() => {
                let mut salt = [0u8; 4];
                rng.fill_bytes(&mut salt);
                self.out.push(&Authentication::Md5Password { salt })?;
                self.exchange = md5.map_or(Exchange::None, Exchange::Md5);
                self.state = State::Authenticating(AuthStep::Md5 { salt });
            }
            // A SCRAM secret turns MD5 into SCRAM, as in PostgreSQL.
            AuthMethod::Md5 { password } | AuthMethod::ScramSha256 { password } => {
                let server = scram(password, rng)?;
                self.out.push(&Authentication::Sasl { mechanisms: List::from_slice(server.mechanisms()) })?;
                self.exchange = Exchange::Scram(server);
                self.state = State::Authenticating(AuthStep::SaslInitial);
            }
            AuthMethod::OAuthBearer { issuer, scope } => {
                let document = DiscoveryDocument::new(issuer, scope).map_err(|_| EncodeError::TooLong)?;
                self.out.push(&Authentication::Sasl { mechanisms: List::from_slice(&[OAUTHBEARER]) })?;
                self.exchange = Exchange::OAuth(document);
                self.state = State::Authenticating(AuthStep::SaslInitial);
            }
        }
        Ok(())
    }

    /// Answers `PasswordReceived`: `true` lets the client in (the next event is
    /// `Authenticated`); `false` queues FATAL 28P01 and ends the session.
    pub fn password_verified(&mut self, ok: bool) -> Result<(), SessionError> {
        let State::PasswordCheck = self.state else { return Err(SessionError::OutOfOrder) };
        if ok {
            self.state = State::AuthPassed;
        } else {
            self.fail_authentication();
        }
        Ok(())
    }

    /// Answers `OAuthToken`: `true` lets the client in (the next event is
    /// `Authenticated`); `false` sends the discovery document, and once the
    /// client acknowledges it, FATAL 28000 ends the session.
    pub fn oauth_verified(&mut self, ok: bool) -> Result<(), SessionError> {
        let State::TokenCheck = self.state else { return Err(SessionError::OutOfOrder) };
        if ok {
            self.state = State::AuthPassed;
            Ok(())
        } else {
            self.send_oauth_error()
        }
    }

    /// FATAL with PostgreSQL's message for the method: 28P01 for passwords,
    /// 28000 for OAuth. Ends the session.
    pub(super) fn fail_authentication(&mut self) {
        let user = self.user;
        let (code, message) = match self.exchange {
            Exchange::OAuth(_) => (
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                stack_format!("OAuth bearer authentication failed for user \"{}\"", user.as_str()),
            ),
            _ => (
                SqlState::INVALID_PASSWORD,
                stack_format!("password authentication failed for user \"{}\"", user.as_str()),
            ),
        };
        let _ = self.queue_error(&ErrorFields::new(Severity::Fatal, code, message.as_str()));
        self.exchange = Exchange::None;
        self.state = State::Closed(CloseReason::AuthenticationFailed);
    }

    /// Answers `Authenticated`: queues AuthenticationOk, the ParameterStatus
    /// messages, BackendKeyData and the first ReadyForQuery. Commands follow.
    pub fn accept(&mut self, parameters: &ServerParameters<'_>, key: &BackendKey) -> Result<(), SessionError> {
        let State::AcceptDecision = self.state else { return Err(SessionError::OutOfOrder) };
        let (user, app) = (self.user, self.application_name);
        let key_data = BackendKeyData { process_id: key.process_id(), secret_key: key.secret_for(self.version) };
        let ready = ReadyForQuery { status: TransactionStatus::Idle };
        // All or nothing: size everything first.
        let mut total = Authentication::Ok.encoded_len()? + key_data.encoded_len()? + ready.encoded_len()?;
        let mut invalid = None;
        parameters.each(user.as_str(), app.as_str(), |name, value| {
            match (ParameterStatus { name, value }).encoded_len() {
                Ok(n) => total += n,
                Err(e) => invalid = Some(e),
            }
        });
        if let Some(e) = invalid {
            return Err(e.into());
        }
        if !self.out.has_room(total) {
            return Err(SessionError::OutputFull(crate::session::OutputFull { needed: total }));
        }
        self.out.push(&Authentication::Ok)?;
        let mut result = Ok(());
        parameters.each(user.as_str(), app.as_str(), |name, value| {
            if result.is_ok() {
                result = self.out.push(&ParameterStatus { name, value });
            }
        });
        result?;
        self.out.push(&key_data)?;
        self.out.push(&ready)?;
        self.encrypted_session = self.is_encrypted();
        self.state = State::Commands;
        Ok(())
    }

    /// Ends the session before it starts: queues `fields` as a FATAL error
    /// (53300 too many connections, 3D000 no such database, 28000 no TLS…).
    /// Allowed in answer to `Startup` or `Authenticated`.
    pub fn reject(&mut self, fields: &ErrorFields<'_>) -> Result<(), SessionError> {
        if !matches!(self.state, State::AuthChoice | State::AcceptDecision | State::PasswordCheck | State::TokenCheck) {
            return Err(SessionError::OutOfOrder);
        }
        let fatal = ErrorFields { severity: Severity::Fatal, ..*fields };
        self.queue_error(&fatal)?;
        self.state = State::Closed(CloseReason::Rejected);
        Ok(())
    }
}
