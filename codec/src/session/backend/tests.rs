//! The backend machine driven with encoded client messages.

extern crate std;
use std::{vec, vec::Vec};

use super::*;
use crate::{
    Encode, FrameLimits, Framed,
    backend::{BackendMessage, DataRow, FieldDescription},
    frontend::{
        Bind, Close, Describe, Execute, Flush, FormatCodes, Oids, Parse, PasswordMessage, Query, SslRequest,
        StartupMessage, StartupParams, Sync, Terminate, Values,
    },
};

type Machine = Backend<Vec<u8>, 4, 2>;

/// Deterministic "randomness": counts up.
struct CountingRng(u8);
impl rand_core::TryRng for CountingRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from(self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for CountingRng {}

/// A client's bytes and the machine, with the input consumed as events come.
struct Harness {
    backend: Machine,
    input: Vec<u8>,
}

impl Harness {
    fn new() -> Self {
        Harness { backend: Backend::new(vec![0; 4096]), input: Vec::new() }
    }

    fn send(&mut self, m: &impl Encode) -> &mut Self {
        let mut buf = vec![0; m.encoded_len().unwrap()];
        m.encode(&mut buf).unwrap();
        self.input.extend_from_slice(&buf);
        self
    }

    /// The next event's shape (its Debug text), consuming its bytes.
    fn next(&mut self) -> Option<std::string::String> {
        loop {
            let step = self.backend.handle_input(&self.input);
            let consumed = step.consumed;
            let text = step.event.map(|e| std::format!("{e:?}"));
            self.input.drain(..consumed);
            if text.is_some() || consumed == 0 {
                return text;
            }
        }
    }

    /// The tags of the messages queued since the last call.
    fn output(&mut self) -> Vec<u8> {
        let bytes = self.backend.pending_output().to_vec();
        self.backend.consume_output(bytes.len());
        let mut tags = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            if rest[0] == b'N' && rest.len() == 1 || rest == b"S" {
                tags.push(rest[0]);
                break;
            }
            let Framed::Complete { item, consumed } = BackendMessage::parse(rest, &FrameLimits::DEFAULT).unwrap()
            else {
                panic!("partial output")
            };
            tags.push(match item {
                BackendMessage::ErrorResponse(e) => {
                    std::println!("error: {:?} {:?}", e.code(), e.message());
                    b'E'
                }
                _ => rest[0],
            });
            rest = &rest[consumed..];
        }
        tags
    }

    fn error_code(&mut self) -> std::string::String {
        let bytes = self.backend.pending_output().to_vec();
        self.backend.consume_output(bytes.len());
        let mut rest = &bytes[..];
        while let Ok(Framed::Complete { item, consumed }) = BackendMessage::parse(rest, &FrameLimits::DEFAULT) {
            if let BackendMessage::ErrorResponse(e) = item {
                return e.code().unwrap().code().into();
            }
            rest = &rest[consumed..];
        }
        panic!("no error in {bytes:?}")
    }

    /// Startup as `user` with trust auth, through the first ReadyForQuery.
    fn logged_in() -> Self {
        let mut h = Harness::new();
        let params = [("user", "alice"), ("database", "db"), ("application_name", "psql")];
        h.send(&StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) });
        assert!(h.next().unwrap().starts_with("Startup"));
        h.backend.authenticate(AuthMethod::Trust, &mut CountingRng(0)).unwrap();
        assert_eq!(h.next().as_deref(), Some("Authenticated"));
        h.backend.accept(&ServerParameters::DEFAULT, &BackendKey::new(7, &[1, 2, 3, 4]).unwrap()).unwrap();
        let out = h.output();
        assert_eq!(out[0], b'R');
        assert_eq!(&out[out.len() - 2..], b"KZ");
        h
    }
}

const INT4: FieldDescription<'static> = FieldDescription::new("n", crate::oid::INT4);

#[test]
fn simple_query_flow_and_order_is_enforced() {
    let mut h = Harness::logged_in();
    h.send(&Query { sql: "SELECT 1" });
    assert_eq!(h.next().as_deref(), Some("Query { sql: \"SELECT 1\" }"));
    assert_eq!(h.backend.data_row(&[Some(b"1")]), Err(SessionError::OutOfOrder), "no rows before a description");
    assert_eq!(h.backend.ready_for_query(), Ok(()), "an empty batch may end at once");
    h.send(&Query { sql: "SELECT 1" });
    h.next().unwrap();
    h.backend.row_description(&[INT4]).unwrap();
    h.backend.data_row(&[Some(b"1")]).unwrap();
    assert_eq!(h.backend.data_row(&[Some(b"1"), None]), Err(SessionError::ColumnCountMismatch { expected: 1, got: 2 }));
    assert_eq!(h.backend.ready_for_query(), Err(SessionError::OutOfOrder), "rows still open");
    h.backend.command_complete("SELECT 1").unwrap();
    h.backend.ready_for_query().unwrap();
    assert_eq!(h.backend.ready_for_query(), Err(SessionError::OutOfOrder), "one ReadyForQuery");
    assert_eq!(h.output(), b"ZTDCZ");
}

