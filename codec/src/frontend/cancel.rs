//! CancelRequest: sent on a new connection to cancel a running query.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// CancelRequest: asks the server to cancel the query of the backend that
/// handed out this key in BackendKeyData. Untagged; the connection closes after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CancelRequest<'a> {
    /// The target backend's process ID.
    pub process_id: i32,
    /// The secret key: 4 bytes in protocol 3.0, 1 to 256 bytes in 3.2. Decoding
    /// accepts 1 to 256 bytes whatever the version; the registry of keys
    /// decides whether it matches.
    pub secret_key: &'a [u8],
}

impl<'a> CancelRequest<'a> {
    /// The request code in place of a protocol version (1234.5678).
    pub const CODE: u32 = 80_877_102;
    /// The longest secret key protocol 3.2 allows.
    pub const MAX_KEY_LEN: usize = 256;

    /// Decodes the body after the request code. A key that is empty or longer
    /// than [`Self::MAX_KEY_LEN`] is [`DecodeError::InvalidValue`].
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let process_id = r.i32()?;
        let secret_key = r.rest();
        if !valid_key_len(secret_key.len()) {
            return Err(DecodeError::InvalidValue);
        }
        Ok(CancelRequest { process_id, secret_key })
    }
}

#[inline]
const fn valid_key_len(n: usize) -> bool {
    n >= 1 && n <= CancelRequest::MAX_KEY_LEN
}

impl Encode for CancelRequest<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        None
    }
    /// Fails with `InvalidValue` for an empty key or one over 256 bytes.
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        if !valid_key_len(self.secret_key.len()) {
            return Err(EncodeError::InvalidValue);
        }
        sink.put_u32(Self::CODE);
        sink.put_i32(self.process_id);
        sink.put_slice(self.secret_key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_3_0_key() {
        let c = CancelRequest { process_id: 12345, secret_key: b"\xde\xad\xbe\xef" };
        let frame = b"\0\0\0\x10\x04\xd2\x16\x2e\0\0\x30\x39\xde\xad\xbe\xef";
        let mut buf = [0u8; 16];
        assert_eq!(c.encode(&mut buf), Ok(16));
        assert_eq!(&buf, frame);
        assert_eq!(CancelRequest::decode_body(&frame[8..]), Ok(c));
        // No process ID or no key: an error. A shorter key is a valid 3.2 key.
        for end in 0..5 {
            assert!(CancelRequest::decode_body(&frame[8..][..end]).is_err());
        }
        assert_eq!(CancelRequest::decode_body(&frame[8..15]).map(|c| c.secret_key), Ok(&b"\xde\xad\xbe"[..]));
    }

    #[test]
    fn key_lengths_3_2() {
        let long = [7u8; 256];
        let c = CancelRequest { process_id: -1, secret_key: &long };
        assert_eq!(c.encoded_len(), Ok(8 + 4 + 256));
        let too_long = [7u8; 257];
        assert_eq!(CancelRequest { secret_key: &too_long, ..c }.encoded_len(), Err(EncodeError::InvalidValue));
        assert_eq!(CancelRequest { secret_key: b"", ..c }.encoded_len(), Err(EncodeError::InvalidValue));
        let mut body = [0u8; 4 + 257];
        assert_eq!(CancelRequest::decode_body(&body), Err(DecodeError::InvalidValue));
        assert_eq!(CancelRequest::decode_body(&body[..260]).map(|c| c.secret_key.len()), Ok(256));
        body[3] = 1;
        assert_eq!(CancelRequest::decode_body(&body[..5]).map(|c| c.process_id), Ok(1));
    }
}
