//! Who may log in, and what the server reports about itself.

use postwire_codec::session::backend::ServerParameters;

/// How one user proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// No proof (pg_hba `trust`).
    Trust,
    /// A cleartext password the client sends (pg_hba `password`); use it
    /// only on a trusted network.
    Password(&'a str),
    /// MD5 challenge-response against a stored `md5…` verifier (or plaintext).
    Md5(&'a str),
    /// SCRAM-SHA-256 against a stored verifier in PostgreSQL's format
    /// (`SCRAM-SHA-256$4096:…`). Make it on the host with
    /// `postwire_codec::auth::ScramVerifier::derive` (or copy it from
    /// `pg_authid`), so the device never runs PBKDF2.
    Scram(&'a str),
}

/// A user and their credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User<'a> {
    /// The role name clients connect as.
    pub name: &'a str,
    /// How they authenticate.
    pub credentials: Credentials<'a>,
}

/// Server-wide settings; `const`, so it can live in a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// The users; anyone else gets FATAL 28P01 without learning whether the
    /// role exists.
    pub users: &'a [User<'a>],
    /// What the server reports after login (`server_version`, `TimeZone`…).
    pub parameters: ServerParameters<'a>,
    /// How long a client may stall in the middle of a message or during
    /// login, in milliseconds, before it is dropped.
    pub stall_timeout_ms: u64,
    /// How long an idle session may stay open between queries; 0 is forever.
    pub idle_timeout_ms: u64,
}

impl<'a> Config<'a> {
    /// PostgreSQL's defaults for the reported parameters, a 10 s stall
    /// timeout and no idle timeout.
    pub const fn new(users: &'a [User<'a>]) -> Self {
        Config { users, parameters: ServerParameters::DEFAULT, stall_timeout_ms: 10_000, idle_timeout_ms: 0 }
    }

    /// Sets the stall timeout (milliseconds).
    pub const fn with_stall_timeout_ms(mut self, ms: u64) -> Self {
        self.stall_timeout_ms = ms;
        self
    }

    /// Sets the idle timeout (milliseconds, 0 = none).
    pub const fn with_idle_timeout_ms(mut self, ms: u64) -> Self {
        self.idle_timeout_ms = ms;
        self
    }

    pub(crate) fn credentials(&self, user: &str) -> Option<Credentials<'a>> {
        self.users.iter().find(|u| u.name == user).map(|u| u.credentials)
    }
}