#[test]
fn received_rows_are_forwarded_as_they_came() {
    let mut h = Harness::logged_in();
    h.send(&Query { sql: "SELECT n FROM elsewhere" });
    h.next().unwrap();
    let row = DataRow::decode_body(b"\0\x01\0\0\0\x0242").unwrap();
    assert_eq!(h.backend.forward_row(&row), Err(SessionError::OutOfOrder), "no rows before a description");
    h.backend.row_description(&[INT4]).unwrap();
    let start = h.backend.pending_output().len();
    // Checked on receipt (one copy) or not (checked now): the same bytes.
    h.backend.forward_row(&row.checked().unwrap()).unwrap();
    h.backend.forward_row(&row).unwrap();
    let wire = b"D\0\0\0\x0c\0\x01\0\0\0\x0242";
    assert_eq!(&h.backend.pending_output()[start..], [&wire[..], &wire[..]].concat());
    let two = DataRow::decode_body(b"\0\x02\xff\xff\xff\xff\xff\xff\xff\xff").unwrap();
    assert_eq!(h.backend.forward_row(&two), Err(SessionError::ColumnCountMismatch { expected: 1, got: 2 }));
    let truncated = DataRow::decode_body(b"\0\x01\0\0\0\x09ab").unwrap();
    assert_eq!(
        h.backend.forward_row(&truncated),
        Err(SessionError::Encode(crate::EncodeError::InvalidValue)),
        "a malformed row is not passed on"
    );
    assert_eq!(h.backend.pending_output().len(), start + 2 * wire.len(), "refused rows leave nothing");
    h.backend.command_complete("SELECT 2").unwrap();
    h.backend.ready_for_query().unwrap();
}

#[test]
fn errors_end_the_simple_batch_and_fail_transactions() {
    let mut h = Harness::logged_in();
    h.send(&Query { sql: "BEGIN; SELECT x" });
    h.next().unwrap();
    h.backend.command_complete("BEGIN").unwrap();
    h.backend.set_transaction_status(TransactionStatus::InTransaction).unwrap();
    let fields =
        ErrorFields::new(Severity::Error, SqlState::from_code("42703").unwrap(), "column \"x\" does not exist");
    h.backend.error(&fields).unwrap();
    assert_eq!(h.backend.row_description(&[INT4]), Err(SessionError::OutOfOrder), "no results after an error");
    h.backend.ready_for_query().unwrap();
    assert_eq!(h.backend.transaction_status(), TransactionStatus::Failed);
    let out = h.backend.pending_output();
    assert_eq!(&out[out.len() - 6..], b"Z\0\0\0\x05E");
}

#[test]
fn extended_query_with_suspension_and_describe() {
    let mut h = Harness::logged_in();
    h.send(&Parse { statement: "s1", query: "SELECT $1", param_types: Oids::from_slice(&[23]) });
    h.send(&Bind {
        portal: "p",
        statement: "s1",
        param_formats: FormatCodes::EMPTY,
        params: Values::from_slice(&[Some(b"5")]),
        result_formats: FormatCodes::EMPTY,
    });
    h.send(&Describe { kind: crate::frontend::TargetKind::Portal, name: "p" });
    h.send(&Execute { portal: "p", max_rows: 1 });
    h.send(&Execute { portal: "p", max_rows: 1 });
    h.send(&Sync);
    assert!(h.next().unwrap().starts_with("Parse"));
    assert_eq!(h.backend.bind_complete(), Err(SessionError::OutOfOrder));
    h.backend.parse_complete(1).unwrap();
    assert!(h.next().unwrap().starts_with("Bind"));
    h.backend.bind_complete().unwrap();
    assert!(h.next().unwrap().starts_with("DescribePortal"));
    h.backend.row_description(&[INT4]).unwrap();
    assert!(h.next().unwrap().starts_with("Execute"));
    h.backend.data_row(&[Some(b"5")]).unwrap();
    assert_eq!(h.backend.data_row(&[None, None]), Err(SessionError::ColumnCountMismatch { expected: 1, got: 2 }));
    h.backend.portal_suspended().unwrap();
    assert!(h.next().unwrap().starts_with("Execute"));
    h.backend.command_complete("SELECT 1").unwrap();
    assert_eq!(h.next().as_deref(), Some("Sync { after_error: false }"));
    h.backend.ready_for_query().unwrap();
    assert_eq!(h.output(), b"12TDsCZ");
}

