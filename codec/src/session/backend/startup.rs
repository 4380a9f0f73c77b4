//! Startup and authentication: everything before the first ReadyForQuery.

use super::{Backend, Input, State, event, text::stack_format};
use crate::{
    DecodeError, Encode, Framed, SqlState,
    backend::{
        Authentication, BackendKeyData, ErrorFields, ParameterStatus, ReadyForQuery, Severity, TransactionStatus,
    },
    frame::{frame_message, frame_startup, is_direct_tls},
    frontend::{FrontendMessage, ProtocolVersion, StartupPacket, StartupParams},
    session::{CloseReason, SessionError, Violation, backend::Event},
    write::Sink,
};

/// The newest protocol minor version this backend speaks (3.2).
const NEWEST_MINOR: u16 = 2;

/// How the client must prove who it is; chosen per user by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// No proof: the client is in.
    Trust,
    /// A cleartext password, checked by the driver (`PasswordReceived`).
    Cleartext,
}

/// The exchange under way while authenticating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthExchange {
    Cleartext,
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

    pub(super) fn read_auth<'a>(&mut self, input: &'a [u8], exchange: AuthExchange) -> Input<'a> {
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
        match exchange {
            AuthExchange::Cleartext => match response.as_password() {
                Ok(p) => {
                    self.state = State::PasswordCheck;
                    event(consumed, Event::PasswordReceived { password: p.password })
                }
                Err(e) => self.violation(consumed, Violation::Malformed(e)),
            },
        }
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

    /// Answers `Startup`: asks the client for proof of identity, `method`'s way.
    pub fn authenticate(&mut self, method: AuthMethod) -> Result<(), SessionError> {
        let State::AuthChoice = self.state else { return Err(SessionError::OutOfOrder) };
        match method {
            AuthMethod::Trust => self.state = State::AuthPassed,
            AuthMethod::Cleartext => {
                self.out.push(&Authentication::CleartextPassword)?;
                self.state = State::Authenticating(AuthExchange::Cleartext);
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

    pub(super) fn fail_authentication(&mut self) {
        let message = stack_format!("password authentication failed for user \"{}\"", self.user.as_str());
        let _ = self.queue_error(&ErrorFields::new(Severity::Fatal, SqlState::INVALID_PASSWORD, message.as_str()));
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
        if !matches!(self.state, State::AuthChoice | State::AcceptDecision | State::PasswordCheck) {
            return Err(SessionError::OutOfOrder);
        }
        let fatal = ErrorFields { severity: Severity::Fatal, ..*fields };
        self.queue_error(&fatal)?;
        self.state = State::Closed(CloseReason::Rejected);
        Ok(())
    }
}
