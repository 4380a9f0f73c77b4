//! Drives the frontend machine through the recorded real PostgreSQL sessions
//! in `fixtures/`: it replays what the recorded client sent through the
//! machine's `send_*` methods (with the recorded SCRAM nonce), feeds the
//! recorded server bytes, and checks that the machine's output equals the
//! recorded client bytes exactly and that the events are the expected ones.

use postwire_codec::backend::TransactionStatus;
use postwire_codec::frame::{FrameLimits, Framed};
use postwire_codec::frontend::{FrontendMessage, ProtocolVersion, StartupPacket};
use postwire_codec::session::frontend::{Config, Event, Frontend, WaitingFor};
use postwire_codec::{Format, SqlState};

const PASSWORD: &[u8] = b"postwire-secret";

/// An "rng" that yields fixed bytes: the nonce the recorded client used.
struct FixedRng(Vec<u8>);

impl rand_core::TryRng for FixedRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for (d, s) in dst.iter_mut().zip(self.0.drain(..)) {
            *d = s;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for FixedRng {}

fn b64_decode(s: &[u8]) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64"),
    };
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let digits: Vec<u8> = chunk.iter().filter(|&&c| c != b'=').map(|&c| val(c)).collect();
        let mut acc = 0u32;
        for (i, d) in digits.iter().enumerate() {
            acc |= u32::from(*d) << (18 - 6 * i);
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..digits.len()]);
    }
    out
}

/// A simplified log entry of one event.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Password,
    Authenticated,
    Negotiated(ProtocolVersion),
    Key,
    Param(String),
    Ready(Option<u64>, TransactionStatus),
    Parse(u64),
    Bind(u64),
    Close(u64),
    Params(u64, usize),
    Rows(u64, usize),
    NoData(u64),
    Row(u64, Vec<Option<Vec<u8>>>),
    Complete(u64, String),
    Empty(u64),
    Suspended(u64),
    Error(Option<u64>, String),
    Skipped(u64),
    CopyIn(u64),
    CopyOut(u64),
    CopyData(u64, Vec<u8>),
    CopyDone(u64),
    Notice,
    Notification(String, String),
}

fn log(ev: &Event<'_>) -> Ev {
    match *ev {
        Event::PasswordRequired { .. } => Ev::Password,
        Event::Authenticated => Ev::Authenticated,
        Event::ProtocolNegotiated { version, .. } => Ev::Negotiated(version),
        Event::BackendKeyData { .. } => Ev::Key,
        Event::ParameterStatus(p) => Ev::Param(p.name.to_string()),
        Event::Ready { request, status } => Ev::Ready(request.map(|r| r.0), status),
        Event::ParseComplete { request } => Ev::Parse(request.0),
        Event::BindComplete { request } => Ev::Bind(request.0),
        Event::CloseComplete { request } => Ev::Close(request.0),
        Event::ParameterDescription { request, description } => Ev::Params(request.0, description.types.len()),
        Event::RowDescription { request, description } => Ev::Rows(request.0, description.fields.len()),
        Event::NoData { request } => Ev::NoData(request.0),
        Event::DataRow { request, row } => {
            Ev::Row(request.0, row.cells().map(|c| c.expect("validated by the machine").map(<[u8]>::to_vec)).collect())
        }
        Event::CommandComplete { request, complete } => Ev::Complete(request.0, complete.tag.to_string()),
        Event::EmptyQuery { request } => Ev::Empty(request.0),
        Event::PortalSuspended { request } => Ev::Suspended(request.0),
        Event::Error { request, error } => {
            Ev::Error(request.map(|r| r.0), error.code().map(|c| c.code().to_string()).unwrap_or_default())
        }
        Event::Skipped { request } => Ev::Skipped(request.0),
        Event::CopyIn { request, .. } => Ev::CopyIn(request.0),
        Event::CopyOut { request, .. } => Ev::CopyOut(request.0),
        Event::CopyData { request, data } => Ev::CopyData(request.0, data.to_vec()),
        Event::CopyDone { request } => Ev::CopyDone(request.0),
        Event::Notice(_) => Ev::Notice,
        Event::Notification(n) => Ev::Notification(n.channel.to_string(), n.payload.to_string()),
        ref other => panic!("unexpected event {other:?}"),
    }
}

