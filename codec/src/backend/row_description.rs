//! RowDescription ('T').

use super::list::{List, WireItem};
use crate::{
    error::{DecodeError, EncodeError},
    format::{Format, Oid},
    read::Reader,
    write::{Encode, Sink},
};

/// One column of a [`RowDescription`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FieldDescription<'a> {
    /// The column name.
    pub name: &'a str,
    /// The source table's OID, or 0 if the column is not a table column.
    pub table_oid: Oid,
    /// The column's attribute number in that table, or 0.
    pub column_id: i16,
    /// The data type's OID.
    pub type_oid: Oid,
    /// The type's size (`pg_type.typlen`); negative for variable-width types.
    pub type_size: i16,
    /// The type modifier (`pg_attribute.atttypmod`), type-specific; -1 if none.
    pub type_modifier: i32,
    /// The format the values will come in (always text in a Describe reply).
    pub format: Format,
}

impl<'a> WireItem<'a> for FieldDescription<'a> {
    #[inline]
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(FieldDescription {
            name: r.cstr()?,
            table_oid: r.u32()?,
            column_id: r.i16()?,
            type_oid: r.u32()?,
            type_size: r.i16()?,
            type_modifier: r.i32()?,
            format: Format::from_code(r.i16()?)?,
        })
    }

    #[inline]
    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.name.as_bytes())?;
        sink.put_u32(self.table_oid);
        sink.put_i16(self.column_id);
        sink.put_u32(self.type_oid);
        sink.put_i16(self.type_size);
        sink.put_i32(self.type_modifier);
        sink.put_i16(self.format.code());
        Ok(())
    }
}

/// RowDescription ('T'): the columns of the rows that follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RowDescription<'a> {
    /// The columns, in order (at most `i16::MAX`).
    pub fields: List<'a, FieldDescription<'a>>,
}

impl<'a> RowDescription<'a> {
    /// The type byte.
    pub const TAG: u8 = b'T';

    /// A description of the given columns, for encoding.
    pub const fn new(fields: &'a [FieldDescription<'a>]) -> Self {
        RowDescription { fields: List::from_slice(fields) }
    }

    /// Decodes a body, checking every field, so iterating `fields` cannot fail.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let count = r.count_i16()?;
        let fields = List::read_counted(&mut r, count)?;
        r.finish()?;
        Ok(RowDescription { fields })
    }
}

impl Encode for RowDescription<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_count_i16(self.fields.len())?;
        self.fields.write_items(sink)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    pub(crate) const ID: FieldDescription<'static> = FieldDescription {
        name: "id",
        table_oid: 16384,
        column_id: 1,
        type_oid: 23,
        type_size: 4,
        type_modifier: -1,
        format: Format::Text,
    };

    pub(crate) const ID_WIRE: &[u8] = b"id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0";

    #[test]
    fn golden() {
        let fields = [ID, FieldDescription { name: "?column?", table_oid: 0, column_id: 0, type_size: -1, ..ID }];
        let mut wire = [0u8; 64];
        let head = b"T\0\0\0\x36\0\x02";
        let second = b"?column?\0\0\0\0\0\0\0\0\0\0\x17\xff\xff\xff\xff\xff\xff\0\0";
        let len = head.len() + ID_WIRE.len() + second.len();
        wire[..7].copy_from_slice(head);
        wire[7..7 + ID_WIRE.len()].copy_from_slice(ID_WIRE);
        wire[7 + ID_WIRE.len()..len].copy_from_slice(second);
        check_golden(&wire[..len], &BackendMessage::RowDescription(RowDescription::new(&fields)), Tail::Strict);
        check_golden(b"T\0\0\0\x06\0\0", &BackendMessage::RowDescription(RowDescription::new(&[])), Tail::Strict);
    }

    #[test]
    fn rejects_bad_fields() {
        assert_eq!(decode(b'T', b"\xff\xff"), Err(DecodeError::InvalidValue));
        // Format code 2.
        let bad = b"\0\x01id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\x02";
        assert_eq!(decode(b'T', bad), Err(DecodeError::InvalidValue));
        // Count says two, one is there.
        let short = b"\0\x02id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0";
        assert_eq!(decode(b'T', short), Err(DecodeError::MissingNul));
    }
}
