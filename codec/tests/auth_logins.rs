//! The backend and frontend machines log in against each other in memory,
//! with every authentication method; hostile SASL messages never panic.

use postwire_codec::Encode;
use postwire_codec::auth::{
    StoredPassword, oauth,
    scram::{ChannelBindingFlag, SCRAM_SHA_256, ScramClient, ScramServer, ScramVerifier},
};
use postwire_codec::frontend::{SaslInitialResponse, SaslResponse, StartupMessage, StartupParams};
use postwire_codec::session::backend::{AuthMethod, Backend, BackendKey, Event as BackendEvent, ServerParameters};
use postwire_codec::session::frontend::{ChannelBinding, Config, Event, Frontend, PasswordMethod};
use proptest::prelude::*;

/// Deterministic "randomness" that differs per seed.
struct SeededRng(u64);
impl rand_core::TryRng for SeededRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let n = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&n[..chunk.len()]);
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for SeededRng {}

/// What the client brings.
#[derive(Clone, Copy)]
struct Client<'a> {
    password: &'a [u8],
    token: &'a str,
    /// The certificate hash the client computed, when on TLS.
    tls: Option<&'a [u8]>,
    channel_binding: ChannelBinding,
}

impl Default for Client<'_> {
    fn default() -> Self {
        Client { password: b"", token: "", tls: None, channel_binding: ChannelBinding::Prefer }
    }
}

/// How a login ended.
#[derive(Debug, Default)]
struct Outcome {
    ready: bool,
    /// The SQLSTATE of the server's error, if any.
    error: Option<String>,
    error_message: Option<String>,
    /// The frontend's own failure, if any.
    frontend_error: Option<String>,
    used_channel_binding: bool,
    oauth_document: Option<String>,
    /// The mechanism(s) the backend offered, as the raw request.
    tokens_seen: Vec<String>,
}

const SERVER_CERT_HASH: &[u8] = &[0x5a; 32];

/// Runs one login: `method` on the server (which accepts tokens equal to
/// "good-token" and the cleartext password "pencil"), `client` on the client.
fn login(method: AuthMethod<'_>, client: Client<'_>) -> Outcome {
    let mut rng = SeededRng(7);
    let mut backend: Backend<Vec<u8>> = Backend::new(vec![0; 8192]);
    let mut frontend: Frontend<Vec<u8>> =
        Frontend::new(vec![0; 8192], Config::DEFAULT.with_channel_binding(client.channel_binding));
    let mut outcome = Outcome::default();
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    if client.tls.is_some() {
        frontend.request_tls().unwrap();
    } else {
        frontend.start(StartupParams::from_slice(&[("user", "alice"), ("database", "db")]), &mut rng).unwrap();
    }
    for _ in 0..100 {
        to_server.extend_from_slice(frontend.pending_output());
        frontend.consume_output(frontend.pending_output().len());
        // The server's turn.
        loop {
            let step = backend.handle_input(&to_server);
            let consumed = step.consumed;
            match step.event {
                Some(BackendEvent::TlsRequested) => {
                    backend.accept_tls().unwrap();
                    backend.set_tls_server_end_point(SERVER_CERT_HASH).unwrap();
                }
                Some(BackendEvent::Startup { .. }) => backend.authenticate(method, &mut rng).unwrap(),
                Some(BackendEvent::PasswordReceived { password }) => {
                    backend.password_verified(password == b"pencil").unwrap()
                }
                Some(BackendEvent::OAuthToken { token }) => {
                    outcome.tokens_seen.push(token.to_owned());
                    backend.oauth_verified(token == "good-token").unwrap()
                }
                Some(BackendEvent::Authenticated) => {
                    backend.accept(&ServerParameters::DEFAULT, &BackendKey::new(1, &[1, 2, 3, 4]).unwrap()).unwrap()
                }
                Some(BackendEvent::Ended { .. }) => {}
                Some(other) => panic!("unexpected server event {other:?}"),
                None if consumed == 0 => break,
                None => {}
            }
            to_server.drain(..consumed);
        }
        to_client.extend_from_slice(backend.pending_output());
        backend.consume_output(backend.pending_output().len());
        // The client's turn.
        while !to_client.is_empty() {
            let step = match frontend.handle_input(&to_client) {
                Ok(step) => step,
                Err(e) => {
                    outcome.frontend_error = Some(format!("{e:?}"));
                    return outcome;
                }
            };
            let consumed = step.consumed;
            match step.event {
                Some(Event::TlsAccepted) => {
                    frontend.tls_established(client.tls).unwrap();
                    frontend.start(StartupParams::from_slice(&[("user", "alice")]), &mut rng).unwrap();
                }
                Some(Event::PasswordRequired { method: PasswordMethod::OAuthBearer }) => {
                    frontend.provide_bearer_token(client.token).unwrap()
                }
                Some(Event::PasswordRequired { .. }) => frontend.provide_password(client.password).unwrap(),
                Some(Event::OAuthRejected { document }) => outcome.oauth_document = Some(document.to_owned()),
                Some(Event::Error { error, .. }) => {
                    outcome.error = error.code().map(|c| c.code().to_owned());
                    outcome.error_message = error.message().map(str::to_owned);
                }
                Some(Event::Ready { .. }) => {
                    outcome.ready = true;
                    outcome.used_channel_binding = frontend.used_channel_binding();
                    return outcome;
                }
                _ => {}
            }
            to_client.drain(..consumed);
            if consumed == 0 {
                break;
            }
        }
        if backend.is_closed() && backend.pending_output().is_empty() && to_client.is_empty() {
            return outcome;
        }
    }
    panic!("login made no progress: {outcome:?}");
}

