//! Backend (server → client) messages. PLACEHOLDER: being written.
use crate::{error::DecodeError, frame::RawMessage};

/// Any backend message.
#[derive(Debug)]
pub enum BackendMessage {
    /// Z
    ReadyForQuery(u8),
}
impl BackendMessage {
    /// Decodes.
    pub fn decode(raw: RawMessage<'_>) -> Result<Self, DecodeError> {
        match raw.tag {
            b'Z' => Ok(BackendMessage::ReadyForQuery(raw.body[0])),
            tag => Err(DecodeError::UnknownMessageType { tag }),
        }
    }
}
