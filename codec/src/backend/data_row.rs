//! DataRow ('D').

use super::list::{LazyIter, LazyList};
use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink, encode_into, len_i32},
};

/// DataRow ('D'): one row of a result set.
///
/// Decoding reads only the column count; [`DataRow::cells`] checks each cell
/// as it reads it, so the row is walked once. A truncated cell, a negative
/// length other than -1, or a column count that does not match the cells is
/// an `Err` from the iterator (never a NULL, never a short row);
/// [`DataRow::validate`] checks the whole row up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataRow<'a> {
    /// The cells; `None` is SQL NULL, distinct from an empty value `Some(b"")`.
    pub values: LazyList<'a, Option<&'a [u8]>>,
}

impl<'a> DataRow<'a> {
    /// The type byte.
    pub const TAG: u8 = b'D';

    /// A row of the given cells, for encoding. For the hot path, write rows
    /// with [`DataRowWriter`](super::DataRowWriter) instead.
    pub const fn new(values: &'a [Option<&'a [u8]>]) -> Self {
        DataRow { values: LazyList::from_slice(values) }
    }

    /// Decodes a body: reads the column count (a negative one is
    /// [`DecodeError::InvalidValue`]); the cells are checked by
    /// [`DataRow::cells`] or [`DataRow::validate`].
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let count = r.count_i16()?;
        Ok(DataRow { values: LazyList::from_wire(count, r.rest()) })
    }

    /// Checks every cell: `Ok` if [`DataRow::cells`] yields no error.
    #[inline]
    pub fn validate(&self) -> Result<(), DecodeError> {
        self.values.validate()
    }

    /// Checks every cell once and returns the row marked as checked:
    /// [`DataRow::validate`] and encoding the row again (passing a received
    /// row on) then copy it without walking its cells again.
    ///
    /// ```
    /// use postwire_codec::Encode;
    /// use postwire_codec::backend::DataRow;
    /// let body = b"\0\x01\0\0\0\x02hi";
    /// let row = DataRow::decode_body(body)?.checked()?;
    /// let mut out = [0u8; 16];
    /// let n = row.encode(&mut out).unwrap();
    /// assert_eq!(&out[..n], b"D\0\0\0\x0c\0\x01\0\0\0\x02hi");
    /// assert!(DataRow::decode_body(b"\0\x01\0\0\0\x09hi").unwrap().checked().is_err());
    /// # Ok::<(), postwire_codec::DecodeError>(())
    /// ```
    #[inline]
    pub fn checked(self) -> Result<Self, DecodeError> {
        Ok(DataRow { values: self.values.checked()? })
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

    /// The cells, in column order: `Ok(None)` for NULL; an `Err` for a
    /// malformed cell (or bytes after the last one), after which it ends.
    #[inline]
    pub fn cells(&self) -> LazyIter<'a, Option<&'a [u8]>> {
        self.values.iter()
    }

    /// The number of columns the row announces.
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

    /// A checked received row is its header and one copy of its cells.
    #[inline]
    fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let Some(cells) = self.values.checked_bytes() else {
            return encode_into(self, out);
        };
        let count = i16::try_from(self.values.len()).map_err(|_| EncodeError::TooManyItems)?;
        let len = len_i32(cells.len().checked_add(6).ok_or(EncodeError::TooLong)?)?;
        let total = 7 + cells.len();
        let Some((header, rest)) = out.get_mut(..total).and_then(|dst| dst.split_first_chunk_mut::<7>()) else {
            return Err(EncodeError::BufferTooSmall { required: total });
        };
        let [l0, l1, l2, l3] = len.to_be_bytes();
        let [c0, c1] = count.to_be_bytes();
        *header = [Self::TAG, l0, l1, l2, l3, c0, c1];
        rest.copy_from_slice(cells);
        Ok(total)
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
        assert!(row.cells().eq(cells.map(Ok)));
        assert_eq!(row.validate(), Ok(()));
        check_golden(b"D\0\0\0\x06\0\0", &BackendMessage::DataRow(DataRow::new(&[])), Tail::Strict);
    }

    #[test]
    fn a_checked_received_row_encodes_as_it_came() {
        let row = DataRow::decode_body(&WIRE[5..]).unwrap();
        let checked = row.checked().unwrap();
        assert_eq!(checked, row, "marking changes no cell");
        assert_eq!(checked.validate(), Ok(()));
        let mut out = [0u8; 32];
        // The one-copy path and the general one (unchecked) agree.
        for r in [checked, row] {
            assert_eq!(r.encoded_len(), Ok(WIRE.len()));
            let n = r.encode(&mut out).unwrap();
            assert_eq!(&out[..n], WIRE);
            let short = r.encode(&mut out[..WIRE.len() - 1]);
            assert_eq!(short, Err(EncodeError::BufferTooSmall { required: WIRE.len() }));
        }
        let empty = DataRow::decode_body(b"\0\0").unwrap().checked().unwrap();
        assert_eq!(empty.encode(&mut out), Ok(7));
        assert_eq!(&out[..7], b"D\0\0\0\x06\0\0");
        // A row that does not check is refused either way.
        let bad = DataRow::decode_body(b"\0\x01\0\0\0\x05abc").unwrap();
        assert_eq!(bad.checked(), Err(DecodeError::UnexpectedEnd));
        assert_eq!(bad.encode(&mut out), Err(EncodeError::InvalidValue));
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

    /// What one `next` on the cell iterator returns.
    type Next<'a> = Option<Result<Option<&'a [u8]>, DecodeError>>;

    /// The first four `next`s on the cells of `body`, and `validate`.
    fn cells_of(body: &[u8]) -> ([Next<'_>; 4], Result<(), DecodeError>) {
        let row = DataRow::decode_body(body).unwrap();
        let mut it = row.cells();
        ([it.next(), it.next(), it.next(), it.next()], row.validate())
    }

    #[test]
    fn malformed_cells_are_errors_not_nulls() {
        use DecodeError::*;
        // Length -2, after a good cell.
        let (cells, valid) = cells_of(b"\0\x02\0\0\0\x01x\xff\xff\xff\xfe");
        assert_eq!(cells, [Some(Ok(Some(&b"x"[..]))), Some(Err(InvalidValue)), None, None]);
        assert_eq!(valid, Err(InvalidValue));
        // Cell runs past the body.
        let (cells, valid) = cells_of(b"\0\x01\0\0\0\x05abc");
        assert_eq!(cells, [Some(Err(UnexpectedEnd)), None, None, None]);
        assert_eq!(valid, Err(UnexpectedEnd));
        // A length cut short.
        let (cells, _) = cells_of(b"\0\x02\xff\xff\xff\xff\0\0");
        assert_eq!(cells, [Some(Ok(None)), Some(Err(UnexpectedEnd)), None, None]);
        // Count says 2, one cell present: the second is an error, not a NULL.
        let (cells, valid) = cells_of(b"\0\x02\xff\xff\xff\xff");
        assert_eq!(cells, [Some(Ok(None)), Some(Err(UnexpectedEnd)), None, None]);
        assert_eq!(valid, Err(UnexpectedEnd));
        // Count says 1, two cells present.
        let (cells, valid) = cells_of(b"\0\x01\xff\xff\xff\xff\xff\xff\xff\xff");
        assert_eq!(cells, [Some(Ok(None)), Some(Err(TrailingBytes)), None, None]);
        assert_eq!(valid, Err(TrailingBytes));
        // Count 0 with bytes after it.
        assert_eq!(cells_of(b"\0\0\0").0, [Some(Err(TrailingBytes)), None, None, None]);
        // Negative count: decoding fails.
        assert_eq!(decode(b'D', b"\x80\0"), Err(InvalidValue));
        assert_eq!(decode(b'D', b"\0"), Err(UnexpectedEnd));
        // A malformed row does not re-encode.
        let row = DataRow::decode_body(b"\0\x01\0\0\0\x05abc").unwrap();
        assert_eq!(row.encoded_len(), Err(EncodeError::InvalidValue));
    }
}
