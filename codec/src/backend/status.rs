//! ReadyForQuery ('Z') and the transaction status it carries.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// The backend's transaction status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block; queries are rejected until it ends.
    Failed,
}

impl TransactionStatus {
    /// The status for its wire byte; other bytes are [`DecodeError::InvalidValue`].
    pub const fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            b'I' => Ok(TransactionStatus::Idle),
            b'T' => Ok(TransactionStatus::InTransaction),
            b'E' => Ok(TransactionStatus::Failed),
            _ => Err(DecodeError::InvalidValue),
        }
    }

    /// The wire byte.
    pub const fn as_byte(self) -> u8 {
        match self {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InTransaction => b'T',
            TransactionStatus::Failed => b'E',
        }
    }
}

/// ReadyForQuery ('Z'): the backend is ready for a new query cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadyForQuery {
    /// The current transaction status.
    pub status: TransactionStatus,
}

impl ReadyForQuery {
    /// The type byte.
    pub const TAG: u8 = b'Z';

    /// Decodes a body.
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let status = TransactionStatus::from_byte(r.u8()?)?;
        r.finish()?;
        Ok(ReadyForQuery { status })
    }
}

impl Encode for ReadyForQuery {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_u8(self.status.as_byte());
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
    fn golden() {
        for (byte, status) in [
            (b'I', TransactionStatus::Idle),
            (b'T', TransactionStatus::InTransaction),
            (b'E', TransactionStatus::Failed),
        ] {
            let wire = [b'Z', 0, 0, 0, 5, byte];
            check_golden(&wire, &BackendMessage::ReadyForQuery(ReadyForQuery { status }), Tail::Strict);
        }
        assert_eq!(decode(b'Z', b"X"), Err(DecodeError::InvalidValue));
    }
}
