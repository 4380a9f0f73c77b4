//! Counted lists inside frontend messages: format codes, type OIDs, values.
//!
//! Each list is either a view over wire bytes that `decode_body` has already
//! walked and validated, or a caller's slice to encode. Either way the
//! iterators cannot fail, so they yield plain items, not `Result`s.

use core::fmt;

use crate::{
    error::{DecodeError, EncodeError},
    format::{Format, Oid},
    read::Reader,
    write::Sink,
};

/// A list of format codes (Bind, FunctionCall): each is text or binary.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FormatCodes<'a>(FormatRepr<'a>);

#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum FormatRepr<'a> {
    /// Validated big-endian `i16` codes, each 0 or 1.
    Wire(&'a [u8]),
    Slice(&'a [Format]),
}

impl<'a> FormatCodes<'a> {
    /// No format codes.
    pub const EMPTY: FormatCodes<'static> = FormatCodes(FormatRepr::Slice(&[]));

    /// A list to encode.
    #[inline]
    pub const fn from_slice(formats: &'a [Format]) -> Self {
        FormatCodes(FormatRepr::Slice(formats))
    }

    /// Reads an `i16` count and that many codes, checking each is 0 or 1.
    #[inline]
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let n = r.count_i16()?;
        // n <= i16::MAX, so this cannot overflow.
        let bytes = r.bytes(n * 2)?;
        for code in bytes.chunks_exact(2) {
            if code != [0, 0] && code != [0, 1] {
                return Err(DecodeError::InvalidValue);
            }
        }
        Ok(FormatCodes(FormatRepr::Wire(bytes)))
    }

    /// Writes the `i16` count and the codes.
    #[inline]
    pub(crate) fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_count_i16(self.len())?;
        match self.0 {
            FormatRepr::Wire(bytes) => sink.put_slice(bytes),
            FormatRepr::Slice(formats) => formats.iter().for_each(|f| sink.put_i16(f.code())),
        }
        Ok(())
    }

    /// How many codes.
    #[inline]
    pub const fn len(&self) -> usize {
        match self.0 {
            FormatRepr::Wire(bytes) => bytes.len() / 2,
            FormatRepr::Slice(formats) => formats.len(),
        }
    }

    /// Whether there are no codes.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th code.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Format> {
        match self.0 {
            FormatRepr::Wire(bytes) => bytes.get(i.checked_mul(2)? + 1).map(|&b| wire_format(b)),
            FormatRepr::Slice(formats) => formats.get(i).copied(),
        }
    }

    /// The format of value `i` of `count` under the protocol's rule: no codes
    /// means all text, one code applies to every value, otherwise one code per
    /// value. `None` when `i >= count` or when there are several codes but not
    /// `count` of them.
    #[inline]
    pub fn format_for(&self, i: usize, count: usize) -> Option<Format> {
        if i >= count {
            return None;
        }
        match self.len() {
            0 => Some(Format::Text),
            1 => self.get(0),
            n if n == count => self.get(i),
            _ => None,
        }
    }

    /// Whether the number of codes fits `count` values: 0, 1 or `count`.
    #[inline]
    pub(crate) const fn fits(&self, count: usize) -> bool {
        let n = self.len();
        n <= 1 || n == count
    }

    /// The codes, front to back.
    #[inline]
    pub fn iter(&self) -> FormatIter<'a> {
        FormatIter(match self.0 {
            FormatRepr::Wire(bytes) => FormatIterRepr::Wire(bytes.chunks_exact(2)),
            FormatRepr::Slice(formats) => FormatIterRepr::Slice(formats.iter()),
        })
    }
}

/// The low byte of a validated code: 0 or 1.
#[inline]
fn wire_format(low: u8) -> Format {
    if low == 1 { Format::Binary } else { Format::Text }
}

impl<'a> IntoIterator for FormatCodes<'a> {
    type Item = Format;
    type IntoIter = FormatIter<'a>;
    #[inline]
    fn into_iter(self) -> FormatIter<'a> {
        self.iter()
    }
}

impl PartialEq for FormatCodes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for FormatCodes<'_> {}

impl fmt::Debug for FormatCodes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for FormatCodes<'_> {
    fn default() -> Self {
        FormatCodes::EMPTY
    }
}

/// Iterator over [`FormatCodes`].
#[derive(Debug, Clone)]
pub struct FormatIter<'a>(FormatIterRepr<'a>);

