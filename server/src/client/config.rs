//! Where to connect, as whom, and how safely: libpq's settings from a URL,
//! from `PG*` environment variables, or set field by field.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use postwire_codec::frontend::ProtocolVersion;
pub use postwire_codec::session::frontend::ChannelBinding;

use super::ClientError;

/// Whether to use TLS and how much to trust the server's certificate, as
/// libpq's `sslmode`. TLS is never used on Unix sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Clear text only.
    Disable,
    /// Clear text first; TLS only if the server refuses the clear-text login.
    Allow,
    /// TLS if the server offers it, clear text otherwise (libpq's default).
    /// Any certificate is accepted.
    #[default]
    Prefer,
    /// TLS or fail. Any certificate is accepted, unless `sslrootcert` is
    /// set: then the chain is checked as with [`SslMode::VerifyCa`], as libpq does.
    Require,
    /// TLS, with a certificate chaining to `sslrootcert`; any host name.
    VerifyCa,
    /// TLS, with a certificate chaining to `sslrootcert` and naming the host.
    VerifyFull,
}

impl SslMode {
    /// Whether a connection without TLS is refused.
    pub fn requires_tls(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl FromStr for SslMode {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, ClientError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return Err(invalid("sslmode", s)),
        })
    }
}

/// How TLS starts, as libpq's `sslnegotiation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslNegotiation {
    /// An SSLRequest first, then the handshake if the server agrees.
    #[default]
    Postgres,
    /// The TLS handshake right away, with ALPN `postgresql` (PostgreSQL 17+).
    /// Needs an `sslmode` that requires TLS.
    Direct,
}

impl FromStr for SslNegotiation {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, ClientError> {
        match s {
            "postgres" => Ok(SslNegotiation::Postgres),
            "direct" => Ok(SslNegotiation::Direct),
            _ => Err(invalid("sslnegotiation", s)),
        }
    }
}

/// Connection settings. Build it literally (with `..Default::default()`),
/// with the `with_*` methods, from a URL ([`ClientConfig::from_url`]) or
/// from the environment ([`ClientConfig::from_env`]).
#[derive(Clone)]
pub struct ClientConfig {
    /// Host name or address; a path starting with `/` is a socket directory.
    /// The name is also what `verify-full` checks the certificate against.
    pub host: String,
    /// The address to connect to instead of resolving `host` (libpq's
    /// `hostaddr`); `host` is still used to check the certificate.
    pub hostaddr: Option<IpAddr>,
    /// TCP port (also names the Unix socket `.s.PGSQL.<port>`).
    pub port: u16,
    /// The role to log in as.
    pub user: String,
    /// The password, for password, MD5 and SCRAM logins.
    pub password: Option<String>,
    /// The database; the user name when empty.
    pub database: String,
    /// `application_name`, if any.
    pub application_name: Option<String>,
    /// Whether to use TLS and which certificates to trust.
    pub ssl_mode: SslMode,
    /// A PEM file of trusted CA certificates (libpq's `sslrootcert`). For
    /// `verify-ca`/`verify-full` it defaults to `~/.postgresql/root.crt`.
    pub ssl_root_cert: Option<PathBuf>,
    /// A PEM file with the client's certificate chain (libpq's `sslcert`),
    /// sent when the server asks for one (`cert` authentication, or
    /// `clientcert=verify-ca|verify-full` in `pg_hba.conf`). Needs `ssl_key`.
    pub ssl_cert: Option<PathBuf>,
    /// The PEM file with that certificate's private key (libpq's `sslkey`).
    pub ssl_key: Option<PathBuf>,
    /// SSLRequest first, or direct TLS.
    pub ssl_negotiation: SslNegotiation,
    /// Whether SCRAM must, may or must not bind to the TLS channel
    /// (SCRAM-SHA-256-PLUS).
    pub channel_binding: ChannelBinding,
    /// How long connecting and logging in may take (`None`: no limit).
    pub connect_timeout: Option<Duration>,
    /// The oldest protocol version accepted from the server.
    pub min_protocol_version: ProtocolVersion,
    /// The protocol version asked for; when a server refuses it with an
    /// error, the client connects again with `min_protocol_version`.
    pub max_protocol_version: ProtocolVersion,
    /// The largest SCRAM iteration count accepted from a server.
    pub max_scram_iterations: u32,
    /// Prepared statements cached per connection (least recently used out
    /// first); 0 prepares every query anew as the unnamed statement.
    pub statement_cache_size: usize,
    /// Notifications buffered for [`Client::notifications`](super::Client::notifications);
    /// more are dropped (and counted) rather than stalling the connection.
    pub notification_capacity: usize,
}