#[test]
fn portals_last_until_the_transaction_ends() {
    let mut h = Harness::logged_in();
    let bind = Bind {
        portal: "p",
        statement: "s",
        param_formats: FormatCodes::EMPTY,
        params: Values::EMPTY,
        result_formats: FormatCodes::EMPTY,
    };
    h.send(&Parse { statement: "s", query: "SELECT 1", param_types: Oids::EMPTY }).send(&bind).send(&Sync);
    assert!(h.next().unwrap().starts_with("Parse"));
    h.backend.parse_complete(0).unwrap();
    assert!(h.next().unwrap().starts_with("Bind"));
    h.backend.bind_complete().unwrap();
    assert!(h.next().unwrap().starts_with("Sync"));
    let ready = |h: &mut Harness, status| {
        h.backend.set_transaction_status(status).unwrap();
        h.backend.ready_for_query().unwrap();
        h.output()
    };
    // Inside a transaction block the portal outlives ReadyForQuery.
    assert_eq!(ready(&mut h, TransactionStatus::InTransaction), b"12Z");
    let execute = Execute { portal: "p", max_rows: 0 };
    h.send(&execute).send(&Sync);
    assert!(h.next().unwrap().starts_with("Execute"));
    h.backend.command_complete("SELECT 0").unwrap();
    assert!(h.next().unwrap().starts_with("Sync"));
    // COMMIT: back to idle, and the portal is gone.
    assert_eq!(ready(&mut h, TransactionStatus::Idle), b"CZ");
    h.send(&execute).send(&Sync);
    assert!(h.next().unwrap().starts_with("Sync"));
    assert_eq!(h.error_code(), "34000");
}

#[test]
fn after_an_error_everything_up_to_sync_is_skipped() {
    let mut h = Harness::logged_in();
    // Unknown statement: 26000, then the Execute is skipped.
    h.send(&Bind {
        portal: "",
        statement: "nope",
        param_formats: FormatCodes::EMPTY,
        params: Values::EMPTY,
        result_formats: FormatCodes::EMPTY,
    });
    h.send(&Execute { portal: "", max_rows: 0 });
    h.send(&Query { sql: "SELECT 1" });
    h.send(&Sync);
    assert_eq!(h.next().as_deref(), Some("Sync { after_error: true }"));
    assert_eq!(h.error_code(), "26000");
    h.backend.ready_for_query().unwrap();
    assert_eq!(h.output(), b"Z");
    // Unknown portal: 34000; parameter count mismatch: 08P01.
    h.send(&Execute { portal: "ghost", max_rows: 0 }).send(&Sync);
    assert!(h.next().unwrap().starts_with("Sync"));
    assert_eq!(h.error_code(), "34000");
    h.backend.ready_for_query().unwrap();
    h.send(&Parse { statement: "", query: "SELECT $1", param_types: Oids::EMPTY });
    assert!(h.next().unwrap().starts_with("Parse"));
    h.backend.parse_complete(1).unwrap();
    h.send(&Bind {
        portal: "",
        statement: "",
        param_formats: FormatCodes::EMPTY,
        params: Values::EMPTY,
        result_formats: FormatCodes::EMPTY,
    })
    .send(&Sync);
    assert!(h.next().unwrap().starts_with("Sync"));
    assert_eq!(h.error_code(), "08P01");
}

#[test]
fn whole_frames_with_bad_content_are_errors_not_the_end() {
    // As PostgreSQL: a framed command whose content is malformed (a bad
    // Describe kind, a Query without its terminator) gets ERROR 08P01; the
    // session goes on. An unknown message type stays FATAL.
    let mut h = Harness::logged_in();
    h.input.extend_from_slice(b"D\0\0\0\x0aXnope\0");
    h.send(&Execute { portal: "", max_rows: 0 });
    h.send(&Sync);
    assert_eq!(h.next().as_deref(), Some("Sync { after_error: true }"));
    assert_eq!(h.error_code(), "08P01");
    h.backend.ready_for_query().unwrap();
    assert_eq!(h.output(), b"Z");
    h.input.extend_from_slice(b"Q\0\0\0\x0cSELECT 1");
    assert_eq!(h.next(), None);
    assert_eq!(h.output(), b"EZ");
    h.send(&Query { sql: "SELECT 2" });
    assert!(h.next().unwrap().starts_with("Query"));
    h.input.clear();
    h.backend.empty_query().unwrap();
    h.backend.ready_for_query().unwrap();
    h.output();
    h.input.extend_from_slice(b"!\0\0\0\x04");
    assert!(h.next().unwrap().starts_with("Ended"));
    assert_eq!(h.error_code(), "08P01");
    assert!(h.backend.is_closed());
}

