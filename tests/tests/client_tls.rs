//! The tokio client's connection setup: `sslmode` from disable to
//! verify-full, `sslrootcert`, direct TLS, SCRAM-SHA-256-PLUS with
//! `channel_binding`, protocol 3.2 with the fall back to 3.0, and
//! `connect_timeout`; against postwire's own TLS server, small fake servers,
//! and, when `POSTWIRE_PG_PORT` is set (`.ci/pg-cluster.sh`), a real
//! PostgreSQL with `ssl = on`.

mod server_support;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postwire_codec::auth::ScramVerifier;
use postwire_codec::session::AuthError;
use postwire_codec::session::SessionError;
use postwire_server::client::{
    ChannelBinding, Client, ClientConfig, ClientError, ProtocolVersion, SslMode, SslNegotiation, connect,
};
use postwire_server::{Config, Credentials, Server, StaticUsers, TlsConfig, TlsMode, Value};
use server_support::Toy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("postwire-client-tls-{}-{}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate authority, written to a PEM file as `sslrootcert` wants.
struct Authority {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    file: PathBuf,
}

fn authority(dir: &TempDir, name: &str) -> Authority {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let issuer = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let file = dir.0.join(format!("{name}.pem"));
    std::fs::write(&file, issuer.pem()).unwrap();
    Authority { issuer, file }
}

/// A server certificate for localhost and 127.0.0.1 signed by `ca`.
fn server_certificate(ca: &Authority) -> TlsConfig {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
}

fn users() -> StaticUsers {
    let scram = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap();
    StaticUsers::new().user("scram", Credentials::Scram(scram.to_text().to_string())).user("trusty", Credentials::Trust)
}

async fn postwire(tls: TlsMode) -> (Server<Toy, StaticUsers>, u16) {
    let server = Server::new(Toy::default(), users(), Config::default());
    let addr = server.listen_tcp("127.0.0.1:0", tls).await.unwrap();
    (server, addr.port())
}

/// `user` at localhost (connecting to 127.0.0.1) on `port`.
fn settings(port: u16, user: &str, password: &str, database: &str) -> ClientConfig {
    ClientConfig {
        host: "localhost".into(),
        hostaddr: Some(LOOPBACK),
        port,
        user: user.into(),
        password: Some(password.into()),
        database: database.into(),
        connect_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    }
}

async fn one(client: &Client, sql: &str) -> String {
    let result = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    result.rows[0].text(0).unwrap_or_default().to_owned()
}

fn is_tls_error(result: &Result<Client, ClientError>) -> bool {
    matches!(result, Err(ClientError::Tls(_)))
}

fn is_channel_binding_refusal(result: &Result<Client, ClientError>) -> bool {
    matches!(result, Err(ClientError::Protocol(SessionError::Auth(AuthError::ChannelBindingRequired))))
}

#[tokio::test]
async fn sslmodes_against_postwire() {
    let dir = TempDir::new();
    let ca = authority(&dir, "ca");
    let stranger = authority(&dir, "stranger");
    let (server, port) = postwire(TlsMode::Optional(server_certificate(&ca))).await;
    let base = settings(port, "scram", "pencil", "db");
    let tls_of_last_session = || server.service().clients.lock().unwrap().last().unwrap().tls;

    // require: TLS, any certificate.
    let client = connect(&base.clone().with_ssl_mode(SslMode::Require)).await.unwrap();
    assert_eq!(client.simple_query("SELECT 2").await.unwrap().rows.len(), 2);
    assert!(tls_of_last_session());
    // prefer (the default) upgrades too.
    connect(&base).await.unwrap();
    assert!(tls_of_last_session());
    // disable stays in clear text.
    connect(&base.clone().with_ssl_mode(SslMode::Disable)).await.unwrap();
    assert!(!tls_of_last_session());
    // allow starts in clear text and stays there when that works.
    connect(&base.clone().with_ssl_mode(SslMode::Allow)).await.unwrap();
    assert!(!tls_of_last_session());

    // verify-full: the chain and the name.
    let verify_full = base.clone().with_ssl_mode(SslMode::VerifyFull).with_ssl_root_cert(&ca.file);
    connect(&verify_full).await.unwrap();
    assert!(tls_of_last_session());
    connect(&verify_full.clone().with_host("127.0.0.1")).await.expect("an IP address in the certificate");
    let wrong_name = verify_full.clone().with_host("db.example");
    let result = connect(&wrong_name).await;
    assert!(is_tls_error(&result), "{result:?}");
    // verify-ca does not look at the name.
    connect(&wrong_name.clone().with_ssl_mode(SslMode::VerifyCa)).await.expect("verify-ca ignores the host name");
    // Neither accepts a certificate from another authority…
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let result = connect(&base.clone().with_ssl_mode(mode).with_ssl_root_cert(&stranger.file)).await;
        assert!(is_tls_error(&result), "{mode:?}: {result:?}");
    }
    // …nor does require once it has a root certificate, as in libpq.
    let result = connect(&base.clone().with_ssl_mode(SslMode::Require).with_ssl_root_cert(&stranger.file)).await;
    assert!(is_tls_error(&result), "{result:?}");
    // A root certificate file that is missing is a settings error.
    let result = connect(&verify_full.clone().with_ssl_root_cert(dir.0.join("missing.pem"))).await;
    assert!(matches!(result, Err(ClientError::Config(_))), "{result:?}");
}