impl Default for ClientConfig {
    /// libpq's defaults, without reading the environment: localhost:5432,
    /// `sslmode=prefer`, `channel_binding=prefer`, protocol 3.0 to 3.2.
    fn default() -> Self {
        ClientConfig {
            host: "localhost".into(),
            hostaddr: None,
            port: 5432,
            user: String::new(),
            password: None,
            database: String::new(),
            application_name: None,
            ssl_mode: SslMode::Prefer,
            ssl_root_cert: None,
            ssl_cert: None,
            ssl_key: None,
            ssl_negotiation: SslNegotiation::Postgres,
            channel_binding: ChannelBinding::Prefer,
            connect_timeout: None,
            min_protocol_version: ProtocolVersion::V3_0,
            max_protocol_version: ProtocolVersion::V3_2,
            max_scram_iterations: postwire_codec::session::frontend::Config::DEFAULT.max_scram_iterations,
            statement_cache_size: 256,
            notification_capacity: 1024,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("host", &self.host)
            .field("hostaddr", &self.hostaddr)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("database", &self.database)
            .field("application_name", &self.application_name)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("ssl_cert", &self.ssl_cert)
            .field("ssl_key", &self.ssl_key)
            .field("ssl_negotiation", &self.ssl_negotiation)
            .field("channel_binding", &self.channel_binding)
            .field("connect_timeout", &self.connect_timeout)
            .field("min_protocol_version", &self.min_protocol_version)
            .field("max_protocol_version", &self.max_protocol_version)
            .field("max_scram_iterations", &self.max_scram_iterations)
            .field("statement_cache_size", &self.statement_cache_size)
            .field("notification_capacity", &self.notification_capacity)
            .finish()
    }
}

/// libpq's environment variables and the settings they stand for.
const ENV_VARS: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGDATABASE", "dbname"),
    ("PGAPPNAME", "application_name"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGCHANNELBINDING", "channel_binding"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGMINPROTOCOLVERSION", "min_protocol_version"),
    ("PGMAXPROTOCOLVERSION", "max_protocol_version"),
];

impl ClientConfig {
    /// Settings from a `postgres://user:password@host:port/database?key=value`
    /// URL (`postgresql://` too), on top of [`ClientConfig::from_env`]. Query
    /// keys are libpq's: `host`, `hostaddr`, `port`, `user`, `password`,
    /// `dbname`, `application_name`, `sslmode`, `sslrootcert`, `sslcert`,
    /// `sslkey`, `sslnegotiation`, `channel_binding`, `connect_timeout`,
    /// `min_protocol_version`, `max_protocol_version`, plus
    /// `max_scram_iterations`; an unknown key is an error, as in libpq.
    pub fn from_url(url: &str) -> Result<Self, ClientError> {
        Self::from_env()?.with_url(url)
    }