#[test]
fn statement_limits_and_duplicates() {
    let mut h = Harness::logged_in();
    for name in ["a", "b", "c", "d", "e"] {
        h.send(&Parse { statement: name, query: "SELECT 1", param_types: Oids::EMPTY });
        if name == "e" {
            break;
        }
        assert!(h.next().unwrap().starts_with("Parse"));
        h.backend.parse_complete(0).unwrap();
    }
    h.send(&Sync);
    assert!(h.next().unwrap().starts_with("Sync { after_error: true"));
    let out = h.error_code();
    assert_eq!(out, "54000", "the fifth statement exceeds the capacity of 4");
    h.backend.ready_for_query().unwrap();
    h.send(&Parse { statement: "a", query: "SELECT 2", param_types: Oids::EMPTY }).send(&Sync);
    assert!(h.next().unwrap().starts_with("Sync { after_error: true"));
    assert_eq!(h.error_code(), "42P05");
    h.backend.ready_for_query().unwrap();
    h.send(&Close { kind: crate::frontend::TargetKind::Statement, name: "a" });
    assert!(h.next().unwrap().starts_with("Closed"));
    h.send(&Flush);
    assert_eq!(h.next().as_deref(), Some("Flush"));
    assert_eq!(h.output(), b"Z3");
}

#[test]
fn cleartext_password_success_and_failure() {
    let params = [("user", "bob")];
    let startup = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) };
    for ok in [true, false] {
        let mut h = Harness::new();
        h.send(&startup);
        h.next().unwrap();
        h.backend.authenticate(AuthMethod::Cleartext, &mut CountingRng(0)).unwrap();
        assert_eq!(h.output(), b"R");
        h.send(&Query { sql: "SELECT 1" });
        assert!(h.next().unwrap().contains("UnexpectedMessage"), "nothing but auth before auth");
        let mut h = Harness::new();
        h.send(&startup);
        h.next().unwrap();
        h.backend.authenticate(AuthMethod::Cleartext, &mut CountingRng(0)).unwrap();
        h.output();
        h.send(&PasswordMessage { password: b"secret" });
        assert_eq!(h.next().as_deref(), Some("PasswordReceived { password: [115, 101, 99, 114, 101, 116] }"));
        h.backend.password_verified(ok).unwrap();
        if ok {
            assert_eq!(h.next().as_deref(), Some("Authenticated"));
        } else {
            assert_eq!(h.error_code(), "28P01");
            assert!(h.backend.is_closed());
        }
    }
}

#[test]
fn startup_errors() {
    // No user: FATAL 28000.
    let mut h = Harness::new();
    h.send(&StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&[("database", "x")]) });
    assert!(h.next().unwrap().contains("NoUser"));
    assert_eq!(h.error_code(), "28000");
    // Protocol 2.0: FATAL 0A000.
    let mut h = Harness::new();
    h.input.extend_from_slice(b"\0\0\0\x0c\0\x02\0\0user\0");
    h.next().unwrap();
    assert_eq!(h.error_code(), "0A000");
    // 3.5 and an unknown option: NegotiateProtocolVersion(3.2).
    let mut h = Harness::new();
    let params = [("user", "u"), ("_pq_.compression", "on")];
    h.send(&StartupMessage {
        version: ProtocolVersion { major: 3, minor: 5 },
        params: StartupParams::from_slice(&params),
    });
    assert!(h.next().unwrap().contains("minor: 2"));
    assert_eq!(h.backend.pending_output(), b"v\0\0\0\x1d\0\x03\0\x02\0\0\0\x01_pq_.compression\0");
    // Oversized startup packet: FATAL 08P01.
    let mut h = Harness::new();
    h.input.extend_from_slice(b"\0\x01\0\0");
    h.next().unwrap();
    assert_eq!(h.error_code(), "08P01");
}

