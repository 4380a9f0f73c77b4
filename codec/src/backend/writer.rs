//! Streaming encoders for the hot path: a DataRow or RowDescription written
//! straight into the caller's buffer, one cell or field at a time, with the
//! header patched in by `finish`. One pass, no counting run first.
//!
//! Until `finish` returns, nothing is "written": a failed or dropped writer
//! leaves scratch bytes after the offset but reports no length, so a caller
//! that only advances by what `finish` returns never sends half a message.

use super::{DataRow, FieldDescription, RowDescription, list::WireItem};
use crate::{
    error::EncodeError,
    write::{Sink, SliceSink},
};

/// Type byte, `i32` length and `i16` count.
const HEADER_LEN: usize = 7;

/// The part shared by both writers: a message under construction. The header
/// is split off at `begin` and filled in by `finish`; items go into `rest`.
#[derive(Debug)]
struct Frame<'b> {
    header: &'b mut [u8; HEADER_LEN],
    rest: &'b mut [u8],
    /// Absolute buffer position after the last item (for `required`).
    end: usize,
    /// Bytes after the header.
    written: usize,
    count: usize,
}

impl<'b> Frame<'b> {
    #[inline]
    fn begin(buf: &'b mut [u8], offset: usize) -> Result<Self, EncodeError> {
        let end = offset.checked_add(HEADER_LEN).ok_or(EncodeError::TooLong)?;
        let Some((header, rest)) = buf.get_mut(offset..).and_then(|b| b.split_first_chunk_mut()) else {
            return Err(EncodeError::BufferTooSmall { required: end });
        };
        Ok(Frame { header, rest, end, written: 0, count: 0 })
    }

    /// Takes the next `n` bytes for one item, or says what buffer size it needs.
    /// The caller fills all `n` bytes.
    #[inline(always)]
    fn item(&mut self, n: usize) -> Result<&'b mut [u8], EncodeError> {
        if n > self.rest.len() {
            let required = self.end.checked_add(n).ok_or(EncodeError::TooLong)?;
            return Err(EncodeError::BufferTooSmall { required });
        }
        let (dst, tail) = core::mem::take(&mut self.rest).split_at_mut(n);
        self.rest = tail;
        self.end += n;
        self.written += n;
        self.count += 1;
        Ok(dst)
    }

    /// Count and length limits are checked here, once, rather than per item:
    /// a message that breaks them is reported as an error, never as written.
    #[inline]
    fn finish(self, tag: u8) -> Result<usize, EncodeError> {
        let count = i16::try_from(self.count).map_err(|_| EncodeError::TooManyItems)?;
        let length = self.written.checked_add(HEADER_LEN - 1).ok_or(EncodeError::TooLong)?;
        let length = i32::try_from(length).map_err(|_| EncodeError::TooLong)?;
        let [t, l0, l1, l2, l3, c0, c1] = self.header;
        *t = tag;
        [*l0, *l1, *l2, *l3] = length.to_be_bytes();
        [*c0, *c1] = count.to_be_bytes();
        Ok(self.written + HEADER_LEN)
    }
}

/// Copies `src` into `dst` (same length). Cells are mostly a few bytes, where a
/// call to `memcpy` costs more than the copy: two overlapping fixed-size moves
/// cover any length in a size class without a call.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn overlapping<const N: usize>(dst: &mut [u8], src: &[u8]) {
        if let (Some(head), Some(tail)) = (src.first_chunk::<N>(), src.last_chunk::<N>()) {
            if let Some(d) = dst.first_chunk_mut::<N>() {
                *d = *head;
            }
            if let Some(d) = dst.last_chunk_mut::<N>() {
                *d = *tail;
            }
        }
    }
    match src.len() {
        0 => {}
        1..4 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        4..8 => overlapping::<4>(dst, src),
        8..16 => overlapping::<8>(dst, src),
        16..32 => overlapping::<16>(dst, src),
        32..=64 => overlapping::<32>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// Writes one DataRow cell by cell into a caller's buffer.
///
/// ```
/// use postwire_codec::backend::DataRowWriter;
/// let mut buf = [0u8; 64];
/// let mut row = DataRowWriter::begin(&mut buf, 0)?;
/// row.cell(Some(b"hi"))?;
/// row.null()?;
/// row.cell_with(|sink| {
///     use postwire_codec::Sink;
///     sink.put_i32(42);
///     Ok(())
/// })?;
/// let n = row.finish()?;
/// assert_eq!(&buf[..n], b"D\0\0\0\x18\0\x03\0\0\0\x02hi\xff\xff\xff\xff\0\0\0\x04\0\0\0\x2a");
/// # Ok::<(), postwire_codec::EncodeError>(())
/// ```
///
/// Each method fails with `BufferTooSmall { required }` when its cell does not
/// fit, `required` being the buffer size that holds the row so far plus that
/// cell; the writer is then unchanged, as if the call had not happened.
/// The limits that need the whole row (at most `i16::MAX` cells, at most
/// `i32::MAX` bytes) are checked once, by `finish`, to keep cells cheap.
#[derive(Debug)]
pub struct DataRowWriter<'b> {
    frame: Frame<'b>,
}