fn scram_verifier() -> ScramVerifier {
    // PBKDF2 is slow in debug builds: derive once.
    static VERIFIER: std::sync::OnceLock<ScramVerifier> = std::sync::OnceLock::new();
    *VERIFIER.get_or_init(|| ScramVerifier::derive(b"pencil", b"0123456789abcdef", 4096).unwrap())
}

fn with_password(password: &[u8]) -> Client<'_> {
    Client { password, ..Client::default() }
}

fn assert_password_failure(outcome: &Outcome) {
    assert!(!outcome.ready);
    assert_eq!(outcome.error.as_deref(), Some("28P01"), "{outcome:?}");
    assert_eq!(outcome.error_message.as_deref(), Some("password authentication failed for user \"alice\""));
}

#[test]
fn trust_and_cleartext() {
    assert!(login(AuthMethod::Trust, Client::default()).ready);
    assert!(login(AuthMethod::Cleartext, with_password(b"pencil")).ready);
    assert_password_failure(&login(AuthMethod::Cleartext, with_password(b"pen")));
}

#[test]
fn md5_with_plaintext_and_verifier() {
    let verifier = postwire_codec::auth::Md5Verifier::derive(b"alice", b"pencil");
    for password in [StoredPassword::Plaintext(b"pencil"), StoredPassword::Md5(verifier)] {
        assert!(login(AuthMethod::Md5 { password }, with_password(b"pencil")).ready);
        assert_password_failure(&login(AuthMethod::Md5 { password }, with_password(b"pencil ")));
    }
}

#[test]
fn scram_with_verifier_plaintext_and_mock() {
    let stored = StoredPassword::Scram(scram_verifier());
    for password in [stored, StoredPassword::Plaintext(b"pencil")] {
        let ok = login(AuthMethod::ScramSha256 { password }, with_password(b"pencil"));
        assert!(ok.ready, "{ok:?}");
        assert!(!ok.used_channel_binding);
        assert_password_failure(&login(AuthMethod::ScramSha256 { password }, with_password(b"pencil!")));
    }
    // MD5 with a SCRAM secret is SCRAM, as in PostgreSQL.
    assert!(login(AuthMethod::Md5 { password: stored }, with_password(b"pencil")).ready);
    // SCRAM for a role that only has an MD5 secret: the mock exchange fails.
    let md5 = StoredPassword::Md5(postwire_codec::auth::Md5Verifier::derive(b"alice", b"pencil"));
    assert_password_failure(&login(AuthMethod::ScramSha256 { password: md5 }, with_password(b"pencil")));
}

