//! Checks shared by the message tests.

use core::fmt::Debug;

use crate::{error::DecodeError, write::Encode};

/// Encodes `msg`, compares with the whole `frame`, and decodes the frame's body
/// (after the 5-byte header) back to `msg`.
pub(super) fn check_golden<'a, T>(msg: &T, frame: &'a [u8], decode: impl Fn(&'a [u8]) -> Result<T, DecodeError>)
where
    T: Encode + PartialEq + Debug,
{
    let mut buf = [0u8; 256];
    let n = msg.encode(&mut buf).expect("encodes");
    assert_eq!(&buf[..n], frame, "encoding of {msg:?}");
    assert_eq!(msg.encoded_len(), Ok(frame.len()));
    assert_eq!(msg.tag(), frame.first().copied());
    assert_eq!(decode(&frame[5..]).as_ref(), Ok(msg));
}

/// Every strict prefix of `body` must fail to decode (and not panic).
pub(super) fn check_truncations<'a, T: Debug>(body: &'a [u8], decode: impl Fn(&'a [u8]) -> Result<T, DecodeError>) {
    for end in 0..body.len() {
        assert!(decode(&body[..end]).is_err(), "prefix of {end} bytes decoded");
    }
}
