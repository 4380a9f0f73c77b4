//! RowDescription ('T').

use super::list::{LazyList, WireItem};
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

impl<'a> FieldDescription<'a> {
    /// A computed column (not a table's) of a built-in type: no table, no
    /// type modifier, the type's own size, text format. Change the fields
    /// that differ.
    ///
    /// ```
    /// use postwire_codec::{Format, backend::FieldDescription, oid};
    /// const COLUMNS: [FieldDescription; 2] = [
    ///     FieldDescription::new("id", oid::INT4),
    ///     FieldDescription { format: Format::Binary, ..FieldDescription::new("name", oid::TEXT) },
    /// ];
    /// assert_eq!((COLUMNS[0].type_size, COLUMNS[1].type_size), (4, -1));
    /// ```
    pub const fn new(name: &'a str, type_oid: Oid) -> Self {
        FieldDescription {
            name,
            table_oid: 0,
            column_id: 0,
            type_oid,
            type_size: crate::oid::type_size(type_oid),
            type_modifier: -1,
            format: Format::Text,
        }
    }
}

impl<'a> WireItem<'a> for FieldDescription<'a> {
    #[inline]
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let name = r.cstr()?;
        // The fixed part in one bounds check.
        let [t0, t1, t2, t3, c0, c1, o0, o1, o2, o3, s0, s1, m0, m1, m2, m3, f0, f1] = r.array::<18>()?;
        Ok(FieldDescription {
            name,
            table_oid: u32::from_be_bytes([t0, t1, t2, t3]),
            column_id: i16::from_be_bytes([c0, c1]),
            type_oid: u32::from_be_bytes([o0, o1, o2, o3]),
            type_size: i16::from_be_bytes([s0, s1]),
            type_modifier: i32::from_be_bytes([m0, m1, m2, m3]),
            format: Format::from_code(i16::from_be_bytes([f0, f1]))?,
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
///
/// Decoding reads only the field count; iterating `fields` checks each field
/// as it reads it (its name must be UTF-8, its format code 0 or 1), yielding
/// an `Err` for the first malformed one. [`RowDescription::validate`] checks
/// them all up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RowDescription<'a> {
    /// The columns, in order (at most `i16::MAX`).
    pub fields: LazyList<'a, FieldDescription<'a>>,
}

impl<'a> RowDescription<'a> {
    /// The type byte.
    pub const TAG: u8 = b'T';

    /// A description of the given columns, for encoding.
    pub const fn new(fields: &'a [FieldDescription<'a>]) -> Self {
        RowDescription { fields: LazyList::from_slice(fields) }
    }

    /// Decodes a body: reads the field count (a negative one is
    /// [`DecodeError::InvalidValue`]); the fields are checked as they are
    /// iterated, or by [`RowDescription::validate`].
    #[inline]
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let count = r.count_i16()?;
        Ok(RowDescription { fields: LazyList::from_wire(count, r.rest()) })
    }

    /// Checks every field: `Ok` if iterating `fields` yields no error.
    #[inline]
    pub fn validate(&self) -> Result<(), DecodeError> {
        self.fields.validate()
    }

    /// Checks every field once and returns the description marked as
    /// checked (see [`DataRow::checked`](super::DataRow::checked)).
    #[inline]
    pub fn checked(self) -> Result<Self, DecodeError> {
        Ok(RowDescription { fields: self.fields.checked()? })
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
        let fields_of = |body: &'static [u8]| {
            let Ok(BackendMessage::RowDescription(d)) = decode(b'T', body) else { panic!("count decodes") };
            (d.fields.iter().map(|f| f.map(|f| f.name)).collect::<std::vec::Vec<_>>(), d.validate())
        };
        // Format code 2.
        let bad = b"\0\x01id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\x02";
        assert_eq!(fields_of(bad), (std::vec![Err(DecodeError::InvalidValue)], Err(DecodeError::InvalidValue)));
        // Count says two, one is there.
        let short = b"\0\x02id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0";
        assert_eq!(fields_of(short), (std::vec![Ok("id"), Err(DecodeError::MissingNul)], Err(DecodeError::MissingNul)));
        // A name that is not UTF-8, after a good field.
        let utf8 = b"\0\x02id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0\xc3\0";
        assert_eq!(
            fields_of(utf8),
            (std::vec![Ok("id"), Err(DecodeError::InvalidUtf8)], Err(DecodeError::InvalidUtf8))
        );
        // A field cut inside its fixed part.
        let cut = b"\0\x01id\0\0\0\x40\0\0\x01\0\0";
        assert_eq!(fields_of(cut), (std::vec![Err(DecodeError::UnexpectedEnd)], Err(DecodeError::UnexpectedEnd)));
        // Count says none, a field follows.
        let extra = b"\0\0id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0";
        assert_eq!(fields_of(extra), (std::vec![Err(DecodeError::TrailingBytes)], Err(DecodeError::TrailingBytes)));
    }

    #[test]
    fn non_ascii_names_decode() {
        let body = b"\0\x01h\xc3\xa9llo \xf0\x9f\x90\x98\0\0\0\0\0\0\0\0\0\0\x19\xff\xff\xff\xff\xff\xff\0\0";
        let Ok(BackendMessage::RowDescription(d)) = decode(b'T', body) else { panic!() };
        assert_eq!(
            d.fields.iter().next(),
            Some(Ok(FieldDescription {
                name: "h\u{e9}llo \u{1f418}",
                table_oid: 0,
                column_id: 0,
                type_oid: 25,
                type_size: -1,
                type_modifier: -1,
                format: Format::Text,
            }))
        );
    }
}
