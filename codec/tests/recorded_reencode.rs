//! Every message recorded from a real PostgreSQL 15 session (server and
//! client side, `fixtures/`, see its README) decodes, and re-encodes with our
//! encoders into exactly the recorded bytes.

use postwire_codec::backend::BackendMessage;
use postwire_codec::frontend::{FrontendMessage, StartupPacket};
use postwire_codec::{Encode, FrameLimits, Framed};

const SESSIONS: [(&str, &[u8], &[u8]); 3] = [
    (
        "simple_query",
        include_bytes!("fixtures/simple_query.frontend.bin"),
        include_bytes!("fixtures/simple_query.backend.bin"),
    ),
    (
        "extended_query",
        include_bytes!("fixtures/extended_query.frontend.bin"),
        include_bytes!("fixtures/extended_query.backend.bin"),
    ),
    (
        "negotiate_3_2",
        include_bytes!("fixtures/negotiate_3_2.frontend.bin"),
        include_bytes!("fixtures/negotiate_3_2.backend.bin"),
    ),
];

/// Re-encodes `message` and checks it gives back `recorded`.
fn check(session: &str, index: usize, message: &impl Encode, recorded: &[u8]) {
    let mut out = vec![0; recorded.len()];
    let n = message.encode(&mut out).unwrap_or_else(|e| panic!("{session} #{index}: {e:?}"));
    assert_eq!(&out[..n], recorded, "{session}: message #{index} re-encodes differently");
}

#[test]
fn backend_messages_reencode_byte_for_byte() {
    let limits = FrameLimits::DEFAULT;
    for (session, _, mut rest) in SESSIONS {
        let mut count = 0;
        while !rest.is_empty() {
            let Framed::Complete { item, consumed } = BackendMessage::parse(rest, &limits).unwrap() else {
                panic!("{session}: a truncated recording")
            };
            check(session, count, &item, &rest[..consumed]);
            rest = &rest[consumed..];
            count += 1;
        }
        assert!(count > 5, "{session}: only {count} messages");
    }
}

#[test]
fn frontend_messages_reencode_byte_for_byte() {
    let limits = FrameLimits::DEFAULT;
    for (session, mut rest, _) in SESSIONS {
        // The startup packets (an SSLRequest may come first), then tagged messages.
        let mut count = 0;
        loop {
            let Framed::Complete { item, consumed } = StartupPacket::parse(rest, &limits).unwrap() else {
                panic!("{session}: a truncated startup packet")
            };
            check(session, count, &item, &rest[..consumed]);
            rest = &rest[consumed..];
            count += 1;
            if let StartupPacket::Startup(_) = item {
                break;
            }
        }
        while !rest.is_empty() {
            let Framed::Complete { item, consumed } = FrontendMessage::parse(rest, &limits).unwrap() else {
                panic!("{session}: a truncated recording")
            };
            check(session, count, &item, &rest[..consumed]);
            rest = &rest[consumed..];
            count += 1;
        }
        assert!(count > 2, "{session}: only {count} messages");
    }
}