#[test]
fn scram_plus_binds_to_the_certificate() {
    let method = AuthMethod::ScramSha256 { password: StoredPassword::Scram(scram_verifier()) };
    let tls = |hash: &'static [u8], channel_binding| Client {
        password: b"pencil",
        tls: Some(hash),
        channel_binding,
        ..Client::default()
    };
    let ok = login(method, tls(SERVER_CERT_HASH, ChannelBinding::Require));
    assert!(ok.ready && ok.used_channel_binding, "{ok:?}");
    // A different certificate (a man in the middle): the server refuses.
    let mitm = login(method, tls(&[0x77; 32], ChannelBinding::Prefer));
    assert!(!mitm.ready);
    assert_eq!(mitm.error.as_deref(), Some("08P01"), "{mitm:?}");
    assert_eq!(mitm.error_message.as_deref(), Some("SCRAM channel binding check failed"));
    // A client that will not bind on TLS: plain SCRAM still works.
    let plain = login(method, tls(SERVER_CERT_HASH, ChannelBinding::Disable));
    assert!(plain.ready && !plain.used_channel_binding, "{plain:?}");
    // No TLS: no -PLUS offered, plain SCRAM.
    let no_tls = login(method, Client { tls: None, ..tls(SERVER_CERT_HASH, ChannelBinding::Prefer) });
    assert!(no_tls.ready && !no_tls.used_channel_binding, "{no_tls:?}");
}

#[test]
fn scram_downgrade_is_refused() {
    // The client is on TLS with the hash but sees only SCRAM-SHA-256 (an
    // attacker removed -PLUS), so it sends "y": the server offered -PLUS.
    let mut rng = SeededRng(1);
    let mut server = ScramServer::new(scram_verifier(), Some(SERVER_CERT_HASH), &mut rng).unwrap();
    let mut client = ScramClient::new(&mut rng);
    let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
    let n = client.client_first("", ChannelBindingFlag::ClientOnly, &mut a).unwrap();
    let refused = server.client_first(SCRAM_SHA_256, &a[..n], &mut b);
    assert_eq!(refused, Err(postwire_codec::auth::SaslError::ChannelBindingNegotiation));
}

#[test]
fn oauth_token_accepted_rejected_and_discovery() {
    let method = AuthMethod::OAuthBearer { issuer: "https://issuer.example", scope: "openid postgres" };
    let ok = login(method, Client { token: "good-token", ..Client::default() });
    assert!(ok.ready, "{ok:?}");
    assert_eq!(ok.tokens_seen, ["good-token"]);
    let expected_document = r#"{ "status": "invalid_token", "openid-configuration": "https://issuer.example/.well-known/openid-configuration", "scope": "openid postgres" }"#;
    for (token, seen) in [("bad-token", 1), ("", 0)] {
        let refused = login(method, Client { token, ..Client::default() });
        assert!(!refused.ready);
        assert_eq!(refused.tokens_seen.len(), seen);
        assert_eq!(refused.oauth_document.as_deref(), Some(expected_document));
        assert_eq!(refused.error.as_deref(), Some("28000"), "{refused:?}");
        assert_eq!(refused.error_message.as_deref(), Some("OAuth bearer authentication failed for user \"alice\""));
    }
    // Channel binding required: OAuth cannot give it.
    let cb =
        login(method, Client { token: "good-token", channel_binding: ChannelBinding::Require, ..Client::default() });
    assert!(cb.frontend_error.is_some());
}

fn encode<M: Encode>(m: &M) -> Vec<u8> {
    let mut v = vec![0; m.encoded_len().unwrap()];
    m.encode(&mut v).unwrap();
    v
}

