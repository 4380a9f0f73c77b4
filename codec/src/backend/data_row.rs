//! DataRow ('D').

use super::list::{Iter, List};
use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// DataRow ('D'): one row of a result set.
///
/// Decoding walks every cell once, so [`DataRow::cells`] is an infallible
/// iterator: a truncated cell, a negative length other than -1, or a column
/// count that does not match the cells fails [`DataRow::decode_body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataRow<'a> {
    /// The cells; `None` is SQL NULL, distinct from an empty value `Some(b"")`.
    pub values: List<'a, Option<&'a [u8]>>,
}

impl<'a> DataRow<'a> {
    /// The type byte.
    pub const TAG: u8 = b'D';

    /// A row of the given cells, for encoding. For the hot path, write rows
    /// with [`DataRowWriter`](super::DataRowWriter) instead.
    pub const fn new(values: &'a [Option<&'a [u8]>]) -> Self {
        DataRow { values: List::from_slice(values) }
    }

    /// Decodes a body, validating every cell.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let count = r.count_i16()?;
        let values = List::read_counted(&mut r, count)?;
        r.finish()?;
        Ok(DataRow { values })
    }

    /// Cell `index` of a DataRow `body`, reading only the cells before it
    /// (no full validation): random access into rows kept as raw bodies.
    /// `Ok(None)` is NULL; an index past the row is
    /// [`DecodeError::InvalidValue`].
    pub fn cell_in_body(body: &'a [u8], index: usize) -> Result<Option<&'a [u8]>, DecodeError> {
        let mut r = Reader::new(body);
        if index >= r.count_i16()? {
            return Err(DecodeError::InvalidValue);
        }
        for _ in 0..index {
            let len = r.i32()?;
            r.bytes(usize::try_from(len).unwrap_or(0))?;
        }
        match r.i32()? {
            -1 => Ok(None),
            len => Ok(Some(r.bytes(usize::try_from(len).map_err(|_| DecodeError::InvalidValue)?)?)),
        }
    }

    /// The cells, in column order: `None` for NULL.
    #[inline]
    pub fn cells(&self) -> Iter<'a, Option<&'a [u8]>> {
        self.values.iter()
    }

    /// The number of columns.
    #[inline]
    pub const fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl Encode for DataRow<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_count_i16(self.values.len())?;
        self.values.write_items(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    const WIRE: &[u8] = b"D\0\0\0\x14\0\x03\0\0\0\x02hi\xff\xff\xff\xff\0\0\0\0";

    #[test]
    fn golden_null_and_empty_are_distinct() {
        let cells: [Option<&[u8]>; 3] = [Some(b"hi"), None, Some(b"")];
        check_golden(WIRE, &BackendMessage::DataRow(DataRow::new(&cells)), Tail::Strict);
        let row = DataRow::decode_body(&WIRE[5..]).unwrap();
        assert_eq!(row.len(), 3);
        assert!(row.cells().eq(cells));
        check_golden(b"D\0\0\0\x06\0\0", &BackendMessage::DataRow(DataRow::new(&[])), Tail::Strict);
    }

    #[test]
    fn cell_in_body_reads_one_cell() {
        let body = &WIRE[5..];
        assert_eq!(DataRow::cell_in_body(body, 0), Ok(Some(&b"hi"[..])));
        assert_eq!(DataRow::cell_in_body(body, 1), Ok(None));
        assert_eq!(DataRow::cell_in_body(body, 2), Ok(Some(&b""[..])));
        assert_eq!(DataRow::cell_in_body(body, 3), Err(DecodeError::InvalidValue));
        assert_eq!(DataRow::cell_in_body(b"\0\x01\0\0\0\x05abc", 0), Err(DecodeError::UnexpectedEnd));
        assert_eq!(DataRow::cell_in_body(b"\0\x01\xff\xff\xff\xfe", 0), Err(DecodeError::InvalidValue));
    }

    #[test]
    fn malformed_cells_are_errors_not_nulls() {
        // Length -2.
        assert_eq!(decode(b'D', b"\0\x01\xff\xff\xff\xfe"), Err(DecodeError::InvalidValue));
        // Cell runs past the body.
        assert_eq!(decode(b'D', b"\0\x01\0\0\0\x05abc"), Err(DecodeError::UnexpectedEnd));
        // Count says 2, one cell present.
        assert_eq!(decode(b'D', b"\0\x02\xff\xff\xff\xff"), Err(DecodeError::UnexpectedEnd));
        // Count says 1, two cells present.
        assert_eq!(decode(b'D', b"\0\x01\xff\xff\xff\xff\xff\xff\xff\xff"), Err(DecodeError::TrailingBytes));
        // Negative count.
        assert_eq!(decode(b'D', b"\x80\0"), Err(DecodeError::InvalidValue));
    }
}
