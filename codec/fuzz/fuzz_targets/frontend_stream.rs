//! Arbitrary bytes as a client's stream (startup phase, then tagged messages):
//! never a panic, and whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postwire_codec::{
    Encode, FrameLimits, Framed,
    frame::is_direct_tls,
    frontend::{FrontendMessage, StartupPacket},
};

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits::DEFAULT.with_max_message_len(1 << 16);
    if is_direct_tls(data) {
        return;
    }
    let mut out = vec![0u8; data.len()];
    let mut rest = data;
    loop {
        let Ok(Framed::Complete { item, consumed }) = StartupPacket::parse(rest, &limits) else { return };
        let n = item.encode(&mut out).expect("a decoded startup packet re-encodes");
        assert_eq!(&out[..n], &rest[..consumed], "{item:?}");
        rest = &rest[consumed..];
        if matches!(item, StartupPacket::Startup(_)) {
            break;
        }
    }
    while let Ok(Framed::Complete { item, consumed }) = FrontendMessage::parse(rest, &limits) {
        let n = item.encode(&mut out).expect("a decoded message re-encodes");
        assert_eq!(&out[..n], &rest[..consumed], "{item:?}");
        if let FrontendMessage::AuthResponse(auth) = item {
            // Each reading of the ambiguous 'p' body is checked on its own.
            let _ = (auth.as_password(), auth.as_sasl_response(), auth.as_gss_response());
            if let Ok(initial) = auth.as_sasl_initial_response() {
                let _ = initial.encode(&mut out);
            }
        }
        rest = &rest[consumed..];
    }
});
