//! Opening a connection: the socket, TLS as `sslmode` asks, the
//! StartupMessage and authentication. What comes out is a logged-in session
//! for the connection task.
//!
//! Retries, each on a new socket, as libpq does: `sslmode=allow` tries TLS
//! after a refused clear-text login, `sslmode=prefer` clear text after a
//! failed TLS handshake, and a server that rejects protocol 3.2 at startup
//! (some poolers) gets 3.0.

use std::collections::HashMap;
use std::future::Future;

use bytes::BytesMut;
use postwire_codec::frontend::{ProtocolVersion, StartupParams};
use postwire_codec::session::frontend::{Config, Event, Frontend};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::connection::{self, IN_FLIGHT, OUTPUT};
use super::tls::{self, MaybeTls};
use super::{Client, ClientConfig, ClientError, DbError, SslMode, SslNegotiation};

/// What the server told us at login.
#[derive(Debug, Clone, Default)]
pub(super) struct SessionInfo {
    /// BackendKeyData: process id and secret key, for cancel requests.
    pub key: Option<(i32, Vec<u8>)>,
    /// ParameterStatus values at login (`server_version`, `TimeZone`…).
    pub parameters: HashMap<String, String>,
    /// Whether the connection is encrypted with TLS.
    pub tls: bool,
    /// Whether authentication used SCRAM-SHA-256-PLUS (bound to the TLS channel).
    pub channel_binding: bool,
}

/// A logged-in session, ready for the connection task.
pub(super) struct Established<S> {
    pub stream: S,
    /// Boxed: its request queue is large, and futures move it around.
    pub frontend: Box<Frontend<Vec<u8>, IN_FLIGHT>>,
    /// Bytes read past the login's ReadyForQuery.
    pub input: BytesMut,
    pub info: SessionInfo,
}

/// How a connection attempt starts encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    /// Clear text.
    None,
    /// An SSLRequest; clear text if the server refuses, unless `required`.
    SslRequest { required: bool },
    /// The TLS handshake right away (PostgreSQL 17 direct TLS).
    Direct,
}

impl Encryption {
    /// The first attempt's encryption for `config` over TCP.
    fn first(config: &ClientConfig) -> Self {
        match (config.ssl_mode, config.ssl_negotiation) {
            (SslMode::Disable | SslMode::Allow, _) => Encryption::None,
            (mode, SslNegotiation::Postgres) => Encryption::SslRequest { required: mode.requires_tls() },
            (_, SslNegotiation::Direct) => Encryption::Direct,
        }
    }
}

/// Connects, logs in, and spawns the connection task (it ends when every
/// [`Client`] is dropped, sending Terminate). TLS follows `sslmode` on TCP;
/// Unix sockets never use it, as in libpq. `connect_timeout` bounds the
/// whole of it, retries included.
pub async fn connect(config: &ClientConfig) -> Result<Client, ClientError> {
    config.check()?;
    // Boxed: the TLS handshake and login states make a large future.
    Box::pin(with_timeout(config, async {
        if config.host.starts_with('/') {
            let established = establish(config, Encryption::None, || open_unix(config)).await?;
            Ok(connection::spawn(established, config))
        } else {
            let established = establish(config, Encryption::first(config), || open_tcp(config)).await?;
            Ok(connection::spawn(established, config))
        }
    }))
    .await
}

/// Logs in over an already connected stream (a loopback pipe, say) and
/// spawns the connection task. TLS follows `sslmode` as over TCP, except
/// that nothing is retried: `allow` stays in clear text.
pub async fn connect_with<S>(stream: S, config: &ClientConfig) -> Result<Client, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    config.check()?;
    Box::pin(with_timeout(config, async {
        let established = attempt(stream, config, Encryption::first(config), config.max_protocol_version).await?;
        Ok(connection::spawn(established, config))
    }))
    .await
}

async fn with_timeout<T>(
    config: &ClientConfig,
    work: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    match config.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, work).await.map_err(|_| {
            ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connect_timeout: no session after {limit:?}"),
            ))
        })?,
        None => work.await,
    }
}