#[test]
fn tls_requests() {
    let mut h = Harness::new();
    h.send(&SslRequest);
    assert_eq!(h.next().as_deref(), Some("TlsRequested"));
    h.backend.accept_tls().unwrap();
    assert_eq!(h.backend.pending_output(), b"S");
    assert!(h.backend.is_encrypted());
    // Data pipelined after the request is refused (CVE-2021-23214).
    let mut h = Harness::new();
    h.send(&SslRequest).send(&Query { sql: "x" });
    assert!(h.next().unwrap().contains("DataAfterEncryptionRequest"));
    // Direct TLS: nothing consumed.
    let mut h = Harness::new();
    h.input.extend_from_slice(&[0x16, 3, 1, 0, 5]);
    assert_eq!(h.next().as_deref(), Some("DirectTls"));
    assert_eq!(h.input.len(), 5);
    h.backend.tls_established().unwrap();
}

#[test]
fn copy_in_and_out() {
    let mut h = Harness::logged_in();
    h.send(&Query { sql: "COPY t FROM STDIN" });
    h.next().unwrap();
    h.backend.copy_in_response(crate::Format::Text, &[crate::Format::Text]).unwrap();
    h.send(&crate::CopyData { data: b"1\n" }).send(&Sync).send(&crate::CopyDone);
    assert!(h.next().unwrap().starts_with("CopyData"));
    assert_eq!(h.next().as_deref(), Some("CopyDone"), "Sync is ignored in copy-in");
    h.backend.command_complete("COPY 1").unwrap();
    h.backend.ready_for_query().unwrap();
    h.send(&Query { sql: "COPY t FROM STDIN" });
    h.next().unwrap();
    h.backend.copy_in_response(crate::Format::Text, &[]).unwrap();
    h.send(&crate::frontend::CopyFail { message: "nope" });
    assert_eq!(h.next().as_deref(), Some("CopyAborted { client_message: Some(\"nope\") }"));
    h.backend.ready_for_query().unwrap();
    h.output();
    h.send(&Query { sql: "COPY t TO STDOUT" });
    h.next().unwrap();
    h.backend.copy_out_response(crate::Format::Text, &[]).unwrap();
    h.backend.copy_data(b"1\n").unwrap();
    assert_eq!(h.backend.ready_for_query(), Err(SessionError::OutOfOrder));
    h.backend.copy_done().unwrap();
    h.backend.command_complete("COPY 1").unwrap();
    h.backend.ready_for_query().unwrap();
    assert_eq!(h.output(), b"HdcCZ");
}

#[test]
fn one_byte_at_a_time() {
    let mut h = Harness::logged_in();
    // Nothing at all between commands: a whole header is wanted.
    assert_eq!(h.backend.handle_input(&[]), Input { consumed: 0, event: None, needed: 5 });
    assert_eq!(h.backend.handle_input(b"Q"), Input { consumed: 0, event: None, needed: 4 });
    let mut all = Vec::new();
    let q = Query { sql: "SELECT 1" };
    let mut buf = vec![0; q.encoded_len().unwrap()];
    q.encode(&mut buf).unwrap();
    all.extend_from_slice(&buf);
    all.extend_from_slice(&buf);
    let mut fed = 0;
    let mut events = 0;
    while fed < all.len() {
        h.input.push(all[fed]);
        fed += 1;
        while let Some(_e) = h.next() {
            events += 1;
            h.backend.empty_query().unwrap();
            h.backend.ready_for_query().unwrap();
        }
    }
    assert_eq!(events, 2);
}

#[test]
fn terminate_and_async_messages() {
    let mut h = Harness::logged_in();
    h.backend.notification(9, "ch", "hi").unwrap();
    h.backend.parameter_status("TimeZone", "UTC").unwrap();
    assert_eq!(h.output(), b"AS");
    h.send(&Terminate);
    assert!(h.next().unwrap().contains("Finished"));
    assert!(h.backend.is_closed());
    assert_eq!(h.backend.notification(9, "ch", "hi"), Err(SessionError::Closed));
}

#[test]
fn output_full_is_retryable_and_changes_nothing() {
    let mut backend: Backend<[u8; 64], 2, 2> = Backend::new([0; 64]);
    let mut input = Vec::new();
    let params = [("user", "u")];
    let m = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) };
    input.resize(m.encoded_len().unwrap(), 0);
    m.encode(&mut input).unwrap();
    let step = backend.handle_input(&input);
    assert!(step.event.is_some());
    backend.authenticate(AuthMethod::Trust, &mut CountingRng(0)).unwrap();
    assert_eq!(backend.handle_input(&[]).event, Some(Event::Authenticated));
    let key = BackendKey::new(1, &[0; 4]).unwrap();
    assert!(matches!(backend.accept(&ServerParameters::DEFAULT, &key), Err(SessionError::OutputFull(_))));
    assert!(backend.pending_output().is_empty(), "all or nothing");
}

