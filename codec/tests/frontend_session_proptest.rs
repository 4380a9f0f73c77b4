//! Hostile servers: random bytes, random sequences of valid backend messages
//! and truncated recordings must give events or a clean `SessionError`, never
//! a panic or a loop that makes no progress.

use postwire_codec::Encode;
use postwire_codec::backend::{
    Authentication, BackendKeyData, BindComplete, CloseComplete, CommandComplete, CopyInResponse, CopyOutResponse,
    DataRow, EmptyQueryResponse, ErrorFields, ErrorResponse, FunctionCallResponse, NoData, NoticeResponse,
    NotificationResponse, ParameterStatus, ParseComplete, PortalSuspended, ReadyForQuery, Severity, TransactionStatus,
};
use postwire_codec::frontend::{StartupParams, TargetKind};
use postwire_codec::session::frontend::{CloseReason, Config, Frontend};
use postwire_codec::{CopyData, CopyDone, Format, SqlState};
use proptest::prelude::*;

struct ZeroRng;
impl rand_core::TryRng for ZeroRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> {
        d.fill(0);
        Ok(())
    }
}
impl rand_core::TryCryptoRng for ZeroRng {}

type Fe = Frontend<Vec<u8>, 16>;

fn encode<M: Encode>(m: &M) -> Vec<u8> {
    let mut v = vec![0; m.encoded_len().unwrap()];
    m.encode(&mut v).unwrap();
    v
}

fn started() -> Fe {
    let mut fe = Fe::new(vec![0; 4096], Config::DEFAULT);
    fe.start(StartupParams::from_slice(&[("user", "u")]), &mut ZeroRng).unwrap();
    let n = fe.pending_output().len();
    fe.consume_output(n);
    fe
}

fn ready() -> Fe {
    let mut fe = started();
    let mut input = encode(&Authentication::Ok);
    input.extend(encode(&ReadyForQuery { status: TransactionStatus::Idle }));
    assert_eq!(drive(&mut fe, &input, 1000), Ok(()));
    fe
}

/// Feeds `input`, answering password requests; `Err` is the machine's error.
/// Panics if the machine stops making progress while bytes remain.
fn drive(fe: &mut Fe, mut input: &[u8], max_steps: usize) -> Result<(), postwire_codec::session::SessionError> {
    for _ in 0..max_steps {
        let got = fe.handle_input(input)?;
        if let Some(postwire_codec::session::frontend::Event::PasswordRequired { .. }) = got.event {
            fe.provide_password(b"pw")?;
        }
        if got.event.is_none() && got.consumed == 0 {
            return Ok(());
        }
        input = &input[got.consumed..];
        let n = fe.pending_output().len();
        fe.consume_output(n);
    }
    panic!("no progress after {max_steps} steps");
}

/// A pool of well-formed backend messages.
fn message(i: u8) -> Vec<u8> {
    let err = ErrorFields::new(Severity::Error, SqlState::PROTOCOL_VIOLATION, "e");
    let fatal = ErrorFields::new(Severity::Fatal, SqlState::PROTOCOL_VIOLATION, "f");
    match i % 24 {
        0 => encode(&ReadyForQuery { status: TransactionStatus::Idle }),
        1 => encode(&ReadyForQuery { status: TransactionStatus::Failed }),
        2 => encode(&ParseComplete),
        3 => encode(&BindComplete),
        4 => encode(&CloseComplete),
        5 => encode(&NoData),
        6 => encode(&PortalSuspended),
        7 => encode(&EmptyQueryResponse),
        8 => encode(&DataRow::new(&[Some(b"1"), None])),
        9 => encode(&CommandComplete { tag: "SELECT 1" }),
        10 => encode(&ErrorResponse::from(&err)),
        11 => encode(&NoticeResponse::from(&err)),
        12 => encode(&NotificationResponse { process_id: 1, channel: "c", payload: "p" }),
        13 => encode(&ParameterStatus { name: "a", value: "b" }),
        14 => encode(&CopyInResponse::new(Format::Text, &[Format::Text])),
        15 => encode(&CopyOutResponse::new(Format::Text, &[])),
        16 => encode(&CopyData { data: b"x" }),
        17 => encode(&CopyDone),
        18 => encode(&FunctionCallResponse { result: Some(b"r") }),
        19 => encode(&BackendKeyData { process_id: 1, secret_key: b"abcd" }),
        20 => encode(&Authentication::Ok),
        21 => encode(&Authentication::CleartextPassword),
        22 => encode(&ErrorResponse::from(&fatal)),
        _ => b"T\0\0\0\x06\0\0".to_vec(),
    }
}

