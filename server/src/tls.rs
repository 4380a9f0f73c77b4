//! TLS for listeners: certificates from PEM, rustls server configuration with
//! ALPN `postgresql` (needed by PostgreSQL 17 direct TLS), and the
//! `tls-server-end-point` channel-binding data for SCRAM-SHA-256-PLUS.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokio_rustls::rustls;

/// The ALPN protocol name PostgreSQL clients offer.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// A server certificate and key, ready to accept TLS connections.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    end_point: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("channel_binding", &self.end_point.is_some()).finish_non_exhaustive()
    }
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

impl TlsConfig {
    /// Reads a PEM certificate chain (end-entity first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), like PostgreSQL's `ssl_cert_file` and
    /// `ssl_key_file`.
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let chain = std::fs::read(cert_chain)?;
        let key = std::fs::read(key)?;
        Self::from_pem(&chain, &key)
    }

    /// A certificate chain and private key in PEM text.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<Self> {
        let chain = CertificateDer::pem_slice_iter(cert_chain).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(invalid)?;
        Self::from_der(chain, key)
    }

    /// A certificate chain (end-entity first) and private key in DER.
    pub fn from_der(cert_chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> io::Result<Self> {
        let end_entity = cert_chain.first().ok_or_else(|| invalid("no certificate"))?;
        let end_point = tls_server_end_point(end_entity).map(Arc::from);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_single_cert(cert_chain, key)
            .map_err(invalid)?;
        config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
        Ok(TlsConfig { acceptor: Arc::new(config).into(), end_point })
    }

    /// A rustls configuration made elsewhere; `end_entity` is the certificate
    /// it presents, for channel binding (`None`: no SCRAM-SHA-256-PLUS). Set
    /// `alpn_protocols` to `[b"postgresql"]` for direct TLS clients.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>, end_entity: Option<&CertificateDer<'_>>) -> Self {
        TlsConfig {
            acceptor: config.into(),
            end_point: end_entity.and_then(|c| tls_server_end_point(c)).map(Arc::from),
        }
    }

    /// The `tls-server-end-point` channel-binding data of the certificate.
    pub fn tls_server_end_point(&self) -> Option<&[u8]> {
        self.end_point.as_deref()
    }

    pub(crate) fn end_point(&self) -> Option<Arc<[u8]>> {
        self.end_point.clone()
    }
}

/// Whether a listener offers TLS, and whether it insists on it.
#[derive(Debug, Clone, Default)]
pub enum TlsMode {
    /// No TLS: SSLRequest is declined, direct TLS connections are closed.
    #[default]
    Disabled,
    /// TLS when the client asks; plain connections are accepted too.
    Optional(TlsConfig),
    /// TLS only: a plain startup is rejected with FATAL 28000, as a
    /// `hostssl`-only pg_hba.conf does.
    Required(TlsConfig),
}

impl TlsMode {
    pub(crate) fn config(&self) -> Option<&TlsConfig> {
        match self {
            TlsMode::Disabled => None,
            TlsMode::Optional(c) | TlsMode::Required(c) => Some(c),
        }
    }
}

/// RFC 5929 `tls-server-end-point`: the certificate hashed with its signature
/// algorithm's hash, SHA-256 when that is MD5 or SHA-1. `None` for signature
/// algorithms without a single hash (Ed25519, RSA-PSS…), as PostgreSQL then
/// offers no channel binding either.
pub fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03];
    let oid = signature_algorithm(certificate)?;
    let hash = match oid.split_last()? {
        (4 | 5 | 11 | 14, prefix) if prefix == RSA => Hash::Sha256,
        (12, prefix) if prefix == RSA => Hash::Sha384,
        (13, prefix) if prefix == RSA => Hash::Sha512,
        (1 | 2, prefix) if prefix == ECDSA => Hash::Sha256,
        (3, prefix) if prefix == ECDSA => Hash::Sha384,
        (4, prefix) if prefix == ECDSA => Hash::Sha512,
        _ => return None,
    };
    Some(match hash {
        Hash::Sha256 => Sha256::digest(certificate).to_vec(),
        Hash::Sha384 => Sha384::digest(certificate).to_vec(),
        Hash::Sha512 => Sha512::digest(certificate).to_vec(),
    })
}

enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// One DER element: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, tail) = rest.split_at_checked(count)?;
        rest = tail;
        bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The OID of `Certificate.signatureAlgorithm`.
fn signature_algorithm(certificate: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    let (SEQUENCE, certificate, _) = der_element(certificate)? else { return None };
    let (SEQUENCE, _, rest) = der_element(certificate)? else { return None };
    let (SEQUENCE, algorithm, _) = der_element(rest)? else { return None };
    let (OID, oid, _) = der_element(algorithm)? else { return None };
    Some(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn end_point_hash_follows_the_signature_algorithm() {
        let p256 = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(tls_server_end_point(&p256).unwrap(), Sha256::digest(&p256).to_vec());
        let p384 = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(tls_server_end_point(&p384).unwrap(), Sha384::digest(&p384).to_vec());
        let ed25519 = certificate(&rcgen::PKCS_ED25519);
        assert_eq!(tls_server_end_point(&ed25519), None, "no single hash: no channel binding");
    }

    #[test]
    fn malformed_certificates_have_no_end_point() {
        assert_eq!(tls_server_end_point(b""), None);
        assert_eq!(tls_server_end_point(&[0x30, 0x82, 0xFF]), None);
        assert_eq!(tls_server_end_point(&[0x30, 0x03, 0x30, 0x01, 0x00]), None);
    }

    #[test]
    fn pem_files_load() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
        let config = TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
        assert_eq!(config.tls_server_end_point().unwrap(), &Sha256::digest(cert.der())[..]);
        assert!(TlsConfig::from_pem(b"not pem", b"").is_err());
    }
}