impl<'b> DataRowWriter<'b> {
    /// Starts a row at `offset` in `buf`, reserving room for its header.
    #[inline]
    pub fn begin(buf: &'b mut [u8], offset: usize) -> Result<Self, EncodeError> {
        Frame::begin(buf, offset).map(|frame| DataRowWriter { frame })
    }

    /// Appends a cell: `None` is SQL NULL.
    #[inline]
    pub fn cell(&mut self, value: Option<&[u8]>) -> Result<(), EncodeError> {
        match value {
            Some(v) => self.value(v),
            None => self.null(),
        }
    }

    /// Appends a non-NULL cell.
    #[inline]
    pub fn value(&mut self, value: &[u8]) -> Result<(), EncodeError> {
        let dst = self.frame.item(value.len() + 4)?;
        if let Some((len_dst, data_dst)) = dst.split_first_chunk_mut::<4>() {
            // A cell over i32::MAX makes the message too long: `finish` rejects it.
            *len_dst = (value.len() as i32).to_be_bytes();
            copy_short(data_dst, value);
        }
        Ok(())
    }

    /// Appends many cells (`None` is SQL NULL) with one space check: their
    /// total size is summed first, then they are written in one pass. The
    /// fastest way to write cells that are already bytes.
    ///
    /// `cells` is iterated twice (it is cloned for the first pass), and must
    /// yield the same cells both times. If they do not fit, nothing is
    /// appended and `required` covers all of them.
    ///
    /// ```
    /// use postwire_codec::backend::DataRowWriter;
    /// let mut buf = [0u8; 64];
    /// let mut row = DataRowWriter::begin(&mut buf, 0)?;
    /// let cells: [Option<&[u8]>; 3] = [Some(b"1"), None, Some(b"hi")];
    /// row.cells(cells)?;
    /// let n = row.finish()?;
    /// assert_eq!(&buf[..n], b"D\0\0\0\x15\0\x03\0\0\0\x011\xff\xff\xff\xff\0\0\0\x02hi");
    /// # Ok::<(), postwire_codec::EncodeError>(())
    /// ```
    #[inline]
    pub fn cells<'c, I>(&mut self, cells: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = Option<&'c [u8]>>,
        I::IntoIter: Clone,
    {
        let cells = cells.into_iter();
        let (mut total, mut count) = (0usize, 0usize);
        for cell in cells.clone() {
            total = total.saturating_add(cell.map_or(0, <[u8]>::len)).saturating_add(4);
            count += 1;
        }
        if total > self.frame.rest.len() {
            let required = self.frame.end.checked_add(total).ok_or(EncodeError::TooLong)?;
            return Err(EncodeError::BufferTooSmall { required });
        }
        let mut dst = self.frame.rest.get_mut(..total).unwrap_or_default();
        let mut written = 0;
        for cell in cells.take(count) {
            let Some((len_dst, after)) = core::mem::take(&mut dst).split_first_chunk_mut::<4>() else { break };
            dst = match cell {
                None => {
                    *len_dst = (-1i32).to_be_bytes();
                    after
                }
                Some(v) => {
                    // A cell over i32::MAX makes the message too long: `finish` rejects it.
                    *len_dst = (v.len() as i32).to_be_bytes();
                    let Some((data_dst, after)) = after.split_at_mut_checked(v.len()) else { break };
                    copy_short(data_dst, v);
                    after
                }
            };
            written += 1;
        }
        if written != count || !dst.is_empty() {
            // The second pass disagreed with the first: take nothing (the
            // bytes written are scratch, as after any failed call).
            return Err(EncodeError::InvalidValue);
        }
        self.frame.rest = core::mem::take(&mut self.frame.rest).get_mut(total..).unwrap_or_default();
        self.frame.end += total;
        self.frame.written += total;
        self.frame.count += count;
        Ok(())
    }

