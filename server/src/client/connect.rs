//! Opening a connection: the socket, the StartupMessage and authentication.
//! What comes out is a logged-in session for the connection task.

use std::collections::HashMap;

use bytes::BytesMut;
use postwire_codec::frontend::StartupParams;
use postwire_codec::session::frontend::{Config, Event, Frontend};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::connection::{self, IN_FLIGHT, OUTPUT};
use super::{Client, ClientConfig, ClientError, DbError};

/// What the server told us at login.
#[derive(Debug, Clone, Default)]
pub(super) struct SessionInfo {
    /// BackendKeyData: process id and secret key, for cancel requests.
    pub key: Option<(i32, Vec<u8>)>,
    /// ParameterStatus values at login (`server_version`, `TimeZone`…).
    pub parameters: HashMap<String, String>,
}

/// A logged-in session, ready for the connection task.
pub(super) struct Established<S> {
    pub stream: S,
    pub frontend: Frontend<Vec<u8>, IN_FLIGHT>,
    /// Bytes read past the login's ReadyForQuery.
    pub input: BytesMut,
    pub info: SessionInfo,
}

/// Connects, logs in, and spawns the connection task (it ends when every
/// [`Client`] is dropped, sending Terminate).
pub async fn connect(config: &ClientConfig) -> Result<Client, ClientError> {
    if config.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", config.host, config.port);
        let stream = tokio::net::UnixStream::connect(path).await?;
        connect_with(stream, config).await
    } else {
        let stream = tokio::net::TcpStream::connect((config.host.as_str(), config.port)).await?;
        stream.set_nodelay(true)?;
        connect_with(stream, config).await
    }
}

/// Logs in over an already connected stream (a loopback pipe, say) and
/// spawns the connection task.
pub async fn connect_with<S>(stream: S, config: &ClientConfig) -> Result<Client, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let frontend = Frontend::new(vec![0; OUTPUT], Config::DEFAULT);
    let established = login(stream, frontend, config).await?;
    Ok(connection::spawn(established, config))
}

/// Sends the StartupMessage and answers the server until ReadyForQuery.
async fn login<S>(
    mut stream: S,
    mut frontend: Frontend<Vec<u8>, IN_FLIGHT>,
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
        let pending = frontend.pending_output();
        if !pending.is_empty() {
            let n = pending.len();
            stream.write_all(pending).await?;
            frontend.consume_output(n);
        }
        let mut login_error = None;
        let mut ready = false;
        let step = frontend.handle_input(&input)?;
        match step.event {
            Some(Event::PasswordRequired { .. }) => {
                let password = config.password.as_deref().unwrap_or_default();
                frontend.provide_password(password.as_bytes())?;
            }
            Some(Event::Error { error, .. }) => login_error = Some(DbError::from_response(&error)),
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
            return Err(ClientError::Db(Box::new(error)));
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
/// connection to the same server, and waits for the server to close it.
#[allow(dead_code)] // used by the cancel token (next commit)
pub(super) async fn send_cancel(config: &ClientConfig, request: &[u8]) -> Result<(), ClientError> {
    async fn send<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &[u8]) -> Result<(), ClientError> {
        stream.write_all(request).await?;
        stream.flush().await?;
        // The server answers nothing; it closes once it has read the key.
        let mut byte = [0u8; 1];
        let _ = stream.read(&mut byte).await;
        Ok(())
    }
    if config.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", config.host, config.port);
        send(tokio::net::UnixStream::connect(path).await?, request).await
    } else {
        send(tokio::net::TcpStream::connect((config.host.as_str(), config.port)).await?, request).await
    }
}