async fn open_tcp(config: &ClientConfig) -> Result<tokio::net::TcpStream, ClientError> {
    let stream = match config.hostaddr {
        Some(address) => tokio::net::TcpStream::connect((address, config.port)).await?,
        None => tokio::net::TcpStream::connect((config.host.as_str(), config.port)).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn open_unix(config: &ClientConfig) -> Result<tokio::net::UnixStream, ClientError> {
    let path = format!("{}/.s.PGSQL.{}", config.host, config.port);
    Ok(tokio::net::UnixStream::connect(path).await?)
}

/// Connection attempts on new sockets from `open` until one logs in or
/// retrying cannot help.
async fn establish<S, F, Fut>(
    config: &ClientConfig,
    mut encryption: Encryption,
    open: F,
) -> Result<Established<MaybeTls<S>>, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, ClientError>>,
{
    let mut version = config.max_protocol_version;
    loop {
        let stream = open().await?;
        let error = match attempt(stream, config, encryption, version).await {
            Ok(established) => return Ok(established),
            Err(error) => error,
        };
        if version > config.min_protocol_version && refuses_protocol_version(&error) {
            tracing::debug!(%error, "the server refused protocol {version}; trying {}", config.min_protocol_version);
            version = config.min_protocol_version;
        } else if encryption == (Encryption::SslRequest { required: false }) && matches!(error, ClientError::Tls(_)) {
            tracing::debug!(%error, "TLS handshake failed; trying clear text (sslmode=prefer)");
            encryption = Encryption::None;
        } else if config.ssl_mode == SslMode::Allow && encryption == Encryption::None && error.code().is_some() {
            tracing::debug!(%error, "clear-text login refused; trying TLS (sslmode=allow)");
            encryption = Encryption::SslRequest { required: true };
        } else {
            return Err(error);
        }
    }
}

/// A startup error from a server that cannot negotiate the minor protocol
/// version (servers without NegotiateProtocolVersion, some poolers): FATAL
/// "unsupported frontend protocol", SQLSTATE 0A000.
fn refuses_protocol_version(error: &ClientError) -> bool {
    let ClientError::Db(error) = error else { return false };
    error.message.contains("unsupported frontend protocol") || (error.severity == "FATAL" && error.code == "0A000")
}

/// One connection attempt: encryption, then login with protocol `version`.
async fn attempt<S>(
    stream: S,
    config: &ClientConfig,
    encryption: Encryption,
    version: ProtocolVersion,
) -> Result<Established<MaybeTls<S>>, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = Config::DEFAULT
        .with_protocol_version(version)
        .with_channel_binding(config.channel_binding)
        .with_max_scram_iterations(config.max_scram_iterations);
    let mut frontend = Box::new(Frontend::new(vec![0; OUTPUT], machine));
    let stream = negotiate_encryption(stream, &mut frontend, config, encryption).await?;
    let tls = matches!(stream, MaybeTls::Tls(_));
    let mut established = login(stream, frontend, config).await?;
    established.info.tls = tls;
    established.info.channel_binding = established.frontend.used_channel_binding();
    Ok(established)
}

/// Starts TLS as `encryption` says, telling `frontend` (which must not have
/// started yet) about it and the certificate's channel-binding hash.
async fn negotiate_encryption<S, const Q: usize>(
    mut stream: S,
    frontend: &mut Frontend<Vec<u8>, Q>,
    config: &ClientConfig,
    encryption: Encryption,
) -> Result<MaybeTls<S>, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let required = match encryption {
        Encryption::None => return Ok(MaybeTls::Plain(stream)),
        Encryption::Direct => {
            let handshake = tls::handshake(stream, config, true).await?;
            frontend.tls_established(handshake.end_point.as_deref())?;
            return Ok(MaybeTls::Tls(Box::new(handshake.stream)));
        }
        Encryption::SslRequest { required } => required,
    };
    frontend.request_tls()?;
    write_pending(&mut stream, frontend).await?;
    let mut answer = BytesMut::with_capacity(16);
    loop {
        if stream.read_buf(&mut answer).await? == 0 {
            return Err(ClientError::Closed);
        }
        let step = frontend.handle_input(&answer)?;
        match step.event {
            Some(Event::TlsAccepted) => {
                let handshake = tls::handshake(stream, config, false).await?;
                frontend.tls_established(handshake.end_point.as_deref())?;
                return Ok(MaybeTls::Tls(Box::new(handshake.stream)));
            }
            Some(Event::TlsRefused) if required => {
                return Err(ClientError::Tls(format!(
                    "the server does not support TLS, and sslmode {:?} requires it",
                    config.ssl_mode
                )));
            }
            Some(Event::TlsRefused) => return Ok(MaybeTls::Plain(stream)),
            _ => {}
        }
    }
}

