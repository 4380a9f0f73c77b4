//! Repeated fields as one type: either a view over bytes that decoding has
//! already walked and validated, or a caller's slice to encode.
//!
//! [`List`]: decoding walks every item once, so iterating a decoded list
//! cannot fail: [`Iter`] yields plain items, not `Result`s.
//!
//! [`LazyList`]: for the hot messages (DataRow, RowDescription) decoding reads
//! only the count, and the iterator checks each item as it reads it, once:
//! [`LazyIter`] yields `Result`s, so a malformed item is a typed error where it
//! is met, never a short or wrong list.

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

/// A repeated field checked while it is read: decoded bytes (not yet
/// walked) or the caller's items to encode.
///
/// Iterating a decoded list yields `Err` for the first malformed item (or for
/// bytes left after the last one) and then stops; [`LazyList::validate`]
/// walks it all once. Two lists are equal when they yield the same results.
#[derive(Clone, Copy)]
pub struct LazyList<'a, T> {
    repr: LazyRepr<'a, T>,
}

/// The bit of a decoded list's count that says its items were checked.
const CHECKED: usize = 1 << (usize::BITS - 1);

#[derive(Clone, Copy)]
enum LazyRepr<'a, T> {
    /// `count` items announced by the message, laid out in `bytes` (the rest
    /// of the body). [`CHECKED`] is set in `count` once they were all read
    /// without error (a flag of its own would make every list larger).
    Wire { count: usize, bytes: &'a [u8] },
    /// Items supplied by the caller.
    Items(&'a [T]),
}

impl<'a, T: WireItem<'a>> LazyList<'a, T> {
    /// A list of the caller's items, for encoding.
    #[inline]
    pub const fn from_slice(items: &'a [T]) -> Self {
        LazyList { repr: LazyRepr::Items(items) }
    }

    /// `count` items in `bytes`, which must hold exactly them (checked while
    /// iterating).
    #[inline]
    pub(crate) const fn from_wire(count: usize, bytes: &'a [u8]) -> Self {
        // Callers pass a count read from an i16: the flag's bit is free.
        LazyList { repr: LazyRepr::Wire { count: count & !CHECKED, bytes } }
    }

    /// The items' bytes as received, if they were checked: what encoding the
    /// list writes.
    #[inline]
    pub(crate) fn checked_bytes(&self) -> Option<&'a [u8]> {
        match self.repr {
            LazyRepr::Wire { count, bytes } if count & CHECKED != 0 => Some(bytes),
            _ => None,
        }
    }

    /// The list walked once and marked as checked, so that validating or
    /// encoding it again does not walk it again.
    #[inline]
    pub(crate) fn checked(self) -> Result<Self, DecodeError> {
        match self.repr {
            LazyRepr::Wire { count, bytes } if count & CHECKED == 0 => {
                self.validate()?;
                Ok(LazyList { repr: LazyRepr::Wire { count: count | CHECKED, bytes } })
            }
            _ => Ok(self),
        }
    }

    /// How many items the message announces (or the caller supplied).
    #[inline]
    pub const fn len(&self) -> usize {
        match self.repr {
            LazyRepr::Wire { count, .. } => count & !CHECKED,
            LazyRepr::Items(items) => items.len(),
        }
    }

    /// Whether the list announces no items.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items, front to back, each checked as it is read.
    #[inline]
    pub fn iter(&self) -> LazyIter<'a, T> {
        let repr = match self.repr {
            LazyRepr::Wire { count, bytes } => IterRepr::Wire { reader: Reader::new(bytes), left: count & !CHECKED },
            LazyRepr::Items(items) => IterRepr::Items(items.iter()),
        };
        LazyIter { repr }
    }

    /// Walks every item: `Ok` if iterating would yield no error.
    #[inline]
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self.repr {
            // What iterating reports, in a plain loop: the first item's
            // error, else bytes left after the last item.
            LazyRepr::Wire { count, bytes } if count & CHECKED == 0 => {
                let mut r = Reader::new(bytes);
                for _ in 0..count {
                    T::read(&mut r)?;
                }
                r.finish()
            }
            _ => Ok(()),
        }
    }

    /// Writes every item (no count); a decoded list that does not validate is
    /// [`EncodeError::InvalidValue`].
    #[inline]
    pub(crate) fn write_items<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        match self.repr {
            LazyRepr::Wire { bytes, .. } => {
                self.validate().map_err(|_| EncodeError::InvalidValue)?;
                sink.put_slice(bytes);
                Ok(())
            }
            LazyRepr::Items(items) => items.iter().try_for_each(|item| item.write(sink)),
        }
    }
}

