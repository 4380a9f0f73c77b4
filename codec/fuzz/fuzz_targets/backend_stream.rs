//! Arbitrary bytes as a server's stream: framing and decoding never panic, and
//! every message that decodes encodes back to exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postwire_codec::{Encode, FrameLimits, Framed, backend::BackendMessage};

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits::DEFAULT.with_max_message_len(1 << 16);
    let mut rest = data;
    let mut out = vec![0u8; data.len()];
    while let Ok(Framed::Complete { item, consumed }) = BackendMessage::parse(rest, &limits) {
        let n = item.encode(&mut out).expect("a decoded message re-encodes");
        assert_eq!(&out[..n], &rest[..consumed], "{item:?}");
        rest = &rest[consumed..];
    }
});