#[derive(Debug, Clone)]
enum FormatIterRepr<'a> {
    Wire(core::slice::ChunksExact<'a, u8>),
    Slice(core::slice::Iter<'a, Format>),
}

impl Iterator for FormatIter<'_> {
    type Item = Format;
    #[inline]
    fn next(&mut self) -> Option<Format> {
        match &mut self.0 {
            FormatIterRepr::Wire(chunks) => chunks.next().and_then(|c| c.get(1)).map(|&b| wire_format(b)),
            FormatIterRepr::Slice(it) => it.next().copied(),
        }
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            FormatIterRepr::Wire(chunks) => chunks.size_hint(),
            FormatIterRepr::Slice(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for FormatIter<'_> {}

/// Parameter type OIDs (Parse); 0 leaves a type for the server to infer.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Oids<'a>(OidRepr<'a>);

#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum OidRepr<'a> {
    /// Big-endian `u32`s; length a multiple of 4.
    Wire(&'a [u8]),
    Slice(&'a [Oid]),
}

impl<'a> Oids<'a> {
    /// No OIDs.
    pub const EMPTY: Oids<'static> = Oids(OidRepr::Slice(&[]));

    /// A list to encode.
    #[inline]
    pub const fn from_slice(oids: &'a [Oid]) -> Self {
        Oids(OidRepr::Slice(oids))
    }

    /// Reads an `i16` count and that many OIDs.
    #[inline]
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let n = r.count_i16()?;
        Ok(Oids(OidRepr::Wire(r.bytes(n * 4)?)))
    }

    /// Writes the `i16` count and the OIDs.
    #[inline]
    pub(crate) fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_count_i16(self.len())?;
        match self.0 {
            OidRepr::Wire(bytes) => sink.put_slice(bytes),
            OidRepr::Slice(oids) => oids.iter().for_each(|&o| sink.put_u32(o)),
        }
        Ok(())
    }

    /// How many OIDs.
    #[inline]
    pub const fn len(&self) -> usize {
        match self.0 {
            OidRepr::Wire(bytes) => bytes.len() / 4,
            OidRepr::Slice(oids) => oids.len(),
        }
    }

    /// Whether there are none.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th OID.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Oid> {
        self.iter().nth(i)
    }

    /// The OIDs, front to back.
    #[inline]
    pub fn iter(&self) -> OidIter<'a> {
        OidIter(match self.0 {
            OidRepr::Wire(bytes) => OidIterRepr::Wire(bytes.chunks_exact(4)),
            OidRepr::Slice(oids) => OidIterRepr::Slice(oids.iter()),
        })
    }
}

impl<'a> IntoIterator for Oids<'a> {
    type Item = Oid;
    type IntoIter = OidIter<'a>;
    #[inline]
    fn into_iter(self) -> OidIter<'a> {
        self.iter()
    }
}

impl PartialEq for Oids<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Oids<'_> {}

impl fmt::Debug for Oids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Oids<'_> {
    fn default() -> Self {
        Oids::EMPTY
    }
}

/// Iterator over [`Oids`].
#[derive(Debug, Clone)]
pub struct OidIter<'a>(OidIterRepr<'a>);

#[derive(Debug, Clone)]
enum OidIterRepr<'a> {
    Wire(core::slice::ChunksExact<'a, u8>),
    Slice(core::slice::Iter<'a, Oid>),
}

impl Iterator for OidIter<'_> {
    type Item = Oid;
    #[inline]
    fn next(&mut self) -> Option<Oid> {
        match &mut self.0 {
            OidIterRepr::Wire(chunks) => {
                let c: [u8; 4] = chunks.next()?.try_into().ok()?;
                Some(u32::from_be_bytes(c))
            }
            OidIterRepr::Slice(it) => it.next().copied(),
        }
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            OidIterRepr::Wire(chunks) => chunks.size_hint(),
            OidIterRepr::Slice(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for OidIter<'_> {}

/// Parameter or argument values (Bind, FunctionCall): each is bytes, or
/// `None` for SQL NULL.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Values<'a>(ValueRepr<'a>);

#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum ValueRepr<'a> {
    /// `count` validated (`i32` length, bytes) items.
    Wire {
        bytes: &'a [u8],
        count: u16,
    },
    Slice(&'a [Option<&'a [u8]>]),
}

impl<'a> Values<'a> {
    /// No values.
    pub const EMPTY: Values<'static> = Values(ValueRepr::Slice(&[]));

    /// A list to encode.
    #[inline]
    pub const fn from_slice(values: &'a [Option<&'a [u8]>]) -> Self {
        Values(ValueRepr::Slice(values))
    }

    /// Reads an `i16` count and walks that many values once, so iterating later
    /// cannot fail.
    #[inline]
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let n = r.count_i16()?;
        let start = r.remaining();
        for _ in 0..n {
            r.nullable_bytes()?;
        }
        let used = start.len() - r.remaining().len();
        let bytes = start.get(..used).ok_or(DecodeError::UnexpectedEnd)?;
        // n <= i16::MAX.
        Ok(Values(ValueRepr::Wire { bytes, count: n as u16 }))
    }

    /// Writes the `i16` count and the values.
    #[inline]
    pub(crate) fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_count_i16(self.len())?;
        match self.0 {
            ValueRepr::Wire { bytes, .. } => sink.put_slice(bytes),
            ValueRepr::Slice(values) => {
                for v in values {
                    sink.put_nullable_bytes(*v)?;
                }
            }
        }
        Ok(())
    }

    /// How many values.
    #[inline]
    pub const fn len(&self) -> usize {
        match self.0 {
            ValueRepr::Wire { count, .. } => count as usize,
            ValueRepr::Slice(values) => values.len(),
        }
    }

    /// Whether there are none.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th value: `Some(None)` is SQL NULL.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Option<&'a [u8]>> {
        match self.0 {
            ValueRepr::Wire { .. } => self.iter().nth(i),
            ValueRepr::Slice(values) => values.get(i).copied(),
        }
    }

    /// The values, front to back.
    #[inline]
    pub fn iter(&self) -> ValueIter<'a> {
        ValueIter(match self.0 {
            ValueRepr::Wire { bytes, count } => ValueIterRepr::Wire { rest: bytes, left: count },
            ValueRepr::Slice(values) => ValueIterRepr::Slice(values.iter()),
        })
    }
}

