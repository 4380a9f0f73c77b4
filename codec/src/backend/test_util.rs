//! Shared checks for golden-byte tests.

use super::BackendMessage;
use crate::{
    error::{DecodeError, EncodeError},
    frame::{FrameLimits, Framed, RawMessage},
    write::Encode,
};

/// Whether a message's last field runs to the end of the body (so a shorter
/// body is still a valid, different message) or every field is delimited.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Every truncation and any trailing byte is an error.
    Strict,
    /// The last field takes the rest of the body.
    Rest,
}

/// Checks a whole framed message against its decoded form both ways, then
/// truncations, trailing bytes and a too-small output buffer.
pub(crate) fn check_golden(wire: &[u8], expected: &BackendMessage<'_>, tail: Tail) {
    let limits = FrameLimits::DEFAULT;
    let got = BackendMessage::parse(wire, &limits).expect("golden bytes decode");
    assert_eq!(got, Framed::Complete { item: *expected, consumed: wire.len() });

    assert_eq!(expected.encoded_len(), Ok(wire.len()));
    let mut out = [0xAAu8; 1024];
    let n = expected.encode(&mut out).expect("encodes");
    assert_eq!(&out[..n], wire, "encoding differs from golden bytes");

    let mut small = [0x55u8; 1024];
    let short = &mut small[..wire.len() - 1];
    assert_eq!(expected.encode(short), Err(EncodeError::BufferTooSmall { required: wire.len() }));
    assert!(small.iter().all(|&b| b == 0x55), "buffer touched by a failed encode");

    for cut in 0..wire.len() {
        assert!(
            matches!(BackendMessage::parse(&wire[..cut], &limits), Ok(Framed::Incomplete { .. })),
            "frame prefix {cut} not incomplete"
        );
    }

    let (tag, body) = (wire[0], &wire[5..]);
    for cut in 0..body.len() {
        let r = BackendMessage::decode_validated(RawMessage { tag, body: &body[..cut] });
        if tail == Tail::Strict {
            assert!(r.is_err(), "body truncated at {cut} decoded as {r:?}");
        }
    }
    if tail == Tail::Strict {
        let mut longer = [0u8; 1024];
        longer[..body.len()].copy_from_slice(body);
        let r = BackendMessage::decode_validated(RawMessage { tag, body: &longer[..=body.len()] });
        assert_eq!(r, Err(DecodeError::TrailingBytes));
    }
}

/// Decodes one body with the given tag.
pub(crate) fn decode(tag: u8, body: &[u8]) -> Result<BackendMessage<'_>, DecodeError> {
    BackendMessage::decode(RawMessage { tag, body })
}