/// Sends one recorded frontend message through the machine's typed API.
fn send(fe: &mut Frontend<Vec<u8>>, msg: FrontendMessage<'_>) {
    let r = match msg {
        FrontendMessage::Query(q) => fe.send_query(q.sql).map(drop),
        FrontendMessage::Parse(p) => {
            let types: Vec<u32> = p.param_types.iter().collect();
            fe.send_parse(p.statement, p.query, &types).map(drop)
        }
        FrontendMessage::Bind(b) => {
            let pf: Vec<Format> = b.param_formats.iter().collect();
            let params: Vec<Option<&[u8]>> = b.params.iter().collect();
            let rf: Vec<Format> = b.result_formats.iter().collect();
            fe.send_bind(b.portal, b.statement, &pf, &params, &rf).map(drop)
        }
        FrontendMessage::Describe(d) => fe.send_describe(d.kind, d.name).map(drop),
        FrontendMessage::Execute(e) => fe.send_execute(e.portal, e.max_rows).map(drop),
        FrontendMessage::Close(c) => fe.send_close(c.kind, c.name).map(drop),
        FrontendMessage::Sync(_) => fe.send_sync().map(drop),
        FrontendMessage::Flush(_) => fe.send_flush(),
        FrontendMessage::CopyData(d) => fe.send_copy_data(d.data),
        FrontendMessage::CopyDone(_) => fe.send_copy_done(),
        FrontendMessage::CopyFail(f) => fe.send_copy_fail(f.message),
        FrontendMessage::Terminate(_) => fe.send_terminate(),
        other => panic!("not replayed: {other:?}"),
    };
    r.unwrap_or_else(|e| panic!("sending {msg:?}: {e}"));
}

/// Replays a recorded session, feeding the server bytes in chunks of `chunk`
/// bytes; returns the events and checks the output equals the recording.
fn replay(name: &str, chunk: usize) -> Vec<Ev> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let client = std::fs::read(format!("{dir}{name}.frontend.bin")).unwrap();
    let server = std::fs::read(format!("{dir}{name}.backend.bin")).unwrap();
    let limits = FrameLimits::DEFAULT;

    // The recorded startup packet and the client's nonce.
    let Framed::Complete { item: StartupPacket::Startup(startup), consumed } =
        StartupPacket::parse(&client, &limits).unwrap()
    else {
        panic!("no startup packet")
    };
    let mut rest = &client[consumed..];
    let mut to_send = Vec::new();
    let mut nonce = None;
    while !rest.is_empty() {
        let Framed::Complete { item, consumed } = FrontendMessage::parse(rest, &limits).unwrap() else { panic!() };
        match item {
            FrontendMessage::AuthResponse(a) => {
                if let Ok(init) = a.as_sasl_initial_response() {
                    let data = init.data.unwrap();
                    let r = data.windows(2).position(|w| w == b"r=").unwrap();
                    nonce = Some(b64_decode(&data[r + 2..]));
                }
            }
            other => to_send.push(other),
        }
        rest = &rest[consumed..];
    }
    let mut rng = FixedRng(nonce.expect("SCRAM nonce"));
    let config = Config::DEFAULT.with_protocol_version(startup.version);
    let mut fe: Frontend<Vec<u8>> = Frontend::new(vec![0; 4096], config);
    fe.start(startup.params, &mut rng).unwrap();

    let mut sent = Vec::new();
    let mut to_send = to_send.into_iter().peekable();
    let mut events = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    loop {
        // Transmit.
        sent.extend_from_slice(fe.pending_output());
        let n = fe.pending_output().len();
        fe.consume_output(n);
        // Send the next batch when the recorded client would have.
        match fe.waiting_for() {
            WaitingFor::Idle if fe.is_ready() => {
                for m in to_send.by_ref() {
                    let end = matches!(
                        m,
                        FrontendMessage::Sync(_)
                            | FrontendMessage::Query(_)
                            | FrontendMessage::Flush(_)
                            | FrontendMessage::Terminate(_)
                    );
                    send(&mut fe, m);
                    if end {
                        break;
                    }
                }
                continue_if_output(&mut fe, &mut sent);
            }
            WaitingFor::Caller if fe.is_ready() => {
                for m in to_send.by_ref() {
                    let end = matches!(m, FrontendMessage::CopyDone(_) | FrontendMessage::CopyFail(_));
                    send(&mut fe, m);
                    if end {
                        break;
                    }
                }
                continue_if_output(&mut fe, &mut sent);
            }
            WaitingFor::Closed => break,
            _ => {}
        }
        if fe.is_closed() {
            break;
        }
        let got = fe.handle_input(&buf).unwrap_or_else(|e| panic!("{name}: {e} after {events:?}"));
        if let Some(ev) = got.event {
            let ev_log = log(&ev);
            if ev_log == Ev::Password {
                fe.provide_password(PASSWORD).unwrap();
            }
            events.push(ev_log);
        }
        let (consumed, had_event) = (got.consumed, got.event.is_some());
        buf.drain(..consumed);
        if !had_event && consumed == 0 {
            if fed == server.len() {
                assert!(buf.is_empty(), "{name}: leftover input");
                break;
            }
            let end = (fed + chunk).min(server.len());
            buf.extend_from_slice(&server[fed..end]);
            fed = end;
        }
    }
    assert_eq!(to_send.count(), 0, "{name}: recorded messages left unsent");
    assert_eq!(sent, client, "{name}: output differs from the recording");
    assert!(fe.is_closed(), "{name}: the recorded client terminates");
    events
}