#[tokio::test]
async fn scram_sha_256_plus_against_postwire() {
    let dir = TempDir::new();
    let ca = authority(&dir, "ca");
    let (server, port) = postwire(TlsMode::Optional(server_certificate(&ca))).await;
    let base = settings(port, "scram", "pencil", "db").with_ssl_mode(SslMode::Require);

    // The machine refuses to finish a login without channel binding under
    // require, so getting in proves SCRAM-SHA-256-PLUS was used.
    let bound = connect(&base.clone().with_channel_binding(ChannelBinding::Require)).await.expect("SCRAM-PLUS");
    assert_eq!(one(&bound, "SELECT 1").await, "1");
    assert!(server.service().clients.lock().unwrap().last().unwrap().tls);
    // Traffic both ways through TLS: a 1 MB value, and 500 queries pipelined
    // (many requests per write, answers in order).
    assert_eq!(one(&bound, "BIG 1000000").await.len(), 1_000_000);
    let calls = (0..500).map(|i| {
        let client = bound.clone();
        async move { client.query("SELECT $1::int4", &[Value::Int4(i)]).await.unwrap().rows[0].get::<i32>(0).unwrap() }
    });
    let answers: Vec<Option<i32>> = futures_util::future::join_all(calls).await;
    assert_eq!(answers, (0..500).map(Some).collect::<Vec<_>>());
    // A wrong password still fails under channel binding.
    let result = connect(&base.clone().with_channel_binding(ChannelBinding::Require).with_password("nope")).await;
    assert_eq!(result.err().and_then(|e| e.code().map(str::to_owned)).as_deref(), Some("28P01"));
    connect(&base.clone().with_channel_binding(ChannelBinding::Disable)).await.expect("plain SCRAM over TLS");
    // A trust login never binds, so require refuses it.
    let trusty = settings(port, "trusty", "", "db").with_channel_binding(ChannelBinding::Require);
    let result = connect(&trusty).await;
    assert!(is_channel_binding_refusal(&result), "{result:?}");
}

#[tokio::test]
async fn a_server_without_tls() {
    let (server, port) = postwire(TlsMode::Disabled).await;
    let base = settings(port, "scram", "pencil", "db");
    // prefer falls back to clear text on the same connection.
    let client = connect(&base).await.unwrap();
    assert_eq!(one(&client, "SELECT 1").await, "1");
    assert!(!server.service().clients.lock().unwrap()[0].tls);
    // require, verify-ca and verify-full fail cleanly.
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let dir = TempDir::new();
        let ca = authority(&dir, "ca");
        let result = connect(&base.clone().with_ssl_mode(mode).with_ssl_root_cert(&ca.file)).await;
        assert!(is_tls_error(&result), "{mode:?}: {result:?}");
    }
    // channel_binding=require needs TLS.
    let result = connect(&base.clone().with_channel_binding(ChannelBinding::Require)).await;
    assert!(is_channel_binding_refusal(&result), "{result:?}");
    let disabled = base.with_ssl_mode(SslMode::Disable).with_channel_binding(ChannelBinding::Require);
    assert!(is_channel_binding_refusal(&connect(&disabled).await));
    assert_eq!(server.service().clients.lock().unwrap().len(), 1, "no refused login reached a session");
}

