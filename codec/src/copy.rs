//! COPY messages sent in both directions: CopyData and CopyDone.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
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

/// CopyDone (`c`): the end of COPY data, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CopyDone;

impl CopyDone {
    /// The type byte.
    pub const TAG: u8 = b'c';

    /// Decodes a body (which must be empty).
    #[inline]
    pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        Reader::new(body).finish().map(|()| CopyDone)
    }
}

impl Encode for CopyDone {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, _: &mut S) -> Result<(), EncodeError> {
        Ok(())
    }
}
