//! BackendKeyData ('K'): the key a client needs to cancel queries.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// The longest secret key protocol 3.2 allows.
pub const MAX_SECRET_KEY_LEN: usize = 256;

/// BackendKeyData ('K'): process id and secret key for CancelRequest.
///
/// Protocol 3.0 keys are 4 bytes; 3.2 keys have 1 to [`MAX_SECRET_KEY_LEN`]
/// bytes (PostgreSQL 18 sends 32). An empty or longer key is rejected both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BackendKeyData<'a> {
    /// The backend's process id.
    pub process_id: i32,
    /// The secret key, to be echoed verbatim in CancelRequest.
    pub secret_key: &'a [u8],
}

impl<'a> BackendKeyData<'a> {
    /// The type byte.
    pub const TAG: u8 = b'K';

    /// Decodes a body; the key is everything after the process id.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let process_id = r.i32()?;
        let secret_key = r.rest();
        if !valid_key_len(secret_key.len()) {
            return Err(DecodeError::InvalidValue);
        }
        Ok(BackendKeyData { process_id, secret_key })
    }

    /// The key as protocol 3.0's `i32`, when it is exactly 4 bytes.
    pub fn legacy_key(&self) -> Option<i32> {
        let key: [u8; 4] = self.secret_key.try_into().ok()?;
        Some(i32::from_be_bytes(key))
    }
}

const fn valid_key_len(n: usize) -> bool {
    n >= 1 && n <= MAX_SECRET_KEY_LEN
}

impl Encode for BackendKeyData<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }

    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        if !valid_key_len(self.secret_key.len()) {
            return Err(EncodeError::InvalidValue);
        }
        sink.put_i32(self.process_id);
        sink.put_slice(self.secret_key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    #[test]
    fn golden_3_0_and_3_2_keys() {
        let v30 = BackendKeyData { process_id: 4242, secret_key: &[0xde, 0xad, 0xbe, 0xef] };
        check_golden(b"K\0\0\0\x0c\0\0\x10\x92\xde\xad\xbe\xef", &BackendMessage::BackendKeyData(v30), Tail::Rest);
        assert_eq!(v30.legacy_key(), Some(0xdead_beef_u32 as i32));

        let key = [7u8; 32];
        let mut wire = [0u8; 41];
        wire[..9].copy_from_slice(b"K\0\0\0\x28\0\0\0\x01");
        wire[9..].copy_from_slice(&key);
        let v32 = BackendKeyData { process_id: 1, secret_key: &key };
        check_golden(&wire, &BackendMessage::BackendKeyData(v32), Tail::Rest);
        assert_eq!(v32.legacy_key(), None);
    }

    #[test]
    fn key_length_limits() {
        assert_eq!(decode(b'K', b"\0\0\0\x01"), Err(DecodeError::InvalidValue));
        assert_eq!(decode(b'K', b"\0\0\0"), Err(DecodeError::UnexpectedEnd));
        let long = [1u8; 261];
        assert_eq!(decode(b'K', &long), Err(DecodeError::InvalidValue));
        assert!(decode(b'K', &long[..260]).is_ok());
        let too_long = BackendKeyData { process_id: 1, secret_key: &long[..257] };
        assert_eq!(too_long.encoded_len(), Err(EncodeError::InvalidValue));
        let empty = BackendKeyData { process_id: 1, secret_key: &[] };
        assert_eq!(empty.encode(&mut [0; 64]), Err(EncodeError::InvalidValue));
    }
}