/// A harness after Startup as "bob", with `method` chosen; the
/// authentication request is consumed from the output and returned.
fn authenticating(method: AuthMethod<'_>) -> (Harness, Vec<u8>) {
    let mut h = Harness::new();
    let params = [("user", "bob")];
    h.send(&StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) });
    assert!(h.next().unwrap().starts_with("Startup"));
    h.backend.authenticate(method, &mut CountingRng(0)).unwrap();
    let out = h.backend.pending_output().to_vec();
    h.backend.consume_output(out.len());
    (h, out)
}

fn scram_method() -> AuthMethod<'static> {
    AuthMethod::ScramSha256 { password: StoredPassword::Plaintext(b"pw") }
}

use crate::auth::StoredPassword;
use crate::frontend::{SaslInitialResponse, SaslResponse};

#[test]
fn md5_challenge_checked_by_the_machine() {
    for (password, ok) in [(&b"secret"[..], true), (b"wrong", false)] {
        let stored = StoredPassword::Plaintext(b"secret");
        let (mut h, out) = authenticating(AuthMethod::Md5 { password: stored });
        // CountingRng: the salt is 1, 2, 3, 4.
        assert_eq!(out, b"R\0\0\0\x0c\0\0\0\x05\x01\x02\x03\x04");
        let response = crate::auth::md5::client_response(b"bob", password, [1, 2, 3, 4]);
        h.send(&PasswordMessage { password: &response });
        if ok {
            assert_eq!(h.next().as_deref(), Some("Authenticated"));
        } else {
            assert!(h.next().unwrap().contains("AuthenticationFailed"));
            assert_eq!(h.error_code(), "28P01");
        }
    }
    // A stored MD5 verifier works the same; a SCRAM verifier turns MD5 into SCRAM.
    let verifier = crate::auth::Md5Verifier::derive(b"bob", b"secret");
    let (mut h, _) = authenticating(AuthMethod::Md5 { password: StoredPassword::Md5(verifier) });
    h.send(&PasswordMessage { password: &verifier.response([1, 2, 3, 4]) });
    assert_eq!(h.next().as_deref(), Some("Authenticated"));
    let scram = crate::auth::ScramVerifier::derive(b"pw", b"salt", 16).unwrap();
    let (_, out) = authenticating(AuthMethod::Md5 { password: StoredPassword::Scram(scram) });
    assert_eq!(out, b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0");
}

#[test]
fn scram_protocol_violations_are_fatal_08p01() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("SCRAM-SHA-256", b"n,,n=,r=", "08P01"),
        ("SCRAM-SHA-256", b"x", "08P01"),
        ("SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=,r=abc", "08P01"),
        ("OAUTHBEARER", b"n,,\x01auth=\x01\x01", "08P01"),
        ("SCRAM-SHA-256", b"n,a=x,n=,r=abc", "0A000"),
        ("SCRAM-SHA-256", b"n,,m=ext,n=,r=abc", "0A000"),
    ];
    for (mechanism, data, code) in cases {
        let (mut h, _) = authenticating(scram_method());
        h.send(&SaslInitialResponse { mechanism, data: Some(data) });
        assert!(h.next().unwrap().contains("Sasl"));
        assert_eq!(h.error_code(), *code, "{mechanism} {data:?}");
        assert!(h.backend.is_closed());
    }
    // Anything but the expected message: 08P01.
    let (mut h, _) = authenticating(scram_method());
    h.send(&Query { sql: "SELECT 1" });
    assert!(h.next().unwrap().contains("UnexpectedMessage"));
    assert_eq!(h.error_code(), "08P01");
    // A malformed client-final, and a wrong nonce.
    for final_message in [&b"c=biws"[..], b"c=biws,r=abcX,p=AAAA"] {
        let (mut h, _) = authenticating(scram_method());
        h.send(&SaslInitialResponse { mechanism: "SCRAM-SHA-256", data: Some(b"n,,n=,r=abc") });
        assert_eq!(h.next(), None);
        assert_eq!(h.output(), b"R");
        h.send(&SaslResponse { data: final_message });
        assert!(h.next().unwrap().contains("Sasl"));
        assert_eq!(h.error_code(), "08P01");
    }
}