async fn write_pending<S: AsyncWrite + Unpin, const Q: usize>(
    stream: &mut S,
    frontend: &mut Frontend<Vec<u8>, Q>,
) -> Result<(), ClientError> {
    let pending = frontend.pending_output();
    if !pending.is_empty() {
        let n = pending.len();
        stream.write_all(pending).await?;
        stream.flush().await?;
        frontend.consume_output(n);
    }
    Ok(())
}

/// Sends the StartupMessage and answers the server until ReadyForQuery.
async fn login<S>(
    mut stream: S,
    mut frontend: Box<Frontend<Vec<u8>, IN_FLIGHT>>,
    config: &ClientConfig,
) -> Result<Established<S>, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let database = if config.database.is_empty() { &config.user } else { &config.database };
    let mut params = vec![("user", config.user.as_str()), ("database", database.as_str())];
    if let Some(name) = &config.application_name {
        params.push(("application_name", name));
    }
    frontend.start(StartupParams::from_slice(&params), &mut rand::rng())?;
    let mut input = BytesMut::with_capacity(8192);
    let mut info = SessionInfo::default();
    loop {
        write_pending(&mut stream, &mut frontend).await?;
        let mut login_error = None;
        let mut ready = false;
        let step = frontend.handle_input(&input)?;
        match step.event {
            Some(Event::PasswordRequired { .. }) => {
                let password = config.password.as_deref().unwrap_or_default();
                frontend.provide_password(password.as_bytes())?;
            }
            Some(Event::Error { error, .. }) => {
                login_error = Some(ClientError::Db(Box::new(DbError::from_response(&error))))
            }
            Some(Event::ProtocolNegotiated { version, .. }) if version < config.min_protocol_version => {
                login_error = Some(ClientError::Config(format!(
                    "the server speaks protocol {version}, below min_protocol_version {}",
                    config.min_protocol_version
                )));
            }
            Some(Event::BackendKeyData { process_id, secret_key }) => {
                info.key = Some((process_id, secret_key.to_vec()));
            }
            Some(Event::ParameterStatus(status)) => {
                info.parameters.insert(status.name.to_owned(), status.value.to_owned());
            }
            Some(Event::Ready { .. }) => ready = true,
            _ => {}
        }
        let read_more = step.event.is_none() && step.consumed == 0;
        let consumed = step.consumed;
        if let Some(error) = login_error {
            return Err(error);
        }
        let _ = input.split_to(consumed);
        if ready {
            return Ok(Established { stream, frontend, input, info });
        }
        if read_more && stream.read_buf(&mut input).await? == 0 {
            return Err(ClientError::Closed);
        }
    }
}

