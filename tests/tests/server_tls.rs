//! The server's TLS: SSLRequest upgrade, PostgreSQL 17 direct TLS with ALPN,
//! TLS-only listeners, and the channel-binding data, against tokio-postgres
//! with rustls.

mod server_support;

use std::sync::Arc;
use std::time::Duration;

use postwire_server::{Config, Server, TlsConfig, TlsMode, Trust};
use rustls::pki_types::CertificateDer;
use server_support::{Toy, code, pg_config, simple_rows, spawn_connection};
use sha2::{Digest, Sha256};
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres_rustls::MakeRustlsConnect;

struct Certificate {
    der: CertificateDer<'static>,
    config: TlsConfig,
}

/// A self-signed certificate for localhost, loaded from PEM files as a
/// server operator would.
fn certificate() -> Certificate {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    let dir = std::env::temp_dir().join(format!("postwire-tls-{}-{}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let config = TlsConfig::from_pem_files(&cert_path, &key_path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    Certificate { der: cert.der().clone(), config }
}

fn connector(cert: &Certificate, alpn: bool) -> MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    if alpn {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    MakeRustlsConnect::new(config)
}

async fn server(tls: TlsMode) -> (Server<Toy, Trust>, u16) {
    let server = Server::new(Toy::default(), Trust, Config::default());
    let addr = server.listen_tcp("127.0.0.1:0", tls).await.unwrap();
    (server, addr.port())
}

fn tls_config(port: u16, mode: SslMode) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config.host("localhost").hostaddr([127, 0, 0, 1].into()).port(port).user("alice").dbname("db").ssl_mode(mode);
    config.connect_timeout(Duration::from_secs(10));
    config
}

#[tokio::test]
async fn ssl_request_upgrade_and_channel_binding_data() {
    let cert = certificate();
    let (server, port) = server(TlsMode::Optional(cert.config.clone())).await;
    let (client, connection) =
        tls_config(port, SslMode::Require).connect(connector(&cert, false)).await.expect("TLS login");
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 3").await.unwrap()).len(), 3);
    let statement = client.prepare("SELECT $1::int4").await.unwrap();
    assert_eq!(client.query_one(&statement, &[&7]).await.unwrap().get::<_, i32>(0), 7);
    // A big result through TLS.
    let rows = simple_rows(&client.simple_query("BIG 200000").await.unwrap());
    assert_eq!(rows[0][0].as_ref().map(String::len), Some(200_000));

    let info = server.service().clients.lock().unwrap()[0].clone();
    assert!(info.tls);
    // RFC 5929 tls-server-end-point for an ECDSA-SHA256 certificate.
    assert_eq!(info.tls_server_end_point.as_deref(), Some(&Sha256::digest(&cert.der)[..]));

    // Optional TLS lets plain clients in too.
    let (plain, connection) = pg_config(port).connect(tokio_postgres::NoTls).await.unwrap();
    spawn_connection(connection);
    assert_eq!(simple_rows(&plain.simple_query("SELECT 1").await.unwrap()).len(), 1);
    assert!(!server.service().clients.lock().unwrap()[1].tls);
}

#[tokio::test]
async fn direct_tls_needs_alpn_postgresql() {
    let cert = certificate();
    let (server, port) = server(TlsMode::Optional(cert.config.clone())).await;
    let mut config = tls_config(port, SslMode::Require);
    config.ssl_negotiation(SslNegotiation::Direct);
    let (client, connection) = config.connect(connector(&cert, true)).await.expect("direct TLS login");
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 2").await.unwrap()).len(), 2);
    assert!(server.service().clients.lock().unwrap()[0].tls);

    // Without ALPN the server hangs up, as PostgreSQL 17 does.
    assert!(config.connect(connector(&cert, false)).await.is_err());
    // A listener without TLS closes direct TLS connections.
    let (_plain_server, plain_port) = self::server(TlsMode::Disabled).await;
    let mut config = tls_config(plain_port, SslMode::Require);
    config.ssl_negotiation(SslNegotiation::Direct);
    assert!(config.connect(connector(&cert, true)).await.is_err());
}

#[tokio::test]
async fn tls_only_listeners_reject_plain_startups() {
    let cert = certificate();
    let (_server, port) = server(TlsMode::Required(cert.config.clone())).await;
    let err = pg_config(port).connect(tokio_postgres::NoTls).await.err().expect("plain is refused");
    assert_eq!(code(&err), "28000");
    let message = err.as_db_error().unwrap().message().to_owned();
    assert_eq!(message, "no pg_hba.conf entry for host \"127.0.0.1\", user \"alice\", database \"db\", no encryption");
    // sslmode=prefer upgrades and gets in.
    let (client, connection) = tls_config(port, SslMode::Prefer).connect(connector(&cert, false)).await.unwrap();
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
}

#[tokio::test]
async fn listeners_without_tls_decline_ssl_requests() {
    let cert = certificate();
    let (_server, port) = server(TlsMode::Disabled).await;
    // prefer: declined with N, then plain.
    let (client, connection) = tls_config(port, SslMode::Prefer).connect(connector(&cert, false)).await.unwrap();
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
    // require: the client gives up.
    let failed = tokio::time::timeout(
        Duration::from_secs(10),
        tls_config(port, SslMode::Require).connect(connector(&cert, false)),
    )
    .await
    .unwrap();
    assert!(failed.is_err());
}

#[tokio::test]
async fn scram_sha_256_plus_with_channel_binding_required() {
    use postwire_codec::auth::ScramVerifier;
    use postwire_server::{Credentials, StaticUsers};
    use tokio_postgres::config::ChannelBinding;

    let cert = certificate();
    let verifier = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap();
    let users = StaticUsers::new().user("alice", Credentials::Scram(verifier.to_text().to_string()));
    let server = Server::new(Toy::default(), users, Config::default());
    let port = server.listen_tcp("127.0.0.1:0", TlsMode::Optional(cert.config.clone())).await.unwrap().port();

    let mut config = tls_config(port, SslMode::Require);
    config.password("pencil").channel_binding(ChannelBinding::Require);
    let (client, connection) = config.connect(connector(&cert, false)).await.expect("SCRAM-SHA-256-PLUS login");
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 2").await.unwrap()).len(), 2);

    config.password("wrong");
    let err = config.connect(connector(&cert, false)).await.err().expect("wrong password");
    assert_eq!(code(&err), "28P01");

    // Without TLS there is nothing to bind to: a client that requires it gives up.
    let mut plain = pg_config(port);
    plain.channel_binding(ChannelBinding::Require);
    assert!(plain.connect(tokio_postgres::NoTls).await.is_err());
    // Without requiring it, plain SCRAM works.
    plain.channel_binding(ChannelBinding::Disable);
    let (client, connection) = plain.connect(tokio_postgres::NoTls).await.expect("SCRAM-SHA-256 login");
    spawn_connection(connection);
    assert_eq!(simple_rows(&client.simple_query("SELECT 1").await.unwrap()).len(), 1);
}
