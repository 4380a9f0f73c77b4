use super::*;
use crate::backend::{
    BackendKeyData, CommandComplete, DataRow, ErrorFields, NoticeResponse, ParseComplete, ReadyForQuery,
};
use crate::{DecodeError, EncodeError, SqlState};

extern crate std;
use std::vec::Vec;

struct CountingRng(u8);
impl rand_core::TryRng for CountingRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst {
            self.0 = self.0.wrapping_add(1);
            *d = self.0;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for CountingRng {}

type Fe = Frontend<[u8; 1024], 4>;

fn encode<M: Encode>(m: &M) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let n = m.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

fn started(config: Config) -> Fe {
    let mut fe = Fe::new([0; 1024], config);
    fe.start(StartupParams::from_slice(&[("user", "bob"), ("database", "db")]), &mut CountingRng(0)).unwrap();
    let n = fe.pending_output().len();
    fe.consume_output(n);
    fe
}

fn take_output(fe: &mut Fe) -> Vec<u8> {
    let out = fe.pending_output().to_vec();
    fe.consume_output(out.len());
    out
}

/// Feeds `input` whole; returns the number of events, or the first error.
fn feed(fe: &mut Fe, mut input: &[u8]) -> Result<usize, SessionError> {
    let mut events = 0;
    loop {
        let got = fe.handle_input(input)?;
        events += usize::from(got.event.is_some());
        if got.event.is_none() && got.consumed == 0 {
            return Ok(events);
        }
        input = &input[got.consumed..];
    }
}

fn ready_bytes(status: TransactionStatus) -> Vec<u8> {
    encode(&ReadyForQuery { status })
}

fn ready_session() -> Fe {
    let mut fe = started(Config::DEFAULT);
    let mut input = b"R\0\0\0\x08\0\0\0\0".to_vec();
    input.extend(encode(&BackendKeyData { process_id: 7, secret_key: &[9; 32] }));
    input.extend(ready_bytes(TransactionStatus::Idle));
    assert_eq!(feed(&mut fe, &input), Ok(3));
    assert!(fe.is_ready());
    fe
}

#[test]
fn calls_out_of_order_change_nothing() {
    let mut fe = Fe::new([0; 1024], Config::DEFAULT);
    assert_eq!(fe.send_query("x"), Err(SessionError::OutOfOrder));
    assert_eq!(fe.provide_password(b"pw"), Err(SessionError::OutOfOrder));
    assert_eq!(fe.send_copy_data(b"x"), Err(SessionError::OutOfOrder));
    assert_eq!(fe.cancel_request(&mut [0; 64]), Err(SessionError::OutOfOrder));
    assert_eq!(fe.waiting_for(), WaitingFor::Caller);
    assert!(fe.pending_output().is_empty());
    let mut fe = ready_session();
    assert_eq!(fe.request_tls(), Err(SessionError::OutOfOrder));
    assert_eq!(fe.send_copy_done(), Err(SessionError::OutOfOrder));
    assert_eq!(fe.send_copy_fail("x"), Err(SessionError::OutOfOrder));
    assert_eq!(fe.send_query("a\0b"), Err(SessionError::Encode(EncodeError::NulInString)));
    assert_eq!(fe.pending_requests(), 0);
    assert_eq!(fe.waiting_for(), WaitingFor::Idle);
    let mut cancel = [0u8; 64];
    let n = fe.cancel_request(&mut cancel).unwrap();
    assert_eq!(&cancel[..12], b"\0\0\0\x2c\x04\xd2\x16\x2e\0\0\0\x07");
    assert_eq!(n, 44);
    assert_eq!(
        fe.cancel_request(&mut [0; 10]),
        Err(SessionError::OutputFull(crate::session::OutputFull { needed: 44 }))
    );
}

#[test]
fn startup_message_and_trust_login() {
    let mut fe = Fe::new([0; 1024], Config::DEFAULT);
    fe.start(StartupParams::from_slice(&[("user", "bob")]), &mut CountingRng(0)).unwrap();
    assert_eq!(fe.pending_output(), b"\0\0\0\x12\0\x03\0\x02user\0bob\0\0");
    assert_eq!(
        fe.start(StartupParams::from_slice(&[("user", "bob")]), &mut CountingRng(0)),
        Err(SessionError::OutOfOrder)
    );
    let mut no_user = Fe::new([0; 1024], Config::DEFAULT);
    assert!(no_user.start(StartupParams::from_slice(&[("database", "x")]), &mut CountingRng(0)).is_err());
    let fe = ready_session();
    assert_eq!(fe.backend_key().map(|(p, k)| (p, k.len())), Some((7, 32)));
    assert_eq!(fe.transaction_status(), Some(TransactionStatus::Idle));
}

#[test]
fn tls_answer_and_injected_bytes() {
    let mut fe = Fe::new([0; 1024], Config::DEFAULT);
    fe.request_tls().unwrap();
    assert_eq!(fe.pending_output(), b"\0\0\0\x08\x04\xd2\x16\x2f");
    assert_eq!(fe.handle_input(b"").unwrap().needed, 1);
    let got = fe.handle_input(b"S").unwrap();
    assert_eq!((got.consumed, got.event), (1, Some(Event::TlsAccepted)));
    fe.tls_established(Some(&[0xab; 32])).unwrap();
    assert_eq!(fe.request_tls(), Err(SessionError::OutOfOrder));

    // Bytes after 'S' came in clear text: refuse them (CVE-2021-23222).
    let mut fe = Fe::new([0; 1024], Config::DEFAULT);
    fe.request_tls().unwrap();
    assert_eq!(fe.handle_input(b"SE"), Err(SessionError::UnexpectedMessage { tag: b'E' }));
    assert!(fe.is_closed());

    let mut fe = Fe::new([0; 1024], Config::DEFAULT);
    fe.request_gss_encryption().unwrap();
    assert_eq!(fe.handle_input(b"N").unwrap().event, Some(Event::GssEncRefused));
    fe.request_tls().unwrap();
    assert_eq!(fe.handle_input(b"X"), Err(SessionError::UnexpectedMessage { tag: b'X' }));
}

#[test]
fn cleartext_and_md5_passwords() {
    let mut fe = started(Config::DEFAULT);
    let got = fe.handle_input(b"R\0\0\0\x08\0\0\0\x03").unwrap();
    assert_eq!(got.event, Some(Event::PasswordRequired { method: PasswordMethod::Cleartext }));
    // Nothing else is read until the password is given.
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\0").unwrap().consumed, 0);
    assert_eq!(fe.waiting_for(), WaitingFor::Caller);
    fe.provide_password(b"pw").unwrap();
    assert_eq!(take_output(&mut fe), b"p\0\0\0\x07pw\0");
    assert_eq!(fe.provide_password(b"pw"), Err(SessionError::OutOfOrder));
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\0").unwrap().event, Some(Event::Authenticated));

    let mut fe = started(Config::DEFAULT);
    let mut fe2 = Fe::new([0; 1024], Config::DEFAULT);
    fe2.start(StartupParams::from_slice(&[("user", "bob")]), &mut CountingRng(0)).unwrap();
    let got = fe.handle_input(b"R\0\0\0\x0c\0\0\0\x05\x01\x02\x03\x04").unwrap();
    assert_eq!(got.event, Some(Event::PasswordRequired { method: PasswordMethod::Md5 }));
    fe.provide_password(b"secret").unwrap();
    // Checked against Python's hashlib.
    assert_eq!(take_output(&mut fe), b"p\0\0\0\x28md5f21dfe33ff3a9e03dbc3e008251fe5cc\0");
}

#[test]
fn scram_checks() {
    // Iteration cap.
    let mut fe = started(Config::DEFAULT.with_max_scram_iterations(4096));
    assert_eq!(feed(&mut fe, b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"), Ok(0));
    let first = take_output(&mut fe);
    assert!(first.starts_with(b"p\0\0\0\x36SCRAM-SHA-256\0\0\0\0\x20n,,n=,r="), "{first:?}");
    let nonce = &first[first.len() - 24..];
    let mut server_first = b"r=".to_vec();
    server_first.extend_from_slice(nonce);
    server_first.extend_from_slice(b"srv,s=c2FsdA==,i=4097");
    let msg = encode(&Authentication::SaslContinue { data: &server_first });
    assert_eq!(fe.handle_input(&msg), Err(SessionError::Auth(AuthError::TooManyIterations(4097))));

    // A nonce that does not extend ours.
    let mut fe = started(Config::DEFAULT);
    feed(&mut fe, b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0").unwrap();
    let msg = encode(&Authentication::SaslContinue { data: b"r=other,s=c2FsdA==,i=4096" });
    assert_eq!(fe.handle_input(&msg), Err(SessionError::Auth(AuthError::ScramFailed)));

    // AuthenticationOk before the SASL exchange finished.
    let mut fe = started(Config::DEFAULT);
    feed(&mut fe, b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0").unwrap();
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\0"), Err(SessionError::Auth(AuthError::IncompleteExchange)));
    assert!(fe.is_closed());

    // Unsupported methods.
    let mut fe = started(Config::DEFAULT);
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\x07"), Err(SessionError::Auth(AuthError::UnsupportedMethod(7))));
    let mut fe = started(Config::DEFAULT);
    let only_plus =
        encode(&Authentication::Sasl { mechanisms: crate::backend::List::from_slice(&["SCRAM-SHA-256-PLUS"]) });
    assert_eq!(fe.handle_input(&only_plus), Err(SessionError::Auth(AuthError::UnsupportedMethod(10))));
}

#[test]
fn channel_binding_policies() {
    let both = encode(&Authentication::Sasl {
        mechanisms: crate::backend::List::from_slice(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]),
    });
    let tls_fe = |cb| {
        let mut fe = Fe::new([0; 1024], Config::DEFAULT.with_channel_binding(cb));
        fe.tls_established(Some(&[0x11; 32])).unwrap();
        fe.start(StartupParams::from_slice(&[("user", "bob")]), &mut CountingRng(0)).unwrap();
        take_output(&mut fe);
        fe
    };
    let mut fe = tls_fe(ChannelBinding::Prefer);
    feed(&mut fe, &both).unwrap();
    let out = take_output(&mut fe);
    let want = b"SCRAM-SHA-256-PLUS\0\0\0\0\x35p=tls-server-end-point,,";
    assert!(out.windows(want.len()).any(|w| w == want), "{out:?}");
    assert!(fe.used_channel_binding());

    let mut fe = tls_fe(ChannelBinding::Disable);
    feed(&mut fe, &both).unwrap();
    assert!(take_output(&mut fe).windows(4).any(|w| w == b"n,,n"));

    // Prefer, on TLS, server without PLUS: "y".
    let mut fe = tls_fe(ChannelBinding::Prefer);
    feed(&mut fe, b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0").unwrap();
    assert!(take_output(&mut fe).windows(4).any(|w| w == b"y,,n"));

    // Require: trust login, or no TLS, fails.
    let mut fe = tls_fe(ChannelBinding::Require);
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\0"), Err(SessionError::Auth(AuthError::ChannelBindingRequired)));
    let mut fe = started(Config::DEFAULT.with_channel_binding(ChannelBinding::Require));
    assert_eq!(fe.handle_input(&both), Err(SessionError::Auth(AuthError::ChannelBindingRequired)));
    let mut fe = started(Config::DEFAULT.with_channel_binding(ChannelBinding::Require));
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\x03"), Err(SessionError::Auth(AuthError::ChannelBindingRequired)));
}

#[test]
fn negotiation_is_checked() {
    let mut fe = started(Config::DEFAULT);
    let v = b"v\0\0\0\x0c\0\x03\0\0\0\0\0\0";
    let got = fe.handle_input(v).unwrap();
    assert!(matches!(got.event, Some(Event::ProtocolNegotiated { version: ProtocolVersion::V3_0, .. })));
    assert_eq!(fe.protocol_version(), ProtocolVersion::V3_0);
    // Only once.
    assert_eq!(fe.handle_input(v), Err(SessionError::UnexpectedMessage { tag: b'v' }));
    // Not a newer version than asked for.
    let mut fe = started(Config::DEFAULT);
    assert!(fe.handle_input(b"v\0\0\0\x0c\0\x03\0\x05\0\0\0\0").is_err());
    // A 3.0 session insists on 4-byte keys.
    let mut fe = started(Config::DEFAULT.with_protocol_version(ProtocolVersion::V3_0));
    feed(&mut fe, b"R\0\0\0\x08\0\0\0\0").unwrap();
    let key = encode(&BackendKeyData { process_id: 1, secret_key: &[1; 32] });
    assert_eq!(fe.handle_input(&key), Err(SessionError::UnexpectedMessage { tag: b'K' }));
}

#[test]
fn startup_error_closes() {
    let mut fe = started(Config::DEFAULT);
    let fields = ErrorFields::new(Severity::Fatal, SqlState::INVALID_PASSWORD, "no");
    let err = encode(&crate::backend::ErrorResponse::from(&fields));
    let got = fe.handle_input(&err).unwrap();
    assert!(matches!(got.event, Some(Event::Error { request: None, .. })));
    assert!(fe.is_closed());
    assert_eq!(fe.close_reason(), Some(CloseReason::ServerError));
    assert_eq!(fe.handle_input(b"Z"), Err(SessionError::Closed));
}

#[test]
fn unmatched_responses_are_violations() {
    let row = encode(&DataRow::new(&[Some(b"1")]));
    let mut fe = ready_session();
    assert_eq!(fe.handle_input(&row), Err(SessionError::UnexpectedMessage { tag: b'D' }));
    assert!(fe.is_closed());
    assert_eq!(fe.close_reason(), Some(CloseReason::ProtocolError));

    let mut fe = ready_session();
    assert_eq!(
        fe.handle_input(&ready_bytes(TransactionStatus::Idle)),
        Err(SessionError::UnexpectedMessage { tag: b'Z' })
    );

    // ParseComplete where BindComplete is due.
    let mut fe = ready_session();
    fe.send_bind("", "", &[], &[], &[]).unwrap();
    assert_eq!(fe.handle_input(&encode(&ParseComplete)), Err(SessionError::UnexpectedMessage { tag: b'1' }));

    // ReadyForQuery before the Execute finished.
    let mut fe = ready_session();
    fe.send_execute("", 0).unwrap();
    fe.send_sync().unwrap();
    assert!(fe.handle_input(&ready_bytes(TransactionStatus::Idle)).is_err());

    // Garbage.
    let mut fe = ready_session();
    assert!(matches!(fe.handle_input(b"\xff\0\0\0\x04"), Err(SessionError::Decode(_))));
    let mut fe = ready_session();
    assert!(matches!(fe.handle_input(b"Z\xff\xff\xff\xff"), Err(SessionError::Decode(_))));
}

#[test]
fn malformed_rows_and_descriptions_are_violations() {
    // The codec checks DataRow cells and RowDescription fields lazily; the
    // machine checks them before it reports the message.
    let description = b"T\0\0\0\x1b\0\x01id\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\x00";
    let bad_description = b"T\0\0\0\x1b\0\x01id\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\x07";
    let truncated_cell = b"D\0\0\0\x0d\0\x01\0\0\0\x05abc";
    let missing_cell = b"D\0\0\0\x0a\0\x02\xff\xff\xff\xff";

    let mut fe = ready_session();
    fe.send_query("SELECT 1").unwrap();
    assert_eq!(feed(&mut fe, description), Ok(1));
    assert_eq!(feed(&mut fe, truncated_cell), Err(SessionError::Decode(DecodeError::UnexpectedEnd)));
    assert_eq!(fe.close_reason(), Some(CloseReason::ProtocolError));

    let mut fe = ready_session();
    fe.send_query("SELECT 1").unwrap();
    assert_eq!(feed(&mut fe, description), Ok(1));
    assert_eq!(feed(&mut fe, missing_cell), Err(SessionError::Decode(DecodeError::UnexpectedEnd)));

    let mut fe = ready_session();
    fe.send_query("SELECT 1").unwrap();
    assert_eq!(feed(&mut fe, bad_description), Err(SessionError::Decode(DecodeError::InvalidValue)));
    assert!(fe.is_closed());
}

#[test]
fn notices_notifications_anytime() {
    let mut fe = ready_session();
    let fields = ErrorFields::new(Severity::Notice, SqlState::WARNING, "hm");
    let notice = encode(&NoticeResponse::from(&fields));
    assert!(matches!(fe.handle_input(&notice).unwrap().event, Some(Event::Notice(_))));
    let q = fe.send_query("SELECT 1").unwrap();
    let note = b"A\0\0\0\x0f\0\0\0\x01ch\0pay\0";
    assert!(matches!(fe.handle_input(note).unwrap().event, Some(Event::Notification(n)) if n.payload == "pay"));
    let mut input = encode(&CommandComplete { tag: "SELECT 0" });
    input.extend(ready_bytes(TransactionStatus::Idle));
    let got = fe.handle_input(&input).unwrap();
    assert!(matches!(got.event, Some(Event::CommandComplete { request, .. }) if request == q));
}

#[test]
fn fatal_error_mid_query_closes() {
    let mut fe = ready_session();
    let q = fe.send_query("SELECT pg_sleep(100)").unwrap();
    let fields = ErrorFields::new(Severity::Fatal, SqlState::from_code("57P01").unwrap(), "bye");
    let err = encode(&crate::backend::ErrorResponse::from(&fields));
    let got = fe.handle_input(&err).unwrap();
    assert!(matches!(got.event, Some(Event::Error { request: Some(r), .. }) if r == q));
    assert!(fe.is_closed());
    assert_eq!(fe.handle_eof(0), CloseReason::ServerError);
}

#[test]
fn queue_and_output_limits_change_nothing() {
    let mut fe = ready_session();
    for _ in 0..4 {
        fe.send_sync().unwrap();
    }
    assert_eq!(fe.send_sync(), Err(SessionError::QueueFull));
    assert_eq!(fe.pending_requests(), 4);
    assert_eq!(fe.send_flush(), Ok(()));

    let mut fe: Frontend<[u8; 16], 4> = Frontend::new([0; 16], Config::DEFAULT);
    fe.start(StartupParams::from_slice(&[("user", "b")]), &mut CountingRng(0)).unwrap();
    let n = fe.pending_output().len();
    fe.consume_output(n);
    let mut input = b"R\0\0\0\x08\0\0\0\0".to_vec();
    input.extend(ready_bytes(TransactionStatus::Idle));
    let mut rest = &input[..];
    while !rest.is_empty() {
        let got = fe.handle_input(rest).unwrap();
        rest = &rest[got.consumed..];
    }
    assert_eq!(
        fe.send_query("SELECT 123456789"),
        Err(SessionError::OutputFull(crate::session::OutputFull { needed: 22 }))
    );
    assert_eq!(fe.pending_requests(), 0);
    assert!(fe.pending_output().is_empty());
}

#[test]
fn eof_reasons() {
    let mut fe = ready_session();
    assert_eq!(fe.handle_eof(3), CloseReason::Truncated);
    let mut fe = ready_session();
    assert_eq!(fe.handle_eof(0), CloseReason::PeerClosed);
    let mut fe = ready_session();
    fe.send_terminate().unwrap();
    assert_eq!(fe.pending_output(), b"X\0\0\0\x04");
    assert_eq!(fe.send_query("x"), Err(SessionError::Closed));
    assert_eq!(fe.handle_eof(0), CloseReason::Terminated);
}

#[test]
fn oauth_bearer_token_and_rejection() {
    let offer = encode(&Authentication::Sasl { mechanisms: crate::backend::List::from_slice(&["OAUTHBEARER"]) });
    let mut fe = started(Config::DEFAULT);
    let got = fe.handle_input(&offer).unwrap();
    assert_eq!(got.event, Some(Event::PasswordRequired { method: PasswordMethod::OAuthBearer }));
    assert_eq!(fe.waiting_for(), WaitingFor::Caller);
    assert_eq!(fe.provide_password(b"pw"), Err(SessionError::OutOfOrder));
    assert!(fe.provide_bearer_token("has space").is_err());
    assert!(fe.provide_bearer_token("=").is_err());
    fe.provide_bearer_token("abc.DEF=").unwrap();
    assert_eq!(take_output(&mut fe), b"p\0\0\0\x2eOAUTHBEARER\0\0\0\0\x1an,,\x01auth=Bearer abc.DEF=\x01\x01");
    assert_eq!(fe.provide_bearer_token("x"), Err(SessionError::OutOfOrder));
    // Refused: the document is reported and acknowledged with one kvsep.
    let refusal = encode(&Authentication::SaslContinue { data: br#"{ "status": "invalid_token" }"# });
    let got = fe.handle_input(&refusal).unwrap();
    assert_eq!(got.event, Some(Event::OAuthRejected { document: r#"{ "status": "invalid_token" }"# }));
    assert_eq!(take_output(&mut fe), b"p\0\0\0\x05\x01");
    // AuthenticationOk now would skip the exchange's end.
    assert_eq!(fe.handle_input(b"R\0\0\0\x08\0\0\0\0"), Err(SessionError::Auth(AuthError::IncompleteExchange)));

    // An empty token asks for discovery: `auth=` with no value.
    let mut fe = started(Config::DEFAULT);
    assert!(fe.handle_input(&offer).unwrap().event.is_some());
    fe.provide_bearer_token("").unwrap();
    assert_eq!(take_output(&mut fe), b"p\0\0\0\x1fOAUTHBEARER\0\0\0\0\x0bn,,\x01auth=\x01\x01");
}
