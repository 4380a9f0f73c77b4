//! Server-wide settings.

use std::time::Duration;

use postwire_codec::FrameLimits;
use postwire_codec::session::backend::ServerParameters;

/// Server-wide settings. Start from [`Config::default`] and change fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sessions served at once (PostgreSQL's `max_connections`, default 100).
    /// Up to as many more connections are let in only to be told FATAL 53300
    /// `sorry, too many clients already` (or to send a CancelRequest); beyond
    /// that, connections are closed at once.
    pub max_connections: usize,
    /// Time allowed from connecting to the first ReadyForQuery (TLS handshake,
    /// startup packet, authentication, opening the session); then the
    /// connection is closed (`authentication_timeout`, default 60 s).
    pub startup_timeout: Duration,
    /// Idle time between commands outside a transaction before FATAL 57P05
    /// (`idle_session_timeout`; default none).
    pub idle_session_timeout: Option<Duration>,
    /// Idle time inside a transaction before FATAL 25P03
    /// (`idle_in_transaction_session_timeout`; default none).
    pub idle_in_transaction_timeout: Option<Duration>,
    /// Largest startup packet and message a client may send (larger: FATAL
    /// 08P01). The input buffer grows up to this for one message.
    pub frame_limits: FrameLimits,
    /// The input buffer's usual size.
    pub input_buffer_size: usize,
    /// The output buffer's usual size: a result is sent whenever this much is
    /// queued, so a slow client slows its query down rather than making the
    /// server hold the whole result.
    pub output_buffer_size: usize,
    /// The largest single message the server sends (a DataRow with a big
    /// value, say): the output buffer grows up to this for one message.
    pub max_message_size: usize,
    /// Notifications queued per listening session before new ones are dropped.
    pub notification_queue: usize,
    /// The run-time parameters reported after authentication.
    pub parameters: Parameters,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_connections: 100,
            startup_timeout: Duration::from_secs(60),
            idle_session_timeout: None,
            idle_in_transaction_timeout: None,
            frame_limits: FrameLimits::DEFAULT,
            input_buffer_size: 8 * 1024,
            output_buffer_size: 16 * 1024,
            max_message_size: 256 * 1024 * 1024,
            notification_queue: 1024,
            parameters: Parameters::default(),
        }
    }
}

/// The ParameterStatus values sent after authentication; `application_name`,
/// `client_encoding` (UTF8) and `session_authorization` come from the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// `server_version`: clients parse it, keep it numeric first (`"18.0"`).
    pub server_version: String,
    /// `TimeZone`.
    pub time_zone: String,
    /// `DateStyle`.
    pub date_style: String,
    /// `IntervalStyle`.
    pub interval_style: String,
    /// `is_superuser`: `on` or `off`.
    pub is_superuser: bool,
    /// More parameters to report.
    pub extra: Vec<(String, String)>,
}

impl Default for Parameters {
    fn default() -> Self {
        let d = ServerParameters::DEFAULT;
        Parameters {
            server_version: d.server_version.into(),
            time_zone: d.time_zone.into(),
            date_style: d.date_style.into(),
            interval_style: d.interval_style.into(),
            is_superuser: false,
            extra: Vec::new(),
        }
    }
}

impl Parameters {
    /// The machine's view, borrowing `extra` (pairs from [`Parameters::extra`]).
    pub(crate) fn as_codec<'a>(&'a self, extra: &'a [(&'a str, &'a str)]) -> ServerParameters<'a> {
        ServerParameters {
            server_version: &self.server_version,
            time_zone: &self.time_zone,
            date_style: &self.date_style,
            interval_style: &self.interval_style,
            is_superuser: if self.is_superuser { "on" } else { "off" },
            extra,
        }
    }
}