#[tokio::test]
async fn direct_tls_against_postwire() {
    let dir = TempDir::new();
    let ca = authority(&dir, "ca");
    let (server, port) = postwire(TlsMode::Required(server_certificate(&ca))).await;
    let direct = settings(port, "scram", "pencil", "db")
        .with_ssl_negotiation(SslNegotiation::Direct)
        .with_ssl_mode(SslMode::VerifyFull)
        .with_ssl_root_cert(&ca.file)
        .with_channel_binding(ChannelBinding::Require);
    let client = connect(&direct).await.expect("direct TLS");
    assert_eq!(one(&client, "SELECT 1").await, "1");
    let session = server.service().clients.lock().unwrap()[0].clone();
    assert!(session.tls);
    assert_eq!(session.protocol_version, postwire_codec::frontend::ProtocolVersion::V3_2);
    // Direct TLS with an sslmode that allows clear text is refused up front,
    // as in libpq.
    let result = connect(&direct.clone().with_ssl_mode(SslMode::Prefer)).await;
    assert!(matches!(result, Err(ClientError::Config(_))), "{result:?}");
    // A listener without TLS hangs up on a TLS handshake.
    let (_plain, plain_port) = postwire(TlsMode::Disabled).await;
    let result = connect(&direct.clone().with_port(plain_port)).await;
    assert!(is_tls_error(&result), "{result:?}");
    // The TLS-only listener refuses clear text with 28000.
    let result = connect(&settings(port, "scram", "pencil", "db").with_ssl_mode(SslMode::Disable)).await;
    assert_eq!(result.err().and_then(|e| e.code().map(str::to_owned)).as_deref(), Some("28000"));
    // allow retries with TLS after that refusal.
    connect(&settings(port, "scram", "pencil", "db").with_ssl_mode(SslMode::Allow)).await.expect("allow upgrades");
    assert!(server.service().clients.lock().unwrap().last().unwrap().tls);
}

/// One backend message: tag, length, body.
fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

const SSL_REQUEST: u32 = 80877103;

/// A server that speaks only protocol 3.0 and refuses anything newer with
/// the FATAL error old servers (and some poolers) send. It logs
/// everyone in and records the versions asked for (and SSLRequests). It
/// declines TLS, or with `broken_tls` accepts it and hangs up.
async fn old_server(broken_tls: bool) -> (u16, Arc<Mutex<Vec<u32>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let versions = Arc::new(Mutex::new(Vec::new()));
    let seen = versions.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let version = loop {
                    let length = socket.read_u32().await.unwrap() as usize;
                    let mut body = vec![0; length - 4];
                    socket.read_exact(&mut body).await.unwrap();
                    let code = u32::from_be_bytes(body[..4].try_into().unwrap());
                    if code != SSL_REQUEST {
                        break code;
                    }
                    if broken_tls {
                        seen.lock().unwrap().push(code);
                        let _ = socket.write_all(b"S").await;
                        return;
                    }
                    socket.write_all(b"N").await.unwrap();
                };
                seen.lock().unwrap().push(version);
                if version != 0x3_0000 {
                    let mut fields = Vec::new();
                    for (field, value) in [
                        (b'S', "FATAL"),
                        (b'V', "FATAL"),
                        (b'C', "0A000"),
                        (b'M', "unsupported frontend protocol 3.2: server supports 3.0 to 3.0"),
                    ] {
                        fields.push(field);
                        fields.extend_from_slice(value.as_bytes());
                        fields.push(0);
                    }
                    fields.push(0);
                    let _ = socket.write_all(&message(b'E', &fields)).await;
                    return;
                }
                let mut login = message(b'R', &0u32.to_be_bytes());
                login.extend(message(b'K', &[0, 0, 0, 7, 1, 2, 3, 4]));
                login.extend(message(b'Z', b"I"));
                socket.write_all(&login).await.unwrap();
                // Until Terminate and close.
                let mut rest = Vec::new();
                let _ = socket.read_to_end(&mut rest).await;
            });
        }
    });
    (port, versions)
}

