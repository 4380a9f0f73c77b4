//! Frontend (client → server) messages. PLACEHOLDER: being written.
use crate::{Encode, EncodeError, Sink};

/// Q
#[derive(Debug)]
pub struct Query<'a> {
    /// sql
    pub sql: &'a str,
}
impl Encode for Query<'_> {
    fn tag(&self) -> Option<u8> {
        Some(b'Q')
    }
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.sql.as_bytes())
    }
}
