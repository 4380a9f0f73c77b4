//! Property tests for frontend messages: any message encodes, frames and
//! decodes back to itself; any bytes decode without panicking.

use postwire_codec::frame::{FrameLimits, Framed, RawMessage, RawStartup};
use postwire_codec::frontend::*;
use postwire_codec::{DecodeError, Encode, Format, Oid};
use proptest::prelude::*;

/// Owned data to borrow a message from.
#[derive(Debug, Clone)]
enum Owned {
    Bind { portal: String, statement: String, pfmt: Vec<Format>, params: Vec<Option<Vec<u8>>>, rfmt: Vec<Format> },
    Close(TargetKind, String),
    Describe(TargetKind, String),
    CopyData(Vec<u8>),
    CopyDone,
    CopyFail(String),
    Execute(String, i32),
    Flush,
    FunctionCall { function: Oid, afmt: Vec<Format>, args: Vec<Option<Vec<u8>>>, result: Format },
    Parse(String, String, Vec<Oid>),
    Query(String),
    Sync,
    Terminate,
    AuthRaw(Vec<u8>),
}

fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,12}"
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Text), Just(Format::Binary)]
}

fn kind() -> impl Strategy<Value = TargetKind> {
    prop_oneof![Just(TargetKind::Statement), Just(TargetKind::Portal)]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..24)
}

/// Values plus format codes following the 0/1/N rule.
fn values_and_formats() -> impl Strategy<Value = (Vec<Option<Vec<u8>>>, Vec<Format>)> {
    prop::collection::vec(prop::option::of(bytes()), 0..8).prop_flat_map(|values| {
        let n = values.len();
        let counts = prop_oneof![Just(0usize), Just(1usize), Just(n)];
        (Just(values), counts.prop_flat_map(|c| prop::collection::vec(format(), c)))
    })
}

fn owned() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (text(), text(), values_and_formats(), prop::collection::vec(format(), 0..6)).prop_map(
            |(portal, statement, (params, pfmt), rfmt)| Owned::Bind { portal, statement, pfmt, params, rfmt }
        ),
        (kind(), text()).prop_map(|(k, n)| Owned::Close(k, n)),
        (kind(), text()).prop_map(|(k, n)| Owned::Describe(k, n)),
        bytes().prop_map(Owned::CopyData),
        Just(Owned::CopyDone),
        text().prop_map(Owned::CopyFail),
        (text(), any::<i32>()).prop_map(|(p, n)| Owned::Execute(p, n)),
        Just(Owned::Flush),
        (any::<Oid>(), values_and_formats(), format())
            .prop_map(|(function, (args, afmt), result)| { Owned::FunctionCall { function, afmt, args, result } }),
        (text(), text(), prop::collection::vec(any::<Oid>(), 0..6)).prop_map(|(s, q, t)| Owned::Parse(s, q, t)),
        text().prop_map(Owned::Query),
        Just(Owned::Sync),
        Just(Owned::Terminate),
        bytes().prop_map(Owned::AuthRaw),
    ]
}

fn borrow_values(values: &[Option<Vec<u8>>]) -> Vec<Option<&[u8]>> {
    values.iter().map(|v| v.as_deref()).collect()
}

/// Encodes, checks the size, frames and decodes; returns the decoded message's
/// equality with the original.
fn check_roundtrip(msg: &FrontendMessage<'_>) {
    let len = msg.encoded_len().expect("valid message encodes");
    let mut buf = vec![0u8; len];
    assert_eq!(msg.encode(&mut buf), Ok(len));
    assert_eq!(msg.encode(&mut buf[..len - 1]), Err(postwire_codec::EncodeError::BufferTooSmall { required: len }));
    for end in 0..len {
        assert!(matches!(FrontendMessage::parse(&buf[..end], &FrameLimits::DEFAULT), Ok(Framed::Incomplete { .. })));
    }
    match FrontendMessage::parse(&buf, &FrameLimits::DEFAULT) {
        Ok(Framed::Complete { item, consumed }) => {
            assert_eq!(consumed, len);
            assert_eq!(&item, msg);
        }
        other => panic!("{other:?}"),
    }
}

fn with_message(o: &Owned, f: impl FnOnce(&FrontendMessage<'_>)) {
    match o {
        Owned::Bind { portal, statement, pfmt, params, rfmt } => {
            let values = borrow_values(params);
            f(&FrontendMessage::Bind(Bind {
                portal,
                statement,
                param_formats: FormatCodes::from_slice(pfmt),
                params: Values::from_slice(&values),
                result_formats: FormatCodes::from_slice(rfmt),
            }))
        }
        Owned::Close(kind, name) => f(&Close { kind: *kind, name }.into()),
        Owned::Describe(kind, name) => f(&Describe { kind: *kind, name }.into()),
        Owned::CopyData(data) => f(&CopyData { data }.into()),
        Owned::CopyDone => f(&CopyDone.into()),
        Owned::CopyFail(message) => f(&CopyFail { message }.into()),
        Owned::Execute(portal, max_rows) => f(&Execute { portal, max_rows: *max_rows }.into()),
        Owned::Flush => f(&Flush.into()),
        Owned::FunctionCall { function, afmt, args, result } => {
            let values = borrow_values(args);
            f(&FunctionCall {
                function: *function,
                arg_formats: FormatCodes::from_slice(afmt),
                args: Values::from_slice(&values),
                result_format: *result,
            }
            .into())
        }
        Owned::Parse(statement, query, types) => {
            f(&Parse { statement, query, param_types: Oids::from_slice(types) }.into())
        }
        Owned::Query(sql) => f(&Query { sql }.into()),
        Owned::Sync => f(&Sync.into()),
        Owned::Terminate => f(&Terminate.into()),
        Owned::AuthRaw(body) => f(&AuthResponse { body }.into()),
    }
}

/// Encodes a `p` message, decodes it as the generic AuthResponse and returns its body.
fn auth_body<'b>(msg: &impl Encode, buf: &'b mut Vec<u8>) -> &'b [u8] {
    buf.resize(msg.encoded_len().unwrap(), 0);
    msg.encode(buf).unwrap();
    match FrontendMessage::parse(buf, &FrameLimits::DEFAULT) {
        Ok(Framed::Complete { item: FrontendMessage::AuthResponse(a), .. }) => a.body,
        other => panic!("{other:?}"),
    }
}