#[tokio::test]
async fn protocol_3_2_falls_back_to_3_0_once() {
    let (port, versions) = old_server(false).await;
    let base = settings(port, "anyone", "", "db");
    let client = connect(&base).await.expect("3.0 after the refusal");
    assert!(!client.is_closed());
    assert_eq!(*versions.lock().unwrap(), [0x3_0002, 0x3_0000]);
    // No retry when 3.2 is the minimum: the server's error comes back.
    versions.lock().unwrap().clear();
    let only_3_2 = base.clone().with_protocol_versions(ProtocolVersion::V3_2, ProtocolVersion::V3_2);
    let err = connect(&only_3_2).await.expect_err("3.2 is refused");
    assert_eq!(err.code(), Some("0A000"), "{err}");
    assert_eq!(*versions.lock().unwrap(), [0x3_0002]);
    // Asking for 3.0 right away needs no retry.
    versions.lock().unwrap().clear();
    let url = format!("postgres://anyone@127.0.0.1:{port}/db?max_protocol_version=3.0&sslmode=disable");
    connect(&ClientConfig::from_url(&url).unwrap()).await.unwrap();
    assert_eq!(*versions.lock().unwrap(), [0x3_0000]);
}

#[tokio::test]
async fn prefer_falls_back_to_clear_text_after_a_failed_handshake() {
    let (port, seen) = old_server(true).await;
    let base = settings(port, "anyone", "", "db").with_protocol_versions(ProtocolVersion::V3_0, ProtocolVersion::V3_0);
    connect(&base).await.expect("clear text on a new connection");
    assert_eq!(*seen.lock().unwrap(), [SSL_REQUEST, 0x3_0000]);
    seen.lock().unwrap().clear();
    let result = connect(&base.with_ssl_mode(SslMode::Require)).await;
    assert!(is_tls_error(&result), "{result:?}");
    assert_eq!(*seen.lock().unwrap(), [SSL_REQUEST], "require never falls back");
}

#[tokio::test]
async fn connect_timeout_bounds_a_silent_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and never answers.
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let start = Instant::now();
    let config = settings(port, "anyone", "", "db").with_connect_timeout(Duration::from_millis(300));
    let err = connect(&config).await.expect_err("a timeout");
    assert!(matches!(&err, ClientError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    held.abort();
}

/// The real clusters from `.ci/pg-cluster.sh`.
struct RealServers {
    /// Without TLS.
    plain_port: u16,
    /// With `ssl = on`.
    tls_port: u16,
    /// The CA of the TLS cluster's certificate.
    ca: PathBuf,
    /// The role fe_cert's client certificate and key.
    client_cert: PathBuf,
    client_key: PathBuf,
}

/// The real clusters, or `None` (with a message) when `.ci/pg-cluster.sh`
/// is not running.
fn real_servers() -> Option<RealServers> {
    let Some(plain_port) = std::env::var("POSTWIRE_PG_PORT").ok().and_then(|p| p.parse().ok()) else {
        eprintln!("POSTWIRE_PG_PORT unset: the real-server TLS client tests are skipped (.ci/pg-cluster.sh)");
        return None;
    };
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("POSTWIRE_PG_PORT is set but {name} is not: use .ci/pg-cluster.sh"))
    };
    let tls_port = var("POSTWIRE_PG_TLS_PORT").parse().expect("POSTWIRE_PG_TLS_PORT is a port number");
    Some(RealServers {
        plain_port,
        tls_port,
        ca: var("POSTWIRE_PG_SSL_ROOT_CERT").into(),
        client_cert: var("POSTWIRE_PG_SSL_CLIENT_CERT").into(),
        client_key: var("POSTWIRE_PG_SSL_CLIENT_KEY").into(),
    })
}