fn continue_if_output(fe: &mut Frontend<Vec<u8>>, sent: &mut Vec<u8>) {
    sent.extend_from_slice(fe.pending_output());
    let n = fe.pending_output().len();
    fe.consume_output(n);
}

fn startup_prefix(events: &[Ev]) -> usize {
    let ready = events.iter().position(|e| matches!(e, Ev::Ready(None, _))).expect("startup ends with Ready");
    assert!(events[..ready].contains(&Ev::Password));
    assert!(events[..ready].contains(&Ev::Authenticated));
    assert!(events[..ready].contains(&Ev::Key));
    assert!(events[..ready].contains(&Ev::Param("server_version".into())));
    ready + 1
}

#[test]
fn simple_query_session() {
    let events = replay("simple_query", 4096);
    let body = &events[startup_prefix(&events)..];
    let row = |cells: &[Option<&str>]| cells.iter().map(|c| c.map(|s| s.as_bytes().to_vec())).collect::<Vec<_>>();
    // SELECT 1
    assert_eq!(
        &body[..4],
        &[
            Ev::Rows(0, 1),
            Ev::Row(0, row(&[Some("1")])),
            Ev::Complete(0, "SELECT 1".into()),
            Ev::Ready(Some(0), TransactionStatus::Idle)
        ]
    );
    // the three-row select
    assert_eq!(body[4], Ev::Rows(1, 5));
    assert_eq!(body[5], Ev::Row(1, row(&[Some("1"), Some("one"), Some("10000000000"), Some("t"), Some("1.5")])));
    assert_eq!(body[7], Ev::Row(1, row(&[Some("3"), Some("three"), None, None, None])));
    assert_eq!(body[8], Ev::Complete(1, "SELECT 3".into()));
    // SELECT 1/0 fails with 22012, then Ready.
    let err = body.iter().position(|e| matches!(e, Ev::Error(..))).unwrap();
    let Ev::Error(Some(q), code) = &body[err] else { panic!() };
    assert_eq!(code, "22012");
    assert_eq!(body[err + 1], Ev::Ready(Some(*q), TransactionStatus::Idle));
    assert_eq!(body[err + 2], Ev::Empty(q + 1));
    assert!(body.iter().any(|e| matches!(e, Ev::CopyOut(_))));
    assert!(body.iter().any(|e| matches!(e, Ev::CopyDone(_))));
    assert_eq!(body.iter().filter(|e| matches!(e, Ev::CopyData(..))).count(), 3);
    assert!(body.iter().any(|e| matches!(e, Ev::CopyIn(_))));
    assert!(
        body.contains(&Ev::Complete(q + 3, "COPY 2".into()))
            || body.iter().any(|e| matches!(e, Ev::Complete(_, t) if t == "COPY 2"))
    );
    assert!(body.contains(&Ev::Notification("x".into(), "hi".into())));
    let _ = SqlState::PROTOCOL_VIOLATION;
}

#[test]
fn extended_query_session() {
    let events = replay("extended_query", 4096);
    let body = &events[startup_prefix(&events)..];
    assert!(body.iter().any(|e| matches!(e, Ev::Suspended(_))));
    assert!(body.iter().any(|e| matches!(e, Ev::Skipped(_))));
    assert!(body.iter().any(|e| matches!(e, Ev::Params(..))));
    assert!(body.iter().any(|e| matches!(e, Ev::NoData(_))));
    assert!(body.iter().any(|e| matches!(e, Ev::Close(_))));
    assert!(body.iter().any(|e| matches!(e, Ev::Empty(_))));
    // Every error in the pipeline is followed by skips up to its Sync's Ready.
    let err = body.iter().position(|e| matches!(e, Ev::Error(Some(_), _))).unwrap();
    let Ev::Error(Some(id), _) = body[err] else { panic!() };
    let ready = body[err..].iter().position(|e| matches!(e, Ev::Ready(..))).unwrap() + err;
    for (k, e) in body[err + 1..ready].iter().enumerate() {
        assert_eq!(*e, Ev::Skipped(id + 1 + k as u64));
    }
}

#[test]
fn negotiate_session() {
    let events = replay("negotiate_3_2", 4096);
    assert_eq!(events[0], Ev::Negotiated(ProtocolVersion::V3_0));
    startup_prefix(&events);
}

#[test]
fn every_session_one_byte_at_a_time() {
    for name in ["simple_query", "extended_query", "negotiate_3_2"] {
        assert_eq!(replay(name, 1), replay(name, 4096), "{name}");
        assert_eq!(replay(name, 7), replay(name, 4096), "{name}");
    }
}