/// Queues a random request (ignoring refusals, which change nothing).
fn request(fe: &mut Fe, i: u8) {
    let _ = match i % 10 {
        0 => fe.send_query("q").map(drop),
        1 => fe.send_parse("", "q", &[]).map(drop),
        2 => fe.send_bind("", "", &[], &[], &[]).map(drop),
        3 => fe.send_describe(TargetKind::Statement, "").map(drop),
        4 => fe.send_describe(TargetKind::Portal, "").map(drop),
        5 => fe.send_execute("", 0).map(drop),
        6 => fe.send_close(TargetKind::Portal, "").map(drop),
        7 => fe.send_sync().map(drop),
        8 => fe.send_function_call(1, &[], &[], Format::Text).map(drop),
        _ => fe.send_copy_data(b"d").and_then(|()| fe.send_copy_done()),
    };
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), split in 0usize..512) {
        for mut fe in [started(), ready()] {
            let split = split.min(bytes.len());
            if drive(&mut fe, &bytes[..split], 10_000).is_ok() {
                let _ = drive(&mut fe, &bytes, 10_000);
            }
            if fe.is_closed() {
                prop_assert!(fe.handle_input(b"Z\0\0\0\x05I").is_err());
            }
        }
    }

    #[test]
    fn random_message_sequences(
        requests in proptest::collection::vec(any::<u8>(), 0..12),
        messages in proptest::collection::vec(any::<u8>(), 0..40),
        chunk in 1usize..64,
    ) {
        let mut fe = ready();
        for r in &requests {
            request(&mut fe, *r);
        }
        let stream: Vec<u8> = messages.iter().flat_map(|&m| message(m)).collect();
        // Feed in chunks, as a socket would deliver.
        let mut buf = Vec::new();
        let mut result = Ok(());
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            let mut rest = &buf[..];
            let mut steps = 0;
            loop {
                steps += 1;
                prop_assert!(steps < 10_000);
                match fe.handle_input(rest) {
                    Err(e) => { result = Err(e); break; }
                    Ok(got) => {
                        if got.event.is_none() && got.consumed == 0 { break; }
                        rest = &rest[got.consumed..];
                    }
                }
                if fe.is_closed() { break; }
            }
            let used = buf.len() - rest.len();
            buf.drain(..used);
            if result.is_err() || fe.is_closed() { break; }
            // Interleave more requests.
            request(&mut fe, piece[0]);
        }
        if let Err(e) = result {
            prop_assert!(e.is_fatal(), "{e:?}");
            prop_assert!(fe.is_closed());
        }
    }
}

#[test]
fn truncated_recordings_end_cleanly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    for name in ["simple_query", "extended_query", "negotiate_3_2"] {
        let server = std::fs::read(format!("{dir}{name}.backend.bin")).unwrap();
        for end in (0..server.len()).step_by(7) {
            let mut fe = started();
            // Without the recorded nonce SCRAM fails at server-first: a clean error.
            let r = drive(&mut fe, &server[..end], 10_000);
            if r.is_ok() {
                let reason = fe.handle_eof(1);
                assert!(matches!(reason, CloseReason::Truncated | CloseReason::ServerError), "{reason:?}");
            }
        }
    }
}
