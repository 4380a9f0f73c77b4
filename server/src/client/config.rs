//! Where to connect and as whom.

use super::ClientError;

/// Connection settings: host (a name, an address, or a Unix socket
/// directory starting with `/`), port, user, password, database.
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// Host name or address; a path starting with `/` is a socket directory.
    pub host: String,
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
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("database", &self.database)
            .finish()
    }
}

impl ClientConfig {
    /// Settings from a `postgres://user:password@host:port/database` URL
    /// (`postgresql://` too), on top of [`ClientConfig::from_env`].
    pub fn from_url(url: &str) -> Result<Self, ClientError> {
        let parsed = url::Url::parse(url).map_err(|e| ClientError::Config(format!("{url}: {e}")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(ClientError::Config(format!("{url}: not a postgres:// URL")));
        }
        let mut config = Self::from_env();
        let decode =
            |s: &str| percent_decode(s).ok_or_else(|| ClientError::Config(format!("{url}: bad percent-encoding")));
        if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
            config.host = host.trim_matches(['[', ']']).to_owned();
        }
        if let Some(port) = parsed.port() {
            config.port = port;
        }
        if !parsed.username().is_empty() {
            config.user = decode(parsed.username())?;
        }
        if let Some(password) = parsed.password() {
            config.password = Some(decode(password)?);
        }
        let database = parsed.path().trim_start_matches('/');
        if !database.is_empty() {
            config.database = decode(database)?;
        }
        for (key, value) in parsed.query_pairs() {
            match &*key {
                "host" => config.host = value.into_owned(),
                "application_name" => config.application_name = Some(value.into_owned()),
                _ => {}
            }
        }
        Ok(config)
    }

    /// Settings from libpq's environment variables (`PGHOST`, `PGPORT`,
    /// `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`), with libpq's
    /// defaults (localhost, 5432, the OS user).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        ClientConfig {
            host: var("PGHOST").unwrap_or_else(|| "localhost".into()),
            port: var("PGPORT").and_then(|p| p.parse().ok()).unwrap_or(5432),
            user: var("PGUSER").or_else(|| var("USER")).unwrap_or_else(|| "postgres".into()),
            password: var("PGPASSWORD"),
            database: var("PGDATABASE").unwrap_or_default(),
            application_name: var("PGAPPNAME"),
        }
    }
}

/// `%XX` escapes decoded; `None` for invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = ClientConfig::from_url("postgres://al%40ice:p%2Fw@db.example:6543/shop?application_name=x").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.user.as_str()), ("db.example", 6543, "al@ice"));
        assert_eq!((c.password.as_deref(), c.database.as_str()), (Some("p/w"), "shop"));
        assert_eq!(c.application_name.as_deref(), Some("x"));
        let c = ClientConfig::from_url("postgresql://bob@[::1]/db?host=/tmp").unwrap();
        assert_eq!((c.host.as_str(), c.user.as_str()), ("/tmp", "bob"));
        assert!(ClientConfig::from_url("mysql://x@y/z").is_err());
        assert!(ClientConfig::from_url("postgres://a:%ff@h/d").is_err());
    }
}