impl<'a> IntoIterator for Values<'a> {
    type Item = Option<&'a [u8]>;
    type IntoIter = ValueIter<'a>;
    #[inline]
    fn into_iter(self) -> ValueIter<'a> {
        self.iter()
    }
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Values<'_> {}

impl fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Values<'_> {
    fn default() -> Self {
        Values::EMPTY
    }
}

/// Iterator over [`Values`]: `None` items are SQL NULLs.
#[derive(Debug, Clone)]
pub struct ValueIter<'a>(ValueIterRepr<'a>);

#[derive(Debug, Clone)]
enum ValueIterRepr<'a> {
    Wire { rest: &'a [u8], left: u16 },
    Slice(core::slice::Iter<'a, Option<&'a [u8]>>),
}

impl<'a> Iterator for ValueIter<'a> {
    type Item = Option<&'a [u8]>;
    #[inline]
    fn next(&mut self) -> Option<Option<&'a [u8]>> {
        match &mut self.0 {
            ValueIterRepr::Wire { rest, left } => {
                *left = left.checked_sub(1)?;
                let mut r = Reader::new(rest);
                // Validated at decode time; stop rather than panic if not.
                let Ok(v) = r.nullable_bytes() else {
                    *left = 0;
                    return None;
                };
                *rest = r.remaining();
                Some(v)
            }
            ValueIterRepr::Slice(it) => it.next().copied(),
        }
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            ValueIterRepr::Wire { left, .. } => (usize::from(*left), Some(usize::from(*left))),
            ValueIterRepr::Slice(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for ValueIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_rule_zero_one_or_n() {
        let none = FormatCodes::EMPTY;
        assert_eq!(none.format_for(5, 6), Some(Format::Text));
        assert_eq!(none.format_for(6, 6), None);
        let one = [Format::Binary];
        let one = FormatCodes::from_slice(&one);
        assert_eq!(one.format_for(3, 4), Some(Format::Binary));
        let two = [Format::Binary, Format::Text];
        let two = FormatCodes::from_slice(&two);
        assert_eq!(two.format_for(1, 2), Some(Format::Text));
        assert_eq!(two.format_for(1, 3), None);
        assert!(two.fits(2) && !two.fits(3) && one.fits(9));
    }

    #[test]
    fn wire_and_slice_lists_compare_equal() {
        let mut r = Reader::new(b"\0\x02\0\x01\0\0");
        let wire = FormatCodes::read(&mut r).unwrap();
        assert_eq!(wire, FormatCodes::from_slice(&[Format::Binary, Format::Text]));
        assert_eq!(wire.get(1), Some(Format::Text));
        assert_eq!(wire.get(2), None);
        assert_eq!(wire.iter().len(), 2);

        let mut r = Reader::new(b"\0\x02\xff\xff\xff\xff\0\0\0\x01x");
        let wire = Values::read(&mut r).unwrap();
        assert!(r.is_empty());
        assert_eq!(wire, Values::from_slice(&[None, Some(b"x")]));
        assert_eq!(wire.get(1), Some(Some(&b"x"[..])));
        assert_eq!(wire.get(2), None);

        let mut r = Reader::new(b"\0\x01\0\0\0\x17");
        assert_eq!(Oids::read(&mut r).unwrap(), Oids::from_slice(&[23]));
    }

    #[test]
    fn bad_lists_are_rejected() {
        assert_eq!(FormatCodes::read(&mut Reader::new(b"\0\x01\0\x02")), Err(DecodeError::InvalidValue));
        assert_eq!(FormatCodes::read(&mut Reader::new(b"\xff\xff")), Err(DecodeError::InvalidValue));
        assert_eq!(FormatCodes::read(&mut Reader::new(b"\0\x01\0")), Err(DecodeError::UnexpectedEnd));
        assert_eq!(Values::read(&mut Reader::new(b"\0\x01\xff\xff\xff\xfe")), Err(DecodeError::InvalidValue));
        assert_eq!(Values::read(&mut Reader::new(b"\0\x02\0\0\0\0")), Err(DecodeError::UnexpectedEnd));
        assert_eq!(Oids::read(&mut Reader::new(b"\0\x01\0\0\0")), Err(DecodeError::UnexpectedEnd));
    }
}
