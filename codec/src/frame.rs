//! Framing: splitting a byte stream into whole messages before decoding them.
//!
//! Lengths are checked from the header alone, so an oversized or negative length
//! is rejected before the caller buffers a byte of its body.

use crate::error::DecodeError;

/// Length limits applied while framing. `const fn` so it can live in a `static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameLimits {
    /// Largest startup-phase packet, length field included (PostgreSQL: 10,000).
    pub max_startup_len: usize,
    /// Largest tagged message, length field included, type byte excluded
    /// (PostgreSQL: 1 GiB).
    pub max_message_len: usize,
}

impl FrameLimits {
    /// PostgreSQL's own limits: 10,000-byte startup packets, 1 GiB messages.
    pub const DEFAULT: FrameLimits = FrameLimits { max_startup_len: 10_000, max_message_len: 1 << 30 };

    /// Sets the largest tagged message (length field included).
    pub const fn with_max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Sets the largest startup packet (length field included).
    pub const fn with_max_startup_len(mut self, len: usize) -> Self {
        self.max_startup_len = len;
        self
    }
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The outcome of framing: a whole item, or how many more bytes are needed at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Framed<T> {
    /// A whole item; drop `consumed` bytes from the front of the input after use.
    Complete {
        /// The item, borrowing from the input.
        item: T,
        /// How many input bytes it took.
        consumed: usize,
    },
    /// The input ends before the item does; read at least `needed` more bytes.
    Incomplete {
        /// The minimum number of further bytes before calling again makes progress.
        needed: usize,
    },
}

impl<T> Framed<T> {
    /// Transforms the item of a complete frame.
    #[inline]
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Framed<U> {
        match self {
            Framed::Complete { item, consumed } => Framed::Complete { item: f(item), consumed },
            Framed::Incomplete { needed } => Framed::Incomplete { needed },
        }
    }

    /// Transforms the item of a complete frame with a fallible function.
    #[inline]
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Framed<U>, E> {
        Ok(match self {
            Framed::Complete { item, consumed } => Framed::Complete { item: f(item)?, consumed },
            Framed::Incomplete { needed } => Framed::Incomplete { needed },
        })
    }
}

/// One tagged message, not decoded yet: its type byte and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RawMessage<'a> {
    /// The message type byte.
    pub tag: u8,
    /// Everything after the length field.
    pub body: &'a [u8],
}

/// One untagged startup-phase packet, not decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RawStartup<'a> {
    /// The 32-bit code after the length: a protocol version, or one of the
    /// request codes (SSL, GSSENC, cancel).
    pub code: u32,
    /// Everything after the code.
    pub body: &'a [u8],
}

/// The type byte of a TLS handshake record: a client that opens with it is
/// doing PostgreSQL 17's direct TLS (`sslnegotiation=direct`).
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Whether a connection's first byte starts a TLS ClientHello rather than a
/// startup packet. A startup packet's first byte is the top of a length that is
/// at most a few KiB, so it is always 0 for any accepted packet.
///
/// ```
/// assert!(postwire_codec::frame::is_direct_tls(&[0x16, 0x03, 0x01]));
/// assert!(!postwire_codec::frame::is_direct_tls(&[0, 0, 0, 8]));
/// ```
#[inline]
pub const fn is_direct_tls(first_bytes: &[u8]) -> bool {
    matches!(first_bytes.first(), Some(&TLS_HANDSHAKE_RECORD))
}

/// A tagged message's header: the type byte and the `i32` length.
pub(crate) const MESSAGE_HEADER_LEN: usize = 5;

/// Frames one tagged message (`type byte, i32 length, body`) from the front of `buf`.
///
/// ```
/// use postwire_codec::frame::{frame_message, FrameLimits, Framed, RawMessage};
/// let bytes = b"Z\0\0\0\x05I";
/// assert_eq!(
///     frame_message(&bytes[..3], &FrameLimits::DEFAULT),
///     Ok(Framed::Incomplete { needed: 2 })
/// );
/// let Ok(Framed::Complete { item, consumed }) = frame_message(bytes, &FrameLimits::DEFAULT) else {
///     panic!()
/// };
/// assert_eq!((item, consumed), (RawMessage { tag: b'Z', body: b"I" }, 6));
/// ```
#[inline]
pub fn frame_message<'a>(buf: &'a [u8], limits: &FrameLimits) -> Result<Framed<RawMessage<'a>>, DecodeError> {
    let Some((&tag, rest)) = buf.split_first() else {
        return Ok(Framed::Incomplete { needed: MESSAGE_HEADER_LEN });
    };
    let Some((len, _)) = rest.split_first_chunk::<4>() else {
        return Ok(Framed::Incomplete { needed: MESSAGE_HEADER_LEN - buf.len() });
    };
    let length = i32::from_be_bytes(*len);
    if length < 4 {
        return Err(DecodeError::LengthTooSmall { length });
    }
    let length = length as usize;
    if length > limits.max_message_len {
        return Err(DecodeError::MessageTooLarge { length, limit: limits.max_message_len });
    }
    let total = length + 1;
    match buf.get(MESSAGE_HEADER_LEN..total) {
        Some(body) => Ok(Framed::Complete { item: RawMessage { tag, body }, consumed: total }),
        None => Ok(Framed::Incomplete { needed: total - buf.len() }),
    }
}