#[test]
fn scram_initial_response_without_data_gets_an_empty_challenge() {
    let (mut h, _) = authenticating(scram_method());
    h.send(&SaslInitialResponse { mechanism: "SCRAM-SHA-256", data: None });
    assert_eq!(h.next(), None);
    assert_eq!(h.backend.pending_output(), b"R\0\0\0\x08\0\0\0\x0b");
    h.output();
    h.send(&SaslResponse { data: b"n,,n=,r=abc" });
    assert_eq!(h.next(), None);
    let out = h.backend.pending_output().to_vec();
    assert!(out.windows(5).any(|w| w == b"r=abc"), "{out:?}");
}

#[test]
fn channel_binding_data_only_on_tls_and_before_auth() {
    let mut h = Harness::new();
    assert_eq!(h.backend.set_tls_server_end_point(&[1; 32]), Err(SessionError::OutOfOrder));
    h.send(&SslRequest);
    assert_eq!(h.next().as_deref(), Some("TlsRequested"));
    h.backend.accept_tls().unwrap();
    h.output();
    assert!(h.backend.set_tls_server_end_point(&[]).is_err());
    assert!(h.backend.set_tls_server_end_point(&[1; 65]).is_err());
    h.backend.set_tls_server_end_point(&[1; 32]).unwrap();
    let params = [("user", "bob")];
    h.send(&StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) });
    h.next().unwrap();
    h.backend.authenticate(scram_method(), &mut CountingRng(0)).unwrap();
    assert_eq!(h.backend.pending_output(), b"R\0\0\0\x2a\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
    assert_eq!(h.backend.set_tls_server_end_point(&[1; 32]), Err(SessionError::OutOfOrder));
}

#[test]
fn oauth_token_discovery_and_rejection() {
    let method = AuthMethod::OAuthBearer { issuer: "https://issuer.example", scope: "openid" };
    let document = br#"{ "status": "invalid_token", "openid-configuration": "https://issuer.example/.well-known/openid-configuration", "scope": "openid" }"#;
    let (_, out) = authenticating(method);
    assert_eq!(out, b"R\0\0\0\x15\0\0\0\x0aOAUTHBEARER\0\0");

    // Accepted token: no SASLFinal, straight to Authenticated.
    let (mut h, _) = authenticating(method);
    h.send(&SaslInitialResponse { mechanism: "OAUTHBEARER", data: Some(b"n,,\x01auth=Bearer tok\x01\x01") });
    assert_eq!(h.next().as_deref(), Some("OAuthToken { token: \"tok\" }"));
    assert_eq!(h.backend.waiting_for(), Waiting::Driver);
    assert_eq!(h.backend.password_verified(true), Err(SessionError::OutOfOrder));
    h.backend.oauth_verified(true).unwrap();
    assert_eq!(h.next().as_deref(), Some("Authenticated"));
    assert!(h.output().is_empty());

    // Refused token, and a discovery request: the document, then 28000 after the client's kvsep.
    for refuse in [true, false] {
        let (mut h, _) = authenticating(method);
        let data: &[u8] = if refuse { b"n,,\x01auth=Bearer tok\x01\x01" } else { b"n,,\x01auth=\x01\x01" };
        h.send(&SaslInitialResponse { mechanism: "OAUTHBEARER", data: Some(data) });
        if refuse {
            assert!(h.next().unwrap().starts_with("OAuthToken"));
            h.backend.oauth_verified(false).unwrap();
        } else {
            assert_eq!(h.next(), None);
        }
        let out = h.backend.pending_output().to_vec();
        h.backend.consume_output(out.len());
        assert_eq!(&out[..9], b"R\0\0\0\x8b\0\0\0\x0b");
        assert_eq!(&out[9..], &document[..]);
        h.send(&SaslResponse { data: b"\x01" });
        assert!(h.next().unwrap().contains("AuthenticationFailed"));
        let bytes = h.backend.pending_output().to_vec();
        let text = std::string::String::from_utf8_lossy(&bytes);
        assert!(text.contains("C28000"), "{text}");
        assert!(text.contains("OAuth bearer authentication failed for user \"bob\""), "{text}");
    }

    // Without initial data: an empty challenge, then the response.
    let (mut h, _) = authenticating(method);
    h.send(&SaslInitialResponse { mechanism: "OAUTHBEARER", data: None });
    assert_eq!(h.next(), None);
    assert_eq!(h.output(), b"R");
    h.send(&SaslResponse { data: b"n,,\x01auth=Bearer abc\x01\x01" });
    assert!(h.next().unwrap().starts_with("OAuthToken"));

    // A wrong acknowledgement, and a malformed message: 08P01.
    let (mut h, _) = authenticating(method);
    h.send(&SaslInitialResponse { mechanism: "OAUTHBEARER", data: Some(b"n,,\x01auth=\x01\x01") });
    assert_eq!(h.next(), None);
    h.output();
    h.send(&SaslResponse { data: b"\x01\x01" });
    assert!(h.next().unwrap().contains("MalformedOAuth"));
    assert_eq!(h.error_code(), "08P01");
    let (mut h, _) = authenticating(method);
    h.send(&SaslInitialResponse { mechanism: "OAUTHBEARER", data: Some(b"n,,auth=x") });
    assert!(h.next().unwrap().contains("MalformedOAuth"));
    assert_eq!(h.error_code(), "08P01");
    let (mut h, _) = authenticating(method);
    h.send(&SaslInitialResponse { mechanism: "SCRAM-SHA-256", data: Some(b"n,,n=,r=abc") });
    assert!(h.next().unwrap().contains("InvalidMechanism"));
}