/// Sends a CancelRequest (`request`, from the frontend machine) on a new
/// connection to the same server, encrypted as the main connection would be
/// (`sslmode`, `sslnegotiation`), and waits for the server to close it.
#[allow(dead_code)] // used by the cancel token (next commit)
pub(super) async fn send_cancel(config: &ClientConfig, request: &[u8]) -> Result<(), ClientError> {
    async fn send<S: AsyncRead + AsyncWrite + Unpin>(
        stream: S,
        config: &ClientConfig,
        encryption: Encryption,
        request: &[u8],
    ) -> Result<(), ClientError> {
        // A machine only for the SSLRequest exchange; it never starts.
        let mut frontend: Frontend<Vec<u8>, 1> = Frontend::new(vec![0; 64], Config::DEFAULT);
        let mut stream = negotiate_encryption(stream, &mut frontend, config, encryption).await?;
        stream.write_all(request).await?;
        stream.flush().await?;
        // The server answers nothing; it closes once it has read the key.
        let mut byte = [0u8; 1];
        let _ = stream.read(&mut byte).await;
        Ok(())
    }
    config.check()?;
    with_timeout(config, async {
        if config.host.starts_with('/') {
            send(open_unix(config).await?, config, Encryption::None, request).await
        } else {
            send(open_tcp(config).await?, config, Encryption::first(config), request).await
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use postwire_codec::auth::ScramVerifier;
    use tokio::net::TcpListener;

    use super::super::ChannelBinding;
    use super::*;
    use crate::{ClientInfo, Credentials, PgError, Server, StaticUsers, TlsConfig, TlsMode};

    /// Sessions that answer nothing: these tests only log in.
    struct Idle;
    impl crate::Session for Idle {}
    struct Sessions;
    impl crate::Service for Sessions {
        type Session = Idle;
        async fn open(&self, _client: &ClientInfo) -> Result<Idle, PgError> {
            Ok(Idle)
        }
    }

    fn certificate() -> TlsConfig {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
        TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
    }

    fn settings(port: u16, ssl_mode: SslMode) -> ClientConfig {
        ClientConfig::default()
            .with_hostaddr([127, 0, 0, 1].into())
            .with_port(port)
            .with_user("scram")
            .with_password("pencil")
            .with_ssl_mode(ssl_mode)
    }

    #[tokio::test]
    async fn session_info_records_tls_and_channel_binding() {
        let verifier = ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap();
        let users = StaticUsers::new().user("scram", Credentials::Scram(verifier.to_text().to_string()));
        let server = Server::new(Sessions, users, crate::Config::default());
        let port = server.listen_tcp("127.0.0.1:0", TlsMode::Optional(certificate())).await.unwrap().port();
        for (ssl_mode, binding, tls, bound) in [
            (SslMode::Require, ChannelBinding::Prefer, true, true),
            (SslMode::Require, ChannelBinding::Disable, true, false),
            (SslMode::Disable, ChannelBinding::Prefer, false, false),
        ] {
            let config = settings(port, ssl_mode).with_channel_binding(binding);
            let established = Box::pin(establish(&config, Encryption::first(&config), || open_tcp(&config))).await;
            let info = established.unwrap().info;
            assert_eq!((info.tls, info.channel_binding), (tls, bound), "{ssl_mode:?} {binding:?}");
            assert!(info.key.is_some() && info.parameters.contains_key("server_version"));
        }
    }

    /// A CancelRequest for process 7, key 1 2 3 4.
    const CANCEL: [u8; 16] = [0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 0, 0, 0, 7, 1, 2, 3, 4];
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

    /// A server for one connection: it answers an SSLRequest with `answer`
    /// and returns the CancelRequest it read and whether that came over TLS.
    async fn cancel_server(answer: Option<u8>) -> (u16, tokio::task::JoinHandle<(Vec<u8>, bool)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tls = certificate();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut first = [0u8; 8];
            socket.read_exact(&mut first).await.unwrap();
            if first != SSL_REQUEST {
                let mut rest = [0u8; 8];
                socket.read_exact(&mut rest).await.unwrap();
                return ([first, rest].concat(), false);
            }
            socket.write_all(&[answer.unwrap()]).await.unwrap();
            let mut request = [0u8; 16];
            if answer == Some(b'S') {
                let mut stream = tls.acceptor.accept(socket).await.unwrap();
                stream.read_exact(&mut request).await.unwrap();
                return (request.to_vec(), true);
            }
            // Nothing, when the client hangs up instead.
            match socket.read_exact(&mut request).await {
                Ok(_) => (request.to_vec(), false),
                Err(_) => (Vec::new(), false),
            }
        });
        (port, task)
    }

    #[tokio::test]
    async fn cancel_requests_negotiate_tls_like_the_connection() {
        for (ssl_mode, answer, tls) in [
            (SslMode::Require, Some(b'S'), true),
            (SslMode::Prefer, Some(b'S'), true),
            (SslMode::Prefer, Some(b'N'), false),
            (SslMode::Disable, None, false),
        ] {
            let (port, server) = cancel_server(answer).await;
            send_cancel(&settings(port, ssl_mode), &CANCEL).await.unwrap();
            assert_eq!(server.await.unwrap(), (CANCEL.to_vec(), tls), "{ssl_mode:?}");
        }
        // require against a server that refuses TLS sends nothing.
        let (port, server) = cancel_server(Some(b'N')).await;
        let result = send_cancel(&settings(port, SslMode::Require), &CANCEL).await;
        assert!(matches!(result, Err(ClientError::Tls(_))), "{result:?}");
        assert_eq!(server.await.unwrap(), (Vec::new(), false), "the server saw no CancelRequest");
    }
}
