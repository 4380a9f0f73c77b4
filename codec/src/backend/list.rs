//! Repeated fields as one type: either a view over bytes that decoding has
//! already walked and validated, or a caller's slice to encode.
//!
//! Decoding walks every item once, so iterating a decoded list cannot fail:
//! [`Iter`] yields plain items, not `Result`s.

use core::{fmt, iter::FusedIterator, slice};

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::Sink,
};

/// One element of a repeated field: how it is read and written.
pub trait WireItem<'a>: Copy + 'a {
    /// Reads one item from the front of `r`.
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError>;
    /// Writes one item, returning any validation error.
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError>;
}

/// A repeated field: decoded bytes (already validated) or items to encode.
///
/// Two lists are equal when they yield the same items, whichever form they hold.
#[derive(Clone, Copy)]
pub struct List<'a, T> {
    repr: Repr<'a, T>,
}

#[derive(Clone, Copy)]
enum Repr<'a, T> {
    /// `count` items, known to be well-formed, laid out in `bytes`.
    Wire { count: usize, bytes: &'a [u8] },
    /// Items supplied by the caller.
    Items(&'a [T]),
}

impl<'a, T: WireItem<'a>> List<'a, T> {
    /// A list of the caller's items, for encoding.
    #[inline]
    pub const fn from_slice(items: &'a [T]) -> Self {
        List { repr: Repr::Items(items) }
    }

    /// Reads `count` items, checking each one, and keeps a view of their bytes.
    #[inline]
    pub(crate) fn read_counted(r: &mut Reader<'a>, count: usize) -> Result<Self, DecodeError> {
        let start = r.remaining();
        for _ in 0..count {
            T::read(r)?;
        }
        Ok(List { repr: Repr::Wire { count, bytes: consumed(start, r) } })
    }

    /// Reads items until `is_end` says one is the terminator (which is consumed
    /// but not part of the list).
    #[inline]
    pub(crate) fn read_terminated(r: &mut Reader<'a>, is_end: impl Fn(&T) -> bool) -> Result<Self, DecodeError> {
        let start = r.remaining();
        let mut count = 0usize;
        let mut bytes = start.get(..0).unwrap_or_default();
        loop {
            let item = T::read(r)?;
            if is_end(&item) {
                break;
            }
            count += 1;
            bytes = consumed(start, r);
        }
        Ok(List { repr: Repr::Wire { count, bytes } })
    }

    /// How many items the list holds.
    #[inline]
    pub const fn len(&self) -> usize {
        match self.repr {
            Repr::Wire { count, .. } => count,
            Repr::Items(items) => items.len(),
        }
    }

    /// Whether the list is empty.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items, front to back.
    #[inline]
    pub fn iter(&self) -> Iter<'a, T> {
        let repr = match self.repr {
            Repr::Wire { count, bytes } => IterRepr::Wire { reader: Reader::new(bytes), left: count },
            Repr::Items(items) => IterRepr::Items(items.iter()),
        };
        Iter { repr }
    }

    /// Writes every item (no count, no terminator).
    #[inline]
    pub(crate) fn write_items<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        match self.repr {
            // Decoded bytes were validated item by item: copy them as they are.
            Repr::Wire { bytes, .. } => {
                sink.put_slice(bytes);
                Ok(())
            }
            Repr::Items(items) => items.iter().try_for_each(|item| item.write(sink)),
        }
    }
}

/// The bytes `r` advanced over since `start`.
#[inline]
fn consumed<'a>(start: &'a [u8], r: &Reader<'a>) -> &'a [u8] {
    let used = start.len().saturating_sub(r.remaining().len());
    start.get(..used).unwrap_or(start)
}

impl<'a, T: WireItem<'a>> IntoIterator for List<'a, T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    #[inline]
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T: WireItem<'a>> IntoIterator for &List<'a, T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    #[inline]
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T: WireItem<'a> + PartialEq> PartialEq for List<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<'a, T: WireItem<'a> + Eq> Eq for List<'a, T> {}

impl<'a, T: WireItem<'a> + fmt::Debug> fmt::Debug for List<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "defmt")]
impl<'a, T: WireItem<'a> + defmt::Format> defmt::Format for List<'a, T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[");
        for item in self.iter() {
            defmt::write!(f, "{}, ", item);
        }
        defmt::write!(f, "]");
    }
}

/// Iterator over a [`List`]. Infallible: decoding already checked every item.
#[derive(Clone)]
pub struct Iter<'a, T> {
    repr: IterRepr<'a, T>,
}

#[derive(Clone)]
enum IterRepr<'a, T> {
    Wire { reader: Reader<'a>, left: usize },
    Items(slice::Iter<'a, T>),
}

impl<'a, T: WireItem<'a>> Iterator for Iter<'a, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        match &mut self.repr {
            IterRepr::Wire { reader, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let item = T::read(reader).ok();
                // Unreachable for decoded lists; stop cleanly rather than loop.
                if item.is_none() {
                    *left = 0;
                }
                item
            }
            IterRepr::Items(items) => items.next().copied(),
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.repr {
            IterRepr::Wire { left, .. } => *left,
            IterRepr::Items(items) => items.len(),
        };
        (n, Some(n))
    }
}

impl<'a, T: WireItem<'a>> ExactSizeIterator for Iter<'a, T> {}
impl<'a, T: WireItem<'a>> FusedIterator for Iter<'a, T> {}

impl<'a, T: fmt::Debug> fmt::Debug for Iter<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

impl<'a> WireItem<'a> for &'a str {
    #[inline]
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.cstr()
    }
    #[inline]
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.as_bytes())
    }
}

impl<'a> WireItem<'a> for Option<&'a [u8]> {
    #[inline]
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.nullable_bytes()
    }
    #[inline]
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_nullable_bytes(*self)
    }
}

impl<'a> WireItem<'a> for crate::Format {
    #[inline]
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        crate::Format::from_code(r.i16()?)
    }
    #[inline]
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_i16(self.code());
        Ok(())
    }
}

impl<'a> WireItem<'a> for u32 {
    #[inline]
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.u32()
    }
    #[inline]
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_u32(*self);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_and_slice_lists_compare_by_items() {
        let mut r = Reader::new(b"ab\0c\0rest");
        let wire = List::<&str>::read_counted(&mut r, 2).unwrap();
        assert_eq!(r.remaining(), b"rest");
        assert_eq!(wire, List::from_slice(&["ab", "c"]));
        assert_ne!(wire, List::from_slice(&["ab"]));
        assert_eq!(wire.iter().len(), 2);
    }

    #[test]
    fn terminated_list_excludes_terminator() {
        let mut r = Reader::new(b"x\0y\0\0");
        let l = List::<&str>::read_terminated(&mut r, |s| s.is_empty()).unwrap();
        assert!(r.is_empty());
        assert!(l.iter().eq(["x", "y"]));
        let unterminated = List::<&str>::read_terminated(&mut Reader::new(b"x\0"), |s| s.is_empty());
        assert_eq!(unterminated.err(), Some(DecodeError::MissingNul));
        let empty = List::<&str>::read_terminated(&mut Reader::new(b"\0"), |s| s.is_empty()).unwrap();
        assert_eq!(empty, List::from_slice(&[]));
        let mut out = crate::write::LenCounter::default();
        empty.write_items(&mut out).unwrap();
        assert_eq!(out.len, 0);
    }
}
