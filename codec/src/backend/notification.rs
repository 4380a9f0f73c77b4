//! NotificationResponse ('A').

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// NotificationResponse ('A'): a NOTIFY on a channel this session listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotificationResponse<'a> {
    /// The notifying backend's process id.
    pub process_id: i32,
    /// The channel name.
    pub channel: &'a str,
    /// The payload (empty if none was given).
    pub payload: &'a str,
}

impl<'a> NotificationResponse<'a> {
    /// The type byte.
    pub const TAG: u8 = b'A';

    /// Decodes a body.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let process_id = r.i32()?;
        let channel = r.cstr()?;
        let payload = r.cstr()?;
        r.finish()?;
        Ok(NotificationResponse { process_id, channel, payload })
    }
}

impl Encode for NotificationResponse<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_i32(self.process_id);
        sink.put_cstr(self.channel.as_bytes())?;
        sink.put_cstr(self.payload.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden},
    };

    #[test]
    fn golden() {
        let m = NotificationResponse { process_id: 7, channel: "jobs", payload: "42" };
        check_golden(b"A\0\0\0\x10\0\0\0\x07jobs\x0042\0", &BackendMessage::NotificationResponse(m), Tail::Strict);
    }
}