#[derive(Debug, Clone)]
enum OwnedStartup {
    Startup(u16, Vec<(String, String)>),
    Ssl,
    GssEnc,
    Cancel(i32, Vec<u8>),
}

fn owned_startup() -> impl Strategy<Value = OwnedStartup> {
    prop_oneof![
        (any::<u16>(), prop::collection::vec(("[^\u{0}]{1,10}", text()), 0..6))
            .prop_map(|(minor, pairs)| OwnedStartup::Startup(minor, pairs)),
        Just(OwnedStartup::Ssl),
        Just(OwnedStartup::GssEnc),
        (any::<i32>(), prop::collection::vec(any::<u8>(), 1..=256)).prop_map(|(p, k)| OwnedStartup::Cancel(p, k)),
    ]
}

proptest! {
    #[test]
    fn tagged_roundtrip(o in owned()) {
        with_message(&o, check_roundtrip);
    }

    #[test]
    fn auth_responses_roundtrip(password in "[^\u{0}]{0,16}", mechanism in text(), data in prop::option::of(bytes()), token in bytes()) {
        let mut buf = Vec::new();
        let p = PasswordMessage { password: password.as_bytes() };
        prop_assert_eq!(AuthResponse { body: auth_body(&p, &mut buf) }.as_password(), Ok(p));
        let s = SaslInitialResponse { mechanism: &mechanism, data: data.as_deref() };
        prop_assert_eq!(AuthResponse { body: auth_body(&s, &mut buf) }.as_sasl_initial_response(), Ok(s));
        let r = SaslResponse { data: &token };
        prop_assert_eq!(AuthResponse { body: auth_body(&r, &mut buf) }.as_sasl_response(), Ok(r));
        let g = GssResponse { data: &token };
        prop_assert_eq!(AuthResponse { body: auth_body(&g, &mut buf) }.as_gss_response(), Ok(g));
    }

    #[test]
    fn startup_roundtrip(o in owned_startup()) {
        let pairs: Vec<(&str, &str)> = match &o {
            OwnedStartup::Startup(_, p) => p.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
            _ => Vec::new(),
        };
        let packet = match &o {
            OwnedStartup::Startup(minor, _) => StartupPacket::Startup(StartupMessage {
                version: ProtocolVersion { major: 3, minor: *minor },
                params: StartupParams::from_slice(&pairs),
            }),
            OwnedStartup::Ssl => StartupPacket::SslRequest(SslRequest),
            OwnedStartup::GssEnc => StartupPacket::GssEncRequest(GssEncRequest),
            OwnedStartup::Cancel(pid, key) => StartupPacket::CancelRequest(CancelRequest { process_id: *pid, secret_key: key }),
        };
        let len = packet.encoded_len().unwrap();
        let mut buf = vec![0u8; len];
        prop_assert_eq!(packet.encode(&mut buf), Ok(len));
        prop_assert_eq!(ConnectionStart::classify(&buf), Some(ConnectionStart::StartupPacket));
        for end in 0..len {
            let partial = StartupPacket::parse(&buf[..end], &FrameLimits::DEFAULT);
            prop_assert!(matches!(partial, Ok(Framed::Incomplete { .. })), "prefix {}: {:?}", end, partial);
        }
        prop_assert_eq!(
            StartupPacket::parse(&buf, &FrameLimits::DEFAULT),
            Ok(Framed::Complete { item: packet, consumed: len })
        );
    }

    /// Arbitrary bodies never panic, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn arbitrary_tagged_bytes(tag in prop::sample::select(&b"BCdcfDEHFPQSXpZ"[..]), body in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(msg) = FrontendMessage::decode(RawMessage { tag, body: &body }) {
            let mut buf = vec![0u8; msg.encoded_len().unwrap()];
            msg.encode(&mut buf).unwrap();
            prop_assert_eq!(buf.get(5..), Some(&body[..]));
            // Iterating the lists of a decoded message walks every item.
            if let FrontendMessage::Bind(b) = msg {
                prop_assert_eq!(b.params.iter().count(), b.params.len());
                prop_assert!((0..b.params.len()).all(|i| b.param_format(i).is_some()));
            }
        }
    }

    #[test]
    fn arbitrary_startup_bytes(code in prop_oneof![Just(196_608u32), Just(80_877_102u32), any::<u32>()], body in prop::collection::vec(any::<u8>(), 0..64)) {
        match StartupPacket::decode(RawStartup { code, body: &body }) {
            Ok(p) => {
                let mut buf = vec![0u8; p.encoded_len().unwrap()];
                p.encode(&mut buf).unwrap();
                prop_assert_eq!(buf.get(8..), Some(&body[..]));
            }
            Err(DecodeError::UnsupportedProtocol { major, .. }) => prop_assert!(major != 3),
            Err(_) => {}
        }
    }
}