/// Frames one startup-phase packet (`i32 length, u32 code, body`) from the front of `buf`.
///
/// Call [`is_direct_tls`] on the connection's first byte before this: a TLS
/// ClientHello is not a startup packet.
#[inline]
pub fn frame_startup<'a>(buf: &'a [u8], limits: &FrameLimits) -> Result<Framed<RawStartup<'a>>, DecodeError> {
    let Some((len, _)) = buf.split_first_chunk::<4>() else {
        return Ok(Framed::Incomplete { needed: 4 - buf.len() });
    };
    let length = i32::from_be_bytes(*len);
    if length < 8 {
        return Err(DecodeError::LengthTooSmall { length });
    }
    let length = length as usize;
    if length > limits.max_startup_len {
        return Err(DecodeError::MessageTooLarge { length, limit: limits.max_startup_len });
    }
    let Some(packet) = buf.get(..length) else {
        return Ok(Framed::Incomplete { needed: length - buf.len() });
    };
    let (code, body) = packet[4..].split_first_chunk::<4>().ok_or(DecodeError::UnexpectedEnd)?;
    Ok(Framed::Complete { item: RawStartup { code: u32::from_be_bytes(*code), body }, consumed: length })
}

/// Splits whole frames off a `BytesMut` without copying: the returned `Bytes`
/// shares the buffer's allocation.
#[cfg(feature = "bytes")]
pub mod bytes_frames {
    use super::{FrameLimits, Framed, frame_message, frame_startup};
    use crate::error::DecodeError;
    use bytes::{Buf, Bytes, BytesMut};

    /// A tagged message split off the input: its type byte and an owned, cheaply
    /// cloned body.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct OwnedMessage {
        /// The message type byte.
        pub tag: u8,
        /// Everything after the length field.
        pub body: Bytes,
    }

    /// Takes one tagged message off the front of `buf`, or `None` if it is not all there.
    pub fn split_message(buf: &mut BytesMut, limits: &FrameLimits) -> Result<Option<OwnedMessage>, DecodeError> {
        let (tag, consumed) = match frame_message(buf, limits)? {
            Framed::Complete { item, consumed } => (item.tag, consumed),
            Framed::Incomplete { .. } => return Ok(None),
        };
        let mut frame = buf.split_to(consumed);
        frame.advance(5);
        Ok(Some(OwnedMessage { tag, body: frame.freeze() }))
    }

    /// Takes one startup packet off the front of `buf` as `(code, body)`, or `None`.
    pub fn split_startup(buf: &mut BytesMut, limits: &FrameLimits) -> Result<Option<(u32, Bytes)>, DecodeError> {
        let (code, consumed) = match frame_startup(buf, limits)? {
            Framed::Complete { item, consumed } => (item.code, consumed),
            Framed::Incomplete { .. } => return Ok(None),
        };
        let mut frame = buf.split_to(consumed);
        frame.advance(8);
        Ok(Some((code, frame.freeze())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: FrameLimits = FrameLimits::DEFAULT;

    #[test]
    fn tagged_needs_header_then_body() {
        assert_eq!(frame_message(b"", &L), Ok(Framed::Incomplete { needed: 5 }));
        assert_eq!(frame_message(b"Q\0\0", &L), Ok(Framed::Incomplete { needed: 2 }));
        assert_eq!(frame_message(b"Q\0\0\0\x09ab", &L), Ok(Framed::Incomplete { needed: 3 }));
        let got = frame_message(b"Q\0\0\0\x04extra", &L).unwrap();
        assert_eq!(got, Framed::Complete { item: RawMessage { tag: b'Q', body: b"" }, consumed: 5 });
    }

    #[test]
    fn tagged_length_checked_before_body() {
        assert_eq!(frame_message(b"Q\0\0\0\x03", &L), Err(DecodeError::LengthTooSmall { length: 3 }));
        assert_eq!(frame_message(b"Q\xff\xff\xff\xff", &L), Err(DecodeError::LengthTooSmall { length: -1 }));
        let small = L.with_max_message_len(100);
        assert_eq!(
            frame_message(b"Q\0\0\0\x65", &small),
            Err(DecodeError::MessageTooLarge { length: 101, limit: 100 })
        );
        assert_eq!(frame_message(b"Q\x7f\xff\xff\xff", &L).unwrap_err().sqlstate().code(), "08P01");
    }

    #[test]
    fn startup_framing() {
        assert_eq!(frame_startup(b"\0\0", &L), Ok(Framed::Incomplete { needed: 2 }));
        assert_eq!(frame_startup(b"\0\0\0\x07", &L), Err(DecodeError::LengthTooSmall { length: 7 }));
        assert_eq!(
            frame_startup(b"\0\0\x27\x11", &L),
            Err(DecodeError::MessageTooLarge { length: 10_001, limit: 10_000 })
        );
        let ssl = b"\0\0\0\x08\x04\xd2\x16\x2f";
        assert_eq!(
            frame_startup(ssl, &L),
            Ok(Framed::Complete { item: RawStartup { code: 80_877_103, body: b"" }, consumed: 8 })
        );
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn bytes_split_shares_the_buffer() {
        let mut buf = bytes::BytesMut::from(&b"Z\0\0\0\x05IQ\0"[..]);
        let m = bytes_frames::split_message(&mut buf, &L).unwrap().unwrap();
        assert_eq!((m.tag, &m.body[..]), (b'Z', &b"I"[..]));
        assert_eq!(&buf[..], b"Q\0");
        assert_eq!(bytes_frames::split_message(&mut buf, &L), Ok(None));
    }
}