    /// Settings from libpq's environment variables (`PGHOST`, `PGHOSTADDR`,
    /// `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`,
    /// `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, `PGSSLNEGOTIATION`, `PGCHANNELBINDING`,
    /// `PGCONNECT_TIMEOUT`, `PGMINPROTOCOLVERSION`, `PGMAXPROTOCOLVERSION`)
    /// over libpq's defaults (localhost, 5432, the OS user). An invalid value
    /// is an error rather than ignored, so a misspelled `PGSSLMODE` cannot
    /// quietly weaken the connection.
    pub fn from_env() -> Result<Self, ClientError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with variables looked up by `var`.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let mut config =
            ClientConfig { user: var("USER").unwrap_or_else(|| "postgres".into()), ..ClientConfig::default() };
        for (name, key) in ENV_VARS {
            if let Some(value) = var(name) {
                config.set(key, &value).map_err(|e| ClientError::Config(format!("{name}: {e}")))?;
            }
        }
        Ok(config)
    }

    /// These settings overridden by those in a `postgres://` URL.
    pub fn with_url(mut self, url: &str) -> Result<Self, ClientError> {
        let parsed = url::Url::parse(url).map_err(|e| ClientError::Config(format!("{url}: {e}")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(ClientError::Config(format!("{url}: not a postgres:// URL")));
        }
        let decode =
            |s: &str| percent_decode(s).ok_or_else(|| ClientError::Config(format!("{url}: bad percent-encoding")));
        if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
            self.host = host.trim_matches(['[', ']']).to_owned();
        }
        if let Some(port) = parsed.port() {
            self.port = port;
        }
        if !parsed.username().is_empty() {
            self.user = decode(parsed.username())?;
        }
        if let Some(password) = parsed.password() {
            self.password = Some(decode(password)?);
        }
        let database = parsed.path().trim_start_matches('/');
        if !database.is_empty() {
            self.database = decode(database)?;
        }
        for (key, value) in parsed.query_pairs() {
            self.set(&key, &value)?;
        }
        Ok(self)
    }

    /// Sets one setting by its libpq name (`sslmode`, `port`…).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ClientError> {
        match key {
            "host" => self.host = value.to_owned(),
            "hostaddr" => self.hostaddr = Some(value.parse().map_err(|_| invalid(key, value))?),
            "port" => self.port = value.parse().map_err(|_| invalid(key, value))?,
            "user" => self.user = value.to_owned(),
            "password" => self.password = Some(value.to_owned()),
            "dbname" => self.database = value.to_owned(),
            "application_name" => self.application_name = Some(value.to_owned()),
            "sslmode" => self.ssl_mode = value.parse()?,
            "sslrootcert" => self.ssl_root_cert = Some(value.into()),
            "sslcert" => self.ssl_cert = Some(value.into()),
            "sslkey" => self.ssl_key = Some(value.into()),
            "sslnegotiation" => self.ssl_negotiation = value.parse()?,
            "channel_binding" => self.channel_binding = parse_channel_binding(value)?,
            "connect_timeout" => self.connect_timeout = parse_connect_timeout(value)?,
            "min_protocol_version" => self.min_protocol_version = parse_protocol_version(key, value)?,
            "max_protocol_version" => self.max_protocol_version = parse_protocol_version(key, value)?,
            "max_scram_iterations" => self.max_scram_iterations = value.parse().map_err(|_| invalid(key, value))?,
            _ => return Err(ClientError::Config(format!("unknown setting {key:?}"))),
        }
        Ok(())
    }

    /// Sets [`host`](Self::host).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Sets [`hostaddr`](Self::hostaddr).
    pub fn with_hostaddr(mut self, address: IpAddr) -> Self {
        self.hostaddr = Some(address);
        self
    }

    /// Sets [`port`](Self::port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets [`user`](Self::user).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Sets [`password`](Self::password).
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Sets [`database`](Self::database).
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = database.into();
        self
    }

    /// Sets [`application_name`](Self::application_name).
    pub fn with_application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Sets [`ssl_mode`](Self::ssl_mode).
    pub fn with_ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self
    }

    /// Sets [`ssl_root_cert`](Self::ssl_root_cert).
    pub fn with_ssl_root_cert(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.ssl_root_cert = Some(pem_file.into());
        self
    }

    /// Sets the client certificate chain and its key ([`ssl_cert`](Self::ssl_cert),
    /// [`ssl_key`](Self::ssl_key)), both PEM files.
    pub fn with_ssl_client_cert(mut self, cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        self.ssl_cert = Some(cert_file.into());
        self.ssl_key = Some(key_file.into());
        self
    }

    /// Sets [`ssl_negotiation`](Self::ssl_negotiation).
    pub fn with_ssl_negotiation(mut self, negotiation: SslNegotiation) -> Self {
        self.ssl_negotiation = negotiation;
        self
    }

    /// Sets [`channel_binding`](Self::channel_binding).
    pub fn with_channel_binding(mut self, policy: ChannelBinding) -> Self {
        self.channel_binding = policy;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets [`min_protocol_version`](Self::min_protocol_version) and
    /// [`max_protocol_version`](Self::max_protocol_version).
    pub fn with_protocol_versions(mut self, min: ProtocolVersion, max: ProtocolVersion) -> Self {
        self.min_protocol_version = min;
        self.max_protocol_version = max;
        self
    }

    /// Sets [`max_scram_iterations`](Self::max_scram_iterations).
    pub fn with_max_scram_iterations(mut self, iterations: u32) -> Self {
        self.max_scram_iterations = iterations;
        self
    }

    /// Settings that contradict each other, caught before connecting.
    pub(super) fn check(&self) -> Result<(), ClientError> {
        if self.ssl_negotiation == SslNegotiation::Direct && !self.ssl_mode.requires_tls() {
            return Err(ClientError::Config(format!(
                "sslnegotiation=direct needs sslmode require, verify-ca or verify-full, not {:?}",
                self.ssl_mode
            )));
        }
        if self.min_protocol_version > self.max_protocol_version {
            return Err(ClientError::Config(format!(
                "min_protocol_version {} is above max_protocol_version {}",
                self.min_protocol_version, self.max_protocol_version
            )));
        }
        if self.ssl_cert.is_some() != self.ssl_key.is_some() {
            return Err(ClientError::Config("sslcert and sslkey go together: set both or neither".into()));
        }
        let known = [ProtocolVersion::V3_0, ProtocolVersion::V3_2];
        if !known.contains(&self.min_protocol_version) || !known.contains(&self.max_protocol_version) {
            return Err(ClientError::Config("protocol versions must be 3.0 or 3.2".into()));
        }
        Ok(())
    }
}