impl<'a, T: WireItem<'a>> IntoIterator for LazyList<'a, T> {
    type Item = Result<T, DecodeError>;
    type IntoIter = LazyIter<'a, T>;
    #[inline]
    fn into_iter(self) -> LazyIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: WireItem<'a>> IntoIterator for &LazyList<'a, T> {
    type Item = Result<T, DecodeError>;
    type IntoIter = LazyIter<'a, T>;
    #[inline]
    fn into_iter(self) -> LazyIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: WireItem<'a> + PartialEq> PartialEq for LazyList<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<'a, T: WireItem<'a> + Eq> Eq for LazyList<'a, T> {}

impl<'a, T: WireItem<'a> + fmt::Debug> fmt::Debug for LazyList<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "defmt")]
impl<'a, T: WireItem<'a> + defmt::Format> defmt::Format for LazyList<'a, T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[");
        for item in self.iter() {
            match item {
                Ok(item) => defmt::write!(f, "{}, ", item),
                Err(e) => defmt::write!(f, "Err({}), ", e),
            }
        }
        defmt::write!(f, "]");
    }
}

/// Iterator over a [`LazyList`]: `Ok` for each well-formed item; at most one
/// `Err` (the first malformed item, or [`DecodeError::TrailingBytes`] after
/// the last announced item), after which it ends.
#[derive(Clone)]
pub struct LazyIter<'a, T> {
    repr: IterRepr<'a, T>,
}

impl<'a, T: WireItem<'a>> Iterator for LazyIter<'a, T> {
    type Item = Result<T, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Result<T, DecodeError>> {
        match &mut self.repr {
            IterRepr::Wire { reader, left } => {
                if *left == 0 {
                    if reader.is_empty() {
                        return None;
                    }
                    reader.rest();
                    return Some(Err(DecodeError::TrailingBytes));
                }
                *left -= 1;
                let item = T::read(reader);
                if item.is_err() {
                    *left = 0;
                    reader.rest();
                }
                Some(item)
            }
            IterRepr::Items(items) => items.next().copied().map(Ok),
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.repr {
            // An error can end it early, or follow the last item.
            IterRepr::Wire { reader, left } => {
                if *left == 0 && reader.is_empty() {
                    (0, Some(0))
                } else {
                    (1, left.checked_add(1))
                }
            }
            IterRepr::Items(items) => (items.len(), Some(items.len())),
        }
    }
}

impl<'a, T: WireItem<'a>> FusedIterator for LazyIter<'a, T> {}

impl<'a, T: fmt::Debug> fmt::Debug for LazyIter<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyIter").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_list_reports_errors_where_met() {
        // Two good strings, as announced.
        let l = LazyList::<&str>::from_wire(2, b"ab\0c\0");
        assert!(l.iter().eq([Ok("ab"), Ok("c")]));
        assert_eq!(l.validate(), Ok(()));
        assert_eq!(l, LazyList::from_slice(&["ab", "c"]));
        // Announced three: the missing one is an error, then the end.
        let l = LazyList::<&str>::from_wire(3, b"ab\0c\0");
        assert!(l.iter().eq([Ok("ab"), Ok("c"), Err(DecodeError::MissingNul)]));
        assert_eq!(l.validate(), Err(DecodeError::MissingNul));
        // Announced one: the extra bytes are an error after it.
        let l = LazyList::<&str>::from_wire(1, b"ab\0c\0");
        assert!(l.iter().eq([Ok("ab"), Err(DecodeError::TrailingBytes)]));
        // A bad item stops the iterator for good.
        let l = LazyList::<&str>::from_wire(3, b"\xff\0c\0d\0");
        let mut it = l.iter();
        assert_eq!(it.next(), Some(Err(DecodeError::InvalidUtf8)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        // Re-encoding checks a decoded list first.
        let mut out = crate::write::LenCounter::default();
        assert_eq!(l.write_items(&mut out), Err(EncodeError::InvalidValue));
        LazyList::<&str>::from_wire(2, b"ab\0c\0").write_items(&mut out).unwrap();
        assert_eq!(out.len, 5);
    }

    #[test]
    fn lazy_size_hint_bounds_the_count() {
        for (count, bytes) in [(0, &b""[..]), (0, b"x"), (2, b"a\0b\0"), (2, b"a\0"), (1, b"a\0b\0")] {
            let it = LazyList::<&str>::from_wire(count, bytes).iter();
            let (lo, hi) = it.size_hint();
            let n = it.count();
            assert!(lo <= n && hi.is_none_or(|hi| n <= hi), "{count} {bytes:?}: {lo} {hi:?} {n}");
        }
    }

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