/// A backend right after `authenticate(method)`, with its request consumed.
fn backend_authenticating(method: AuthMethod<'_>) -> Backend<Vec<u8>> {
    let mut backend: Backend<Vec<u8>> = Backend::new(vec![0; 4096]);
    let params = [("user", "alice")];
    let startup = encode(&StartupMessage {
        version: postwire_codec::frontend::ProtocolVersion::V3_0,
        params: StartupParams::from_slice(&params),
    });
    assert!(backend.handle_input(&startup).event.is_some());
    backend.authenticate(method, &mut SeededRng(3)).unwrap();
    let n = backend.pending_output().len();
    backend.consume_output(n);
    backend
}

/// Feeds `input` until the machine stops making progress; must not panic
/// or loop.
fn drain(backend: &mut Backend<Vec<u8>>, mut input: &[u8]) {
    for _ in 0..64 {
        let step = backend.handle_input(input);
        if let Some(BackendEvent::OAuthToken { .. }) = step.event {
            backend.oauth_verified(false).unwrap();
        }
        if step.consumed == 0 && step.event.is_none() {
            return;
        }
        input = &input[step.consumed..];
    }
}

proptest! {
    #[test]
    fn random_sasl_messages_never_panic(
        method in 0..3u8,
        mechanism in prop::sample::select(vec!["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "OAUTHBEARER", ""]),
        first in prop::collection::vec(any::<u8>(), 0..200),
        second in prop::collection::vec(any::<u8>(), 0..200),
        raw in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let method = match method {
            0 => AuthMethod::ScramSha256 { password: StoredPassword::Scram(scram_verifier()) },
            1 => AuthMethod::OAuthBearer { issuer: "https://i", scope: "s" },
            _ => AuthMethod::Md5 { password: StoredPassword::Plaintext(b"pw") },
        };
        let mut backend = backend_authenticating(method);
        let mut input = encode(&SaslInitialResponse { mechanism, data: Some(&first) });
        input.extend(encode(&SaslResponse { data: &second }));
        input.extend(encode(&SaslResponse { data: &[1] }));
        input.extend(&raw);
        drain(&mut backend, &input);
        let mut backend = backend_authenticating(method);
        drain(&mut backend, &raw);

        // The exchanges on their own, both sides.
        let mut out = [0u8; 512];
        let mut server = ScramServer::new(scram_verifier(), Some(SERVER_CERT_HASH), &mut SeededRng(5)).unwrap();
        let _ = server.client_first(mechanism, &first, &mut out);
        let _ = server.client_final(&second, &mut out);
        let mut client = ScramClient::new(&mut SeededRng(6));
        let _ = client.client_first("", ChannelBindingFlag::Unsupported, &mut out);
        let _ = client.server_first(&first, 4096);
        let _ = client.client_final(b"pw", None, &mut out);
        let _ = client.server_final(&second);
        let _ = oauth::parse_client_response(&first);
    }

    #[test]
    fn scram_logins_with_random_passwords(password in prop::collection::vec(any::<u8>(), 0..40), seed in any::<u64>()) {
        let verifier = ScramVerifier::derive(&password, &seed.to_le_bytes(), 2).unwrap();
        prop_assert!(verifier.verify_password(&password));
        let mut rng = SeededRng(seed);
        let mut server = ScramServer::new(verifier, None, &mut rng).unwrap();
        let mut client = ScramClient::new(&mut rng);
        let (mut a, mut b) = ([0u8; 512], [0u8; 512]);
        let n = client.client_first("", ChannelBindingFlag::Unsupported, &mut a).unwrap();
        let m = server.client_first(SCRAM_SHA_256, &a[..n], &mut b).unwrap();
        client.server_first(&b[..m], 4096).unwrap();
        let n = client.client_final(&password, None, &mut a).unwrap();
        let m = server.client_final(&a[..n], &mut b).unwrap();
        client.server_final(&b[..m]).unwrap();
        prop_assert!(client.is_finished());
    }
}