    /// Appends a NULL cell.
    #[inline]
    pub fn null(&mut self) -> Result<(), EncodeError> {
        self.frame.item(4)?.copy_from_slice(&(-1i32).to_be_bytes());
        Ok(())
    }

    /// Appends a non-NULL cell whose bytes `write` produces straight into the
    /// buffer (a value encoder, say). If they do not fit, `required` is exact:
    /// the sink counts what it could not store.
    #[inline]
    pub fn cell_with<F>(&mut self, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut CellSink<'_>) -> Result<(), EncodeError>,
    {
        let space = self.frame.rest.get_mut(4..).unwrap_or_default();
        let mut sink = CellSink { buf: space, len: 0 };
        write(&mut sink)?;
        let len = sink.len;
        let dst = self.frame.item(len.saturating_add(4))?;
        if let Some(len_dst) = dst.first_chunk_mut::<4>() {
            *len_dst = (len as i32).to_be_bytes();
        }
        Ok(())
    }

    /// Cells written so far.
    #[inline]
    pub fn columns(&self) -> usize {
        self.frame.count
    }

    /// Bytes the message takes so far, header included.
    #[inline]
    pub fn len(&self) -> usize {
        self.frame.written + HEADER_LEN
    }

    /// Whether no cell has been written yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.frame.count == 0
    }

    /// Writes the header and returns the message's total size; advance the
    /// buffer by exactly this much.
    #[inline]
    pub fn finish(self) -> Result<usize, EncodeError> {
        self.frame.finish(DataRow::TAG)
    }
}

/// Where [`DataRowWriter::cell_with`] writes a cell's bytes: the free space of
/// the caller's buffer. Writes that do not fit are dropped but still counted,
/// so the writer can report exactly how much room the cell needed.
#[derive(Debug)]
pub struct CellSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl CellSink<'_> {
    /// Bytes the cell has so far (stored or not).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether everything written so far fitted.
    #[inline]
    pub fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }
}

impl Sink for CellSink<'_> {
    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        // After one miss `len` is past the end, so no later write lands out of place.
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            copy_short(dst, bytes);
        }
        self.len = end;
    }

    #[inline]
    fn put_u8(&mut self, v: u8) {
        if let Some(dst) = self.buf.get_mut(self.len) {
            *dst = v;
        }
        self.len = self.len.saturating_add(1);
    }
}

/// Writes one RowDescription field by field into a caller's buffer.
///
/// Errors follow [`DataRowWriter`]: the writer is unchanged after a failed
/// `field`, and only `finish` reports bytes as written.
#[derive(Debug)]
pub struct RowDescriptionWriter<'b> {
    frame: Frame<'b>,
}

impl<'b> RowDescriptionWriter<'b> {
    /// Starts a RowDescription at `offset` in `buf`, reserving room for its header.
    #[inline]
    pub fn begin(buf: &'b mut [u8], offset: usize) -> Result<Self, EncodeError> {
        Frame::begin(buf, offset).map(|frame| RowDescriptionWriter { frame })
    }

    /// Appends one column description. A NUL in the name is `NulInString`.
    #[inline]
    pub fn field(&mut self, field: &FieldDescription<'_>) -> Result<(), EncodeError> {
        if crate::read::find_nul(field.name.as_bytes()).is_some() {
            return Err(EncodeError::NulInString);
        }
        // Name and NUL, then table OID, column, type OID, size, modifier, format.
        let n = field.name.len().checked_add(1 + 4 + 2 + 4 + 2 + 4 + 2).ok_or(EncodeError::TooLong)?;
        field.write(&mut SliceSink::new(self.frame.item(n)?))
    }

