//! The client's TLS: a rustls configuration for each `sslmode`, the
//! handshake (with ALPN `postgresql`, mandatory for direct TLS), the server
//! certificate's `tls-server-end-point` hash for channel binding, and a
//! stream that is either plain or TLS.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use tokio_rustls::rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{self, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::{ClientConfig, ClientError, SslMode};
use crate::tls::{ALPN_POSTGRESQL, tls_server_end_point};

/// A connection's byte stream, before or after the TLS upgrade.
#[derive(Debug)]
pub(super) enum MaybeTls<S> {
    /// Clear text.
    Plain(S),
    /// Encrypted.
    Tls(Box<TlsStream<S>>),
}

/// A finished handshake: the stream and the certificate's
/// `tls-server-end-point` hash (`None` when its signature algorithm has no
/// single hash, so no channel binding is possible).
pub(super) struct Handshake<S> {
    pub stream: TlsStream<S>,
    pub end_point: Option<Vec<u8>>,
}

/// Runs the TLS handshake over `stream` as `config` asks (certificate checks
/// by `sslmode` and `sslrootcert`). With `direct`, the server must pick ALPN
/// `postgresql`, proving it expects PostgreSQL inside TLS.
pub(super) async fn handshake<S>(stream: S, config: &ClientConfig, direct: bool) -> Result<Handshake<S>, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connector = tokio_rustls::TlsConnector::from(Arc::new(rustls_config(config)?));
    let name = ServerName::try_from(config.host.clone())
        .map_err(|_| ClientError::Config(format!("{:?} is not a host name or address for TLS", config.host)))?;
    let stream = connector.connect(name, stream).await.map_err(|e| ClientError::Tls(e.to_string()))?;
    let session = stream.get_ref().1;
    if direct && session.alpn_protocol() != Some(ALPN_POSTGRESQL) {
        return Err(ClientError::Tls("the server did not select ALPN \"postgresql\" for direct TLS".into()));
    }
    let end_point = session.peer_certificates().and_then(|chain| chain.first()).and_then(|c| tls_server_end_point(c));
    Ok(Handshake { stream, end_point })
}

/// The rustls client settings for `config`'s `sslmode`.
fn rustls_config(config: &ClientConfig) -> Result<rustls::ClientConfig, ClientError> {
    let roots = match config.ssl_mode {
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let path = config.ssl_root_cert.clone().or_else(default_root_cert).ok_or_else(|| {
                ClientError::Config(format!(
                    "sslmode {:?} needs a root certificate: set sslrootcert (or create ~/.postgresql/root.crt)",
                    config.ssl_mode
                ))
            })?;
            Some(load_roots(&path)?)
        }
        // libpq checks the chain for `require` too when it has a root file.
        SslMode::Require => match config.ssl_root_cert.clone().or_else(|| default_root_cert().filter(|p| p.exists())) {
            Some(path) => Some(load_roots(&path)?),
            None => None,
        },
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => None,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        roots,
        check_host: config.ssl_mode == SslMode::VerifyFull,
        algorithms: provider.signature_verification_algorithms,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut tls = match (&config.ssl_cert, &config.ssl_key) {
        (Some(cert), Some(key)) => {
            let (chain, key) = load_identity(cert, key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError::Config(format!("sslcert/sslkey: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    // libpq 17 offers ALPN on every TLS connection; older servers ignore it.
    tls.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(tls)
}

/// libpq's default `sslrootcert`: `~/.postgresql/root.crt`.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".postgresql").join("root.crt"))
}

/// The client certificate chain (`sslcert`) and its private key (`sslkey`).
fn load_identity(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ClientError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ClientError::Config(format!("sslcert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(ClientError::Config(format!("sslcert {}: no certificate in the file", cert.display())));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| ClientError::Config(format!("sslkey {}: {e}", key.display())))?;
    Ok((chain, key))
}

fn load_roots(path: &std::path::Path) -> Result<RootCertStore, ClientError> {
    let bad = |e: &dyn std::fmt::Display| ClientError::Config(format!("sslrootcert {}: {e}", path.display()));
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(bad(&"no usable certificate in the file"));
    }
    Ok(roots)
}

/// Certificate checks as libpq's `sslmode`: none without roots (the
/// handshake signature is still checked), the chain with roots, and the
/// host name too for `verify-full`.
#[derive(Debug)]
struct Verifier {
    roots: Option<RootCertStore>,
    check_host: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let certificate = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(&certificate, roots, intermediates, now, self.algorithms.all)?;
            if self.check_host {
                verify_server_name(&certificate, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            MaybeTls::Tls(stream) => {
                // TLS records left over from a write that would have blocked:
                // the caller may only read from now on, so send them here.
                if let Poll::Ready(Err(e)) = Pin::new(stream.as_mut()).poll_flush(cx) {
                    return Poll::Ready(Err(e));
                }
                Pin::new(stream.as_mut()).poll_read(cx, buf)
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            MaybeTls::Tls(stream) => {
                // Records still buffered from the last write go first, so
                // the buffer cannot grow without bound.
                std::task::ready!(Pin::new(stream.as_mut()).poll_flush(cx))?;
                let written = std::task::ready!(Pin::new(stream.as_mut()).poll_write(cx, buf))?;
                if let Poll::Ready(Err(e)) = Pin::new(stream.as_mut()).poll_flush(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(written))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(stream) => Pin::new(stream).poll_flush(cx),
            MaybeTls::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            MaybeTls::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// The connection task writes without flushing and then only reads: TLS
    /// records a write left buffered must still reach the server.
    #[tokio::test]
    async fn buffered_records_go_out_while_reading() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
        let server_tls = crate::TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
        // A small pipe, so writes stop half way.
        let (client_io, server_io) = tokio::io::duplex(1024);
        let server = tokio::spawn(async move {
            let mut stream = server_tls.acceptor.accept(server_io).await.unwrap();
            let mut data = vec![0; 1 << 20];
            stream.read_exact(&mut data).await.unwrap();
            stream.write_all(b"ok").await.unwrap();
            stream.flush().await.unwrap();
            data
        });
        let config = ClientConfig::default().with_ssl_mode(SslMode::Require);
        let handshake = handshake(client_io, &config, false).await.unwrap();
        assert_eq!(handshake.end_point, tls_server_end_point(cert.der()));
        let mut stream = MaybeTls::Tls(Box::new(handshake.stream));
        let payload: Vec<u8> = (0..1u32 << 20).map(|i| i as u8).collect();
        stream.write_all(&payload).await.unwrap();
        let mut answer = [0u8; 2];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer)).await;
        read.expect("the last records were sent").unwrap();
        assert_eq!(&answer, b"ok");
        assert!(server.await.unwrap() == payload);
    }
}
