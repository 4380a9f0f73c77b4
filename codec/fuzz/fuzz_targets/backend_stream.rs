//! Arbitrary bytes as a server's stream: framing, decoding and iterating never
//! panic, and every message that decodes and validates (DataRow cells and
//! RowDescription fields are checked lazily) encodes back to exactly the bytes
//! it came from; one that fails to validate refuses to encode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postwire_codec::{Encode, EncodeError, FrameLimits, Framed, backend::BackendMessage};

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits::DEFAULT.with_max_message_len(1 << 16);
    let mut rest = data;
    let mut out = vec![0u8; data.len()];
    while let Ok(Framed::Complete { item, consumed }) = BackendMessage::parse(rest, &limits) {
        if let Err(e) = item.validate() {
            // The lazy iterators report the same error where they meet it.
            let found = match item {
                BackendMessage::DataRow(row) => row.cells().find_map(Result::err),
                BackendMessage::RowDescription(d) => d.fields.iter().find_map(Result::err),
                _ => None,
            };
            assert_eq!(found, Some(e), "{item:?}");
            assert_eq!(item.encode(&mut out), Err(EncodeError::InvalidValue), "{item:?}");
            rest = &rest[consumed..];
            continue;
        }
        let n = item.encode(&mut out).expect("a decoded message re-encodes");
        assert_eq!(&out[..n], &rest[..consumed], "{item:?}");
        rest = &rest[consumed..];
    }
});