    /// Fields written so far.
    #[inline]
    pub fn columns(&self) -> usize {
        self.frame.count
    }

    /// Writes the header and returns the message's total size.
    #[inline]
    pub fn finish(self) -> Result<usize, EncodeError> {
        self.frame.finish(RowDescription::TAG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        backend::{BackendMessage, row_description::tests::ID, row_description::tests::ID_WIRE},
        frame::{FrameLimits, Framed},
        write::Encode,
    };

    #[test]
    fn data_row_matches_encode() {
        let cells: [Option<&[u8]>; 4] = [Some(b"1"), None, Some(b""), Some(b"abc")];
        let mut expected = [0u8; 64];
        let n = DataRow::new(&cells).encode(&mut expected).unwrap();

        let mut buf = [0xEEu8; 64];
        let mut w = DataRowWriter::begin(&mut buf, 3).unwrap();
        for c in cells {
            w.cell(c).unwrap();
        }
        assert_eq!((w.columns(), w.len()), (4, n));
        assert_eq!(w.finish(), Ok(n));
        assert_eq!(&buf[3..3 + n], &expected[..n]);
        assert_eq!(buf[..3], [0xEE; 3]);
    }

    #[test]
    fn data_row_overflow_reports_required_and_keeps_state() {
        let mut buf = [0u8; 16];
        assert_eq!(DataRowWriter::begin(&mut buf, 10).err(), Some(EncodeError::BufferTooSmall { required: 17 }));
        let mut w = DataRowWriter::begin(&mut buf, 0).unwrap();
        w.value(b"abcd").unwrap(); // 7 + 8 = 15
        assert_eq!(w.value(b"x"), Err(EncodeError::BufferTooSmall { required: 20 }));
        assert_eq!(w.null(), Err(EncodeError::BufferTooSmall { required: 19 }));
        let r = w.cell_with(|s| {
            s.put_slice(b"0123456789");
            s.put_u8(1);
            Ok(())
        });
        assert_eq!(r, Err(EncodeError::BufferTooSmall { required: 30 }));
        assert_eq!(w.cell_with(|_| Err(EncodeError::InvalidValue)), Err(EncodeError::InvalidValue));
        assert_eq!(w.columns(), 1);
        let n = w.finish().unwrap();
        let Ok(Framed::Complete { item: BackendMessage::DataRow(row), .. }) =
            BackendMessage::parse(&buf[..n], &FrameLimits::DEFAULT)
        else {
            panic!()
        };
        assert!(row.cells().eq([Ok(Some(&b"abcd"[..]))]));
    }

    #[test]
    fn cells_write_a_row_in_one_pass() {
        let cells: [Option<&[u8]>; 7] =
            [Some(b"1"), None, Some(b""), Some(b"abcd"), Some(&[7; 9]), Some(&[8; 20]), Some(&[9; 40])];
        let mut expected = [0u8; 160];
        let n = DataRow::new(&cells).encode(&mut expected).unwrap();
        for split in 0..=cells.len() {
            let mut buf = [0xEEu8; 160];
            let mut w = DataRowWriter::begin(&mut buf, 2).unwrap();
            w.cells(cells[..split].iter().copied()).unwrap();
            for c in &cells[split..] {
                w.cell(*c).unwrap();
            }
            assert_eq!(w.finish(), Ok(n));
            assert_eq!(&buf[2..2 + n], &expected[..n], "split {split}");
        }
        // Too small: nothing appended, `required` covers every cell.
        let mut buf = [0u8; 40];
        let mut w = DataRowWriter::begin(&mut buf, 0).unwrap();
        w.value(b"x").unwrap(); // 7 + 5
        assert_eq!(w.cells(cells), Err(EncodeError::BufferTooSmall { required: 12 + n - 7 }));
        w.cells([None, Some(&b"yz"[..])]).unwrap();
        let n = w.finish().unwrap();
        assert_eq!(&buf[..n], b"D\0\0\0\x15\0\x03\0\0\0\x01x\xff\xff\xff\xff\0\0\0\x02yz");
    }

    /// An iterator whose clone yields different cells than the original.
    #[derive(Clone)]
    struct Fickle(u8, bool);

    impl Iterator for Fickle {
        type Item = Option<&'static [u8]>;
        fn next(&mut self) -> Option<Self::Item> {
            self.0 = self.0.checked_sub(1)?;
            Some(Some(if self.1 { b"long cell" } else { b"x" }))
        }
    }

    #[test]
    fn cells_that_change_between_passes_are_refused() {
        let mut buf = [0u8; 64];
        let mut w = DataRowWriter::begin(&mut buf, 0).unwrap();
        w.value(b"ok").unwrap();
        // The clone (the sizing pass) yields short cells, the original long
        // ones: refused, writer unchanged. And the other way round.
        let it = Fickle(2, true);
        let mut first = it.clone();
        first.1 = false;
        let mixed = Mixed { sizing: Some(first), writing: it };
        assert_eq!(w.cells(mixed), Err(EncodeError::InvalidValue));
        let mixed = Mixed { sizing: Some(Fickle(2, true)), writing: Fickle(2, false) };
        assert_eq!(w.cells(mixed), Err(EncodeError::InvalidValue));
        let fewer = Mixed { sizing: Some(Fickle(2, false)), writing: Fickle(1, false) };
        assert_eq!(w.cells(fewer), Err(EncodeError::InvalidValue));
        assert_eq!((w.columns(), w.len()), (1, 13));
        w.null().unwrap();
        let n = w.finish().unwrap();
        assert_eq!(&buf[..n], b"D\0\0\0\x10\0\x02\0\0\0\x02ok\xff\xff\xff\xff");
    }

    /// Yields `writing`'s items, but its clone yields `sizing`'s.
    struct Mixed {
        sizing: Option<Fickle>,
        writing: Fickle,
    }

    impl Clone for Mixed {
        fn clone(&self) -> Self {
            let sizing = self.sizing.clone().unwrap_or_else(|| self.writing.clone());
            Mixed { sizing: None, writing: sizing }
        }
    }

    impl Iterator for Mixed {
        type Item = Option<&'static [u8]>;
        fn next(&mut self) -> Option<Self::Item> {
            self.writing.next()
        }
    }

    #[test]
    fn cell_with_writes_in_place() {
        let mut buf = [0u8; 32];
        let mut w = DataRowWriter::begin(&mut buf, 0).unwrap();
        w.cell_with(|s| {
            s.put_i64(-2);
            Ok(())
        })
        .unwrap();
        w.cell_with(|_| Ok(())).unwrap();
        let n = w.finish().unwrap();
        assert_eq!(&buf[..n], b"D\0\0\0\x16\0\x02\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xfe\0\0\0\0");
    }

    #[test]
    fn column_limit() {
        let mut buf = [0u8; 4 * 32_768 + 16];
        let mut w = DataRowWriter::begin(&mut buf, 0).unwrap();
        for _ in 0..32_767 {
            w.null().unwrap();
        }
        assert_eq!(w.finish(), Ok(7 + 4 * 32_767));
        let mut w = DataRowWriter::begin(&mut buf, 0).unwrap();
        for _ in 0..32_768 {
            w.null().unwrap();
        }
        assert_eq!(w.finish(), Err(EncodeError::TooManyItems));
    }

    #[test]
    fn row_description_writer_matches_golden() {
        let mut buf = [0u8; 64];
        let mut w = RowDescriptionWriter::begin(&mut buf, 0).unwrap();
        w.field(&ID).unwrap();
        assert_eq!(w.field(&FieldDescription { name: "a\0", ..ID }), Err(EncodeError::NulInString));
        assert_eq!(w.columns(), 1);
        let n = w.finish().unwrap();
        assert_eq!(&buf[..7], b"T\0\0\0\x1b\0\x01");
        assert_eq!(&buf[7..n], ID_WIRE);

        let mut small = [0u8; 20];
        let mut w = RowDescriptionWriter::begin(&mut small, 0).unwrap();
        assert_eq!(w.field(&ID), Err(EncodeError::BufferTooSmall { required: 28 }));
    }
}