#[test]
fn server_terminates_mid_reply_and_when_idle() {
    // Mid-reply: rows are going out when the server shuts down.
    let mut h = Harness::logged_in();
    h.send(&Query { sql: "SELECT 1" });
    assert!(h.next().unwrap().starts_with("Query"));
    h.backend.row_description(&[]).unwrap();
    let fields = ErrorFields::new(Severity::Error, SqlState::ADMIN_SHUTDOWN, "terminating connection");
    h.backend.terminate(&fields).unwrap();
    assert_eq!(h.error_code(), "57P01");
    assert!(h.backend.is_closed());
    assert_eq!(h.backend.close_reason(), Some(CloseReason::Rejected));
    assert_eq!(h.backend.terminate(&fields), Err(SessionError::Closed));
    assert_eq!(h.backend.ready_for_query(), Err(SessionError::Closed));

    // Idle between commands; the error goes out as FATAL whatever was asked.
    let mut h = Harness::logged_in();
    h.backend.terminate(&fields).unwrap();
    let bytes = h.backend.pending_output().to_vec();
    let Framed::Complete { item: BackendMessage::ErrorResponse(e), .. } =
        BackendMessage::parse(&bytes, &FrameLimits::DEFAULT).unwrap()
    else {
        panic!("an error")
    };
    assert_eq!(e.severity(), Some("FATAL"));
    assert_eq!(h.backend.waiting_for(), Waiting::Nothing);
}

#[test]
fn terminate_is_retryable_when_the_output_is_full() {
    let mut backend: Backend<Vec<u8>, 2, 2> = Backend::new(vec![0; 16]);
    let fields = ErrorFields::new(Severity::Fatal, SqlState::ADMIN_SHUTDOWN, "a message longer than the buffer");
    assert!(matches!(backend.terminate(&fields), Err(SessionError::OutputFull(_))));
    assert!(!backend.is_closed(), "nothing changed");
    let old = backend.replace_output_storage(vec![0; 256]).unwrap();
    assert_eq!((old.len(), backend.output_capacity()), (16, 256));
    backend.terminate(&fields).unwrap();
    assert!(backend.is_closed());
}

#[test]
fn encryption_is_known_while_authenticating() {
    // The driver decides TLS-only rejections at the Startup event.
    let params = [("user", "u")];
    let startup = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&params) };
    let mut h = Harness::new();
    h.send(&SslRequest);
    assert_eq!(h.next().as_deref(), Some("TlsRequested"));
    h.backend.accept_tls().unwrap();
    h.send(&startup);
    assert!(h.next().unwrap().starts_with("Startup"));
    assert!(h.backend.is_encrypted(), "at the Startup event");
    h.backend.authenticate(AuthMethod::Cleartext, &mut CountingRng(0)).unwrap();
    assert!(h.backend.is_encrypted(), "while authenticating");

    let mut h = Harness::new();
    h.send(&startup);
    assert!(h.next().unwrap().starts_with("Startup"));
    assert!(!h.backend.is_encrypted());
}

#[test]
fn an_unknown_message_type_is_refused_on_its_first_byte() {
    // '}' then a length of almost 1 GiB that never comes: no waiting for it.
    let mut h = Harness::logged_in();
    h.input.extend_from_slice(b"}\x3e\x4f");
    assert!(h.next().unwrap().contains("UnexpectedMessage"));
    assert_eq!(h.error_code(), "08P01");
    assert!(h.backend.is_closed());
}