fn invalid(key: &str, value: &str) -> ClientError {
    ClientError::Config(format!("invalid {key} value {value:?}"))
}

fn parse_channel_binding(value: &str) -> Result<ChannelBinding, ClientError> {
    match value {
        "disable" => Ok(ChannelBinding::Disable),
        "prefer" => Ok(ChannelBinding::Prefer),
        "require" => Ok(ChannelBinding::Require),
        _ => Err(invalid("channel_binding", value)),
    }
}

/// Seconds; 0 waits forever and 1 means 2, as in libpq (too short for a
/// TLS handshake on a slow link).
fn parse_connect_timeout(value: &str) -> Result<Option<Duration>, ClientError> {
    match value.trim().parse::<u64>().map_err(|_| invalid("connect_timeout", value))? {
        0 => Ok(None),
        seconds => Ok(Some(Duration::from_secs(seconds.max(2)))),
    }
}

/// `3.0`, `3.2` or `latest` (3.2), as libpq 18.
fn parse_protocol_version(key: &str, value: &str) -> Result<ProtocolVersion, ClientError> {
    match value {
        "3.0" => Ok(ProtocolVersion::V3_0),
        "3.2" | "latest" => Ok(ProtocolVersion::V3_2),
        _ => Err(invalid(key, value)),
    }
}