async fn uses_tls(client: &Client) -> bool {
    one(client, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").await == "t"
}

#[tokio::test]
async fn sslmodes_against_a_real_postgresql() {
    let Some(RealServers { plain_port, tls_port: port, ca, .. }) = real_servers() else { return };
    let tls_only = settings(port, "fe_tls", "tls-secret", "fe");

    let client = connect(&tls_only.clone().with_ssl_mode(SslMode::Require)).await.expect("require");
    assert!(uses_tls(&client).await);
    let verify_full = tls_only.clone().with_ssl_mode(SslMode::VerifyFull).with_ssl_root_cert(&ca);
    let client = connect(&verify_full).await.expect("verify-full");
    assert!(uses_tls(&client).await);
    let wrong_name = verify_full.clone().with_host("db.example");
    let result = connect(&wrong_name).await;
    assert!(is_tls_error(&result), "{result:?}");
    connect(&wrong_name.with_ssl_mode(SslMode::VerifyCa)).await.expect("verify-ca ignores the host name");
    let dir = TempDir::new();
    let stranger = authority(&dir, "stranger");
    let result =
        connect(&verify_full.clone().with_ssl_mode(SslMode::VerifyCa).with_ssl_root_cert(&stranger.file)).await;
    assert!(is_tls_error(&result), "{result:?}");

    // hostssl only: clear text is refused with 28000, and allow retries with TLS.
    let err = connect(&tls_only.clone().with_ssl_mode(SslMode::Disable)).await.expect_err("hostnossl reject");
    assert_eq!(err.code(), Some("28000"), "{err}");
    let client = connect(&tls_only.clone().with_ssl_mode(SslMode::Allow)).await.expect("allow upgrades");
    assert!(uses_tls(&client).await);

    // The other roles are on `host` lines: prefer takes TLS, disable does not.
    let scram = settings(port, "fe_scram", "scram-secret", "fe");
    assert!(uses_tls(&connect(&scram).await.unwrap()).await);
    assert!(!uses_tls(&connect(&scram.clone().with_ssl_mode(SslMode::Disable)).await.unwrap()).await);
    // Against the cluster without TLS, prefer falls back to clear text and
    // require fails cleanly.
    let plain = scram.clone().with_port(plain_port);
    assert!(!uses_tls(&connect(&plain).await.expect("prefer in clear text")).await);
    let result = connect(&plain.with_ssl_mode(SslMode::Require)).await;
    assert!(is_tls_error(&result), "{result:?}");

    // All of it from a URL.
    let url = format!(
        "postgres://fe_tls:tls-secret@localhost:{port}/fe?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}\
         &channel_binding=require&connect_timeout=10&application_name=tls-url",
        ca.display()
    );
    let client = connect(&ClientConfig::from_url(&url).unwrap()).await.expect("URL settings");
    assert!(uses_tls(&client).await);
    assert_eq!(one(&client, "SHOW application_name").await, "tls-url");
}

#[tokio::test]
async fn client_certificate_login_to_a_real_postgresql() {
    let Some(RealServers { tls_port: port, ca, client_cert, client_key, .. }) = real_servers() else { return };
    // `cert` authentication: the certificate's CN is the role; no password.
    let without = settings(port, "fe_cert", "", "fe").with_ssl_mode(SslMode::VerifyFull).with_ssl_root_cert(&ca);
    let with = without.clone().with_ssl_client_cert(&client_cert, &client_key);
    let client = connect(&with).await.expect("a certificate login");
    assert_eq!(one(&client, "SELECT current_user").await, "fe_cert");
    assert!(uses_tls(&client).await);
    // From a URL too.
    let url = format!(
        "postgres://fe_cert@localhost:{port}/fe?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        ca.display(),
        client_cert.display(),
        client_key.display()
    );
    let client = connect(&ClientConfig::from_url(&url).unwrap()).await.expect("a certificate login from a URL");
    assert_eq!(one(&client, "SELECT current_user").await, "fe_cert");

    // Without a certificate the server refuses the role (FATAL 28000).
    let err = connect(&without).await.expect_err("no certificate");
    assert_eq!(err.code(), Some("28000"), "{err}");
    // The certificate names fe_cert: it does not log in as another role.
    let err = connect(&with.clone().with_user("fe_tls")).await.expect_err("another role");
    assert!(err.code().is_some(), "{err}");
    // A certificate without its key, or a key that is not one, is a
    // configuration error before any connection.
    let mut half = with.clone();
    half.ssl_key = None;
    assert!(matches!(connect(&half).await, Err(ClientError::Config(_))));
    let wrong_key = with.with_ssl_client_cert(&client_cert, &client_cert);
    assert!(matches!(connect(&wrong_key).await, Err(ClientError::Config(_))));
}

#[tokio::test]
async fn scram_sha_256_plus_against_a_real_postgresql() {
    let Some(RealServers { tls_port: port, ca, .. }) = real_servers() else { return };
    let bound = settings(port, "fe_tls", "tls-secret", "fe")
        .with_ssl_mode(SslMode::VerifyFull)
        .with_ssl_root_cert(&ca)
        .with_channel_binding(ChannelBinding::Require);
    // Logging in under require proves SCRAM-SHA-256-PLUS was used.
    let client = connect(&bound).await.expect("SCRAM-SHA-256-PLUS");
    assert!(uses_tls(&client).await);
    let err = connect(&bound.clone().with_password("wrong")).await.expect_err("a wrong password");
    assert_eq!(err.code(), Some("28P01"), "{err}");
    // Without TLS there is nothing to bind to.
    let scram = settings(port, "fe_scram", "scram-secret", "fe").with_channel_binding(ChannelBinding::Require);
    let result = connect(&scram.clone().with_ssl_mode(SslMode::Disable)).await;
    assert!(is_channel_binding_refusal(&result), "{result:?}");
    // md5 cannot bind either.
    let md5 = settings(port, "fe_md5", "md5-secret", "fe").with_channel_binding(ChannelBinding::Require);
    assert!(is_channel_binding_refusal(&connect(&md5).await));
}

#[tokio::test]
async fn protocol_versions_against_a_real_postgresql() {
    let Some(RealServers { tls_port: port, .. }) = real_servers() else { return };
    let trust = settings(port, "fe_trust", "", "fe");
    let server_version: u32 = {
        let client = connect(&trust).await.expect("3.2 asked, whatever the server speaks");
        one(&client, "SHOW server_version_num").await.parse().unwrap()
    };
    let only_3_2 = trust.clone().with_protocol_versions(ProtocolVersion::V3_2, ProtocolVersion::V3_2);
    let result = connect(&only_3_2).await;
    if server_version < 180000 {
        // NegotiateProtocolVersion offers 3.0, below the minimum.
        assert!(matches!(result, Err(ClientError::Config(_))), "{result:?}");
    } else {
        let client = result.expect("PostgreSQL 18 speaks 3.2");
        // Protocol 3.2's cancel key is 32 bytes, and a CancelRequest must
        // carry all of it.
        let token = client.cancel_token().expect("a cancel key");
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            token.cancel().await
        });
        let err = client.simple_query("SELECT pg_sleep(30)").await.expect_err("cancelled");
        assert_eq!(err.code(), Some("57014"), "{err}");
        canceller.await.unwrap().unwrap();
    }
    let only_3_0 = trust.with_protocol_versions(ProtocolVersion::V3_0, ProtocolVersion::V3_0);
    assert_eq!(one(&connect(&only_3_0).await.unwrap(), "SELECT 1").await, "1");
}

#[tokio::test]
async fn unix_socket_to_a_real_postgresql() {
    // The TLS cluster's socket is in the same directory.
    let Some(RealServers { tls_port: port, .. }) = real_servers() else { return };
    let dir = std::env::var("POSTWIRE_PG_SOCKET_DIR").expect("POSTWIRE_PG_SOCKET_DIR with POSTWIRE_PG_PORT");
    assert!(Path::new(&dir).is_absolute());
    // sslmode is ignored on Unix sockets, as in libpq.
    let unix = ClientConfig { host: dir, hostaddr: None, ..settings(port, "fe_trust", "", "fe") }
        .with_ssl_mode(SslMode::Require);
    let client = connect(&unix).await.expect("Unix socket");
    assert_eq!(one(&client, "SELECT 7").await, "7");
    assert!(!uses_tls(&client).await);
    assert_eq!(
        one(&client, "SELECT client_addr IS NULL FROM pg_stat_activity WHERE pid = pg_backend_pid()").await,
        "t"
    );
    let result = connect(&unix.with_channel_binding(ChannelBinding::Require)).await;
    assert!(is_channel_binding_refusal(&result), "{result:?}");
}
