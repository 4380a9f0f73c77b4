//! The throwaway PostgreSQL cluster of `.ci/pg-cluster.sh`, for the client
//! tests that need a real server: they are skipped, with a message, when its
//! environment is not set.

use postwire_server::client::{ClientConfig, SslMode};

/// The superuser `fe_trust` on database `fe` of the cluster whose port is in
/// `port_var` (`POSTWIRE_PG_PORT`, or `POSTWIRE_PG_TLS_PORT` for the one with
/// TLS), or `None` (after saying so) when it is unset.
pub(crate) fn trust_config(port_var: &str) -> Option<ClientConfig> {
    let Some(port) = std::env::var(port_var).ok().and_then(|p| p.parse().ok()) else {
        eprintln!("{port_var} unset: this real-server test is skipped (.ci/pg-cluster.sh)");
        return None;
    };
    let ssl_mode = if port_var.contains("TLS") { SslMode::Require } else { SslMode::Prefer };
    Some(ClientConfig {
        host: "127.0.0.1".into(),
        port,
        user: "fe_trust".into(),
        database: "fe".into(),
        ssl_mode,
        ..ClientConfig::default()
    })
}