/// `%XX` escapes decoded; `None` for invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<ClientConfig, ClientError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ClientConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn urls() {
        let base = env(&[]).unwrap();
        let c = base.clone().with_url("postgres://al%40ice:p%2Fw@db.example:6543/shop?application_name=x").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.user.as_str()), ("db.example", 6543, "al@ice"));
        assert_eq!((c.password.as_deref(), c.database.as_str()), (Some("p/w"), "shop"));
        assert_eq!(c.application_name.as_deref(), Some("x"));
        let c = base.clone().with_url("postgresql://bob@[::1]/db?host=/tmp").unwrap();
        assert_eq!((c.host.as_str(), c.user.as_str()), ("/tmp", "bob"));
        assert!(base.clone().with_url("mysql://x@y/z").is_err());
        assert!(base.with_url("postgres://a:%ff@h/d").is_err());
    }

    #[test]
    fn url_query_settings() {
        let c = env(&[])
            .unwrap()
            .with_url(
                "postgres://u@db.example/d?sslmode=verify-full&sslrootcert=/ca.pem&sslnegotiation=direct\
                 &sslcert=/me.crt&sslkey=/me.key\
                 &channel_binding=require&connect_timeout=7&hostaddr=127.0.0.1&port=6000\
                 &min_protocol_version=3.2&max_protocol_version=latest&max_scram_iterations=9000&dbname=other",
            )
            .unwrap();
        assert_eq!(c.ssl_mode, SslMode::VerifyFull);
        assert_eq!(c.ssl_root_cert.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert_eq!(c.ssl_cert.as_deref(), Some(std::path::Path::new("/me.crt")));
        assert_eq!(c.ssl_key.as_deref(), Some(std::path::Path::new("/me.key")));
        assert_eq!(c.ssl_negotiation, SslNegotiation::Direct);
        assert_eq!(c.channel_binding, ChannelBinding::Require);
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(c.hostaddr, Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!((c.host.as_str(), c.port, c.database.as_str()), ("db.example", 6000, "other"));
        assert_eq!((c.min_protocol_version, c.max_protocol_version), (ProtocolVersion::V3_2, ProtocolVersion::V3_2));
        assert_eq!(c.max_scram_iterations, 9000);
        c.check().unwrap();

        let parse = |query: &str| env(&[]).unwrap().with_url(&format!("postgres://u@h/d?{query}"));
        assert_eq!(parse("connect_timeout=0").unwrap().connect_timeout, None);
        assert_eq!(parse("connect_timeout=1").unwrap().connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(parse("sslmode=allow").unwrap().ssl_mode, SslMode::Allow);
        assert_eq!(parse("channel_binding=disable").unwrap().channel_binding, ChannelBinding::Disable);
        for bad in [
            "sslmode=verify_full",
            "sslnegotiation=tls",
            "channel_binding=yes",
            "connect_timeout=soon",
            "max_protocol_version=3.1",
            "port=http",
            "hostaddr=localhost",
            "sslmod=require",
        ] {
            assert!(matches!(parse(bad), Err(ClientError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn contradictions_are_caught_before_connecting() {
        let direct = ClientConfig::default().with_ssl_negotiation(SslNegotiation::Direct);
        assert!(direct.check().is_err(), "direct TLS with sslmode=prefer");
        direct.with_ssl_mode(SslMode::Require).check().unwrap();
        let versions = ClientConfig::default().with_protocol_versions(ProtocolVersion::V3_2, ProtocolVersion::V3_0);
        assert!(versions.check().is_err());
        let odd =
            ClientConfig::default().with_protocol_versions(ProtocolVersion::V3_0, ProtocolVersion::from_code(0x3_0001));
        assert!(odd.check().is_err());
    }

    #[test]
    fn environment() {
        let c = env(&[]).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.user.as_str()), ("localhost", 5432, "postgres"));
        assert_eq!((c.ssl_mode, c.channel_binding), (SslMode::Prefer, ChannelBinding::Prefer));
        assert_eq!(c.max_protocol_version, ProtocolVersion::V3_2);
        let c = env(&[
            ("USER", "os-user"),
            ("PGHOST", "/run/pg"),
            ("PGPORT", "5544"),
            ("PGPASSWORD", "pw"),
            ("PGDATABASE", "app"),
            ("PGAPPNAME", "tool"),
            ("PGSSLMODE", "verify-ca"),
            ("PGSSLROOTCERT", "/etc/ca.pem"),
            ("PGSSLNEGOTIATION", "direct"),
            ("PGCHANNELBINDING", "require"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGMAXPROTOCOLVERSION", "3.0"),
            ("PGSSLCOMPRESSION", "ignored: not ours"),
        ])
        .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.user.as_str()), ("/run/pg", 5544, "os-user"));
        assert_eq!((c.password.as_deref(), c.database.as_str()), (Some("pw"), "app"));
        assert_eq!(c.application_name.as_deref(), Some("tool"));
        assert_eq!((c.ssl_mode, c.ssl_negotiation), (SslMode::VerifyCa, SslNegotiation::Direct));
        assert_eq!(c.ssl_root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(c.channel_binding, ChannelBinding::Require);
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(c.max_protocol_version, ProtocolVersion::V3_0);
        assert_eq!(env(&[("PGUSER", "pg-user"), ("USER", "os")]).unwrap().user, "pg-user");
        // Empty variables count as unset, as in libpq.
        assert_eq!(env(&[("PGSSLMODE", "")]).unwrap().ssl_mode, SslMode::Prefer);
        let err = env(&[("PGSSLMODE", "verify_full")]).unwrap_err();
        assert!(err.to_string().contains("PGSSLMODE"), "{err}");
        // The URL wins over the environment.
        let c = env(&[("PGSSLMODE", "disable"), ("PGPORT", "1")]).unwrap().with_url("postgres://h?sslmode=require");
        assert_eq!(c.map(|c| (c.ssl_mode, c.port)).unwrap(), (SslMode::Require, 1));
    }

    #[test]
    fn debug_hides_the_password() {
        let c = ClientConfig::default().with_password("hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
