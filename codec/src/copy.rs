//! COPY messages sent in both directions: CopyData and CopyDone.

use crate::{
    error::{DecodeError, EncodeError},
    write::{Encode, Sink},
};

/// CopyData (`d`): a chunk of COPY data, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CopyData<'a> {
    /// The bytes; chunk boundaries carry no meaning.
    pub data: &'a [u8],
}

impl<'a> CopyData<'a> {
    /// The type byte.
    pub const TAG: u8 = b'd';

    /// Decodes a body.
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(CopyData { data: body })
    }
}

impl Encode for CopyData<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_slice(self.data);
        Ok(())
    }
}

empty_message!(
    /// CopyDone (`c`): the end of COPY data, in either direction.
    CopyDone = b'c'
);
