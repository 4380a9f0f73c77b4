//! Result columns and values, and the typed row encoder that writes values
//! straight into the connection's output buffer.

use postwire_codec::backend::{DataRowWriter, FieldDescription};
use postwire_codec::value::{Date, Interval, Json, Jsonb, Numeric, Time, Timestamp, TimestampTz, ToValue, Uuid};
use postwire_codec::{EncodeError, Format, Oid, oid};

/// One column of a result: its name and type, as RowDescription reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The type OID (see [`postwire_codec::oid`]).
    pub type_oid: Oid,
    /// The type's size (`pg_type.typlen`): -1 for variable-length types.
    pub type_size: i16,
    /// The type modifier (`atttypmod`): -1 for none.
    pub type_modifier: i32,
    /// The table the column comes from (0 for none).
    pub table_oid: Oid,
    /// The column's attribute number in that table (0 for none).
    pub column_id: i16,
}

impl Column {
    /// A computed column of type `type_oid` (size looked up for the common types).
    pub fn new(name: impl Into<String>, type_oid: Oid) -> Self {
        Column {
            name: name.into(),
            type_oid,
            type_size: oid::type_size(type_oid),
            type_modifier: -1,
            table_oid: 0,
            column_id: 0,
        }
    }

    pub(crate) fn field(&self, format: Format) -> FieldDescription<'_> {
        FieldDescription {
            name: &self.name,
            table_oid: self.table_oid,
            column_id: self.column_id,
            type_oid: self.type_oid,
            type_size: self.type_size,
            type_modifier: self.type_modifier,
            format,
        }
    }
}

/// A value of a result row, owned: what a handler yields when rows come from
/// a stream ([`Rows`](crate::Rows)). The driver encodes it in the format the
/// client asked for (text or binary) straight into the output buffer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int2`.
    Int2(i16),
    /// `int4`.
    Int4(i32),
    /// `int8`.
    Int8(i64),
    /// `float4`.
    Float4(f32),
    /// `float8`.
    Float8(f64),
    /// `oid`.
    Oid(u32),
    /// `text` (and `varchar`, `name`…).
    Text(String),
    /// `bytea`.
    Bytea(Vec<u8>),
    /// `numeric`, as its decimal text (`"12.50"`, `"NaN"`).
    Numeric(String),
    /// `json`.
    Json(String),
    /// `jsonb`.
    Jsonb(String),
    /// `date`.
    Date(Date),
    /// `time`.
    Time(Time),
    /// `timestamp`.
    Timestamp(Timestamp),
    /// `timestamptz`.
    TimestampTz(TimestampTz),
    /// `interval`.
    Interval(Interval),
    /// `uuid`.
    Uuid(Uuid),
}

impl Value {
    /// The type OID this value is sent as; `unknown` (705) for NULL.
    pub fn type_oid(&self) -> Oid {
        match self {
            Value::Null => oid::UNKNOWN,
            Value::Bool(_) => oid::BOOL,
            Value::Int2(_) => oid::INT2,
            Value::Int4(_) => oid::INT4,
            Value::Int8(_) => oid::INT8,
            Value::Float4(_) => oid::FLOAT4,
            Value::Float8(_) => oid::FLOAT8,
            Value::Oid(_) => oid::OID,
            Value::Text(_) => oid::TEXT,
            Value::Bytea(_) => oid::BYTEA,
            Value::Numeric(_) => oid::NUMERIC,
            Value::Json(_) => oid::JSON,
            Value::Jsonb(_) => oid::JSONB,
            Value::Date(_) => oid::DATE,
            Value::Time(_) => oid::TIME,
            Value::Timestamp(_) => oid::TIMESTAMP,
            Value::TimestampTz(_) => oid::TIMESTAMPTZ,
            Value::Interval(_) => oid::INTERVAL,
            Value::Uuid(_) => oid::UUID,
        }
    }

    /// An upper bound of its text form's length, for buffer planning.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn text_len_hint(&self) -> usize {
        match self {
            Value::Text(s) | Value::Numeric(s) | Value::Json(s) | Value::Jsonb(s) => s.len(),
            Value::Bytea(b) => 2 + 2 * b.len(),
            _ => 64,
        }
    }

    /// Writes the value in `format` (text: what a DataRow or a COPY carries);
    /// NULL has no encoding and is `InvalidValue`.
    ///
    /// ```
    /// use postwire_server::{Value, codec::Format};
    /// let mut text = Vec::new();
    /// Value::Float8(2.5).encode(Format::Text, &mut text).unwrap();
    /// assert_eq!(text, b"2.5");
    /// ```
    pub fn encode<S: postwire_codec::Sink>(&self, format: Format, out: &mut S) -> Result<(), EncodeError> {
        match self {
            Value::Null => Err(EncodeError::InvalidValue),
            Value::Bool(v) => v.encode(format, out),
            Value::Int2(v) => v.encode(format, out),
            Value::Int4(v) => v.encode(format, out),
            Value::Int8(v) => v.encode(format, out),
            Value::Float4(v) => v.encode(format, out),
            Value::Float8(v) => v.encode(format, out),
            Value::Oid(v) => v.encode(format, out),
            Value::Text(v) => v.as_str().encode(format, out),
            Value::Bytea(v) => v.as_slice().encode(format, out),
            Value::Numeric(v) => Numeric::parse(v).map_err(|_| EncodeError::InvalidValue)?.encode(format, out),
            Value::Json(v) => Json(v).encode(format, out),
            Value::Jsonb(v) => Jsonb(v).encode(format, out),
            Value::Date(v) => v.encode(format, out),
            Value::Time(v) => v.encode(format, out),
            Value::Timestamp(v) => v.encode(format, out),
            Value::TimestampTz(v) => v.encode(format, out),
            Value::Interval(v) => v.encode(format, out),
            Value::Uuid(v) => v.encode(format, out),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v.into())
            }
        }
    )*};
}

value_from!(
    bool => Bool, i16 => Int2, i32 => Int4, i64 => Int8, f32 => Float4, f64 => Float8, u32 => Oid,
    String => Text, &str => Text, Vec<u8> => Bytea, &[u8] => Bytea, Date => Date, Time => Time,
    Timestamp => Timestamp, TimestampTz => TimestampTz, Interval => Interval, Uuid => Uuid,
);

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Writes one DataRow cell by cell into the output buffer, each value in its
/// column's format (text unless the client asked for binary).
///
/// ```
/// # async fn f(out: &mut postwire_server::QueryResponse<'_>) -> Result<(), postwire_server::PgError> {
/// out.row(|row| {
///     row.value(&42i32)?;
///     row.value("forty-two")?;
///     row.null()
/// })
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RowWriter<'w, 'b> {
    pub(crate) row: &'w mut DataRowWriter<'b>,
    pub(crate) formats: &'w [Format],
}

impl RowWriter<'_, '_> {
    fn next_format(&self) -> Format {
        let i = self.row.columns();
        match self.formats {
            [] => Format::Text,
            [one] => *one,
            many => many.get(i).copied().unwrap_or(Format::Text),
        }
    }

    /// Appends a value, encoded by its [`ToValue`] impl in the column's format.
    pub fn value<T: ToValue + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let format = self.next_format();
        self.row.cell_with(|sink| value.encode(format, sink))
    }

    /// Appends a value or NULL.
    pub fn option<T: ToValue>(&mut self, value: Option<&T>) -> Result<(), EncodeError> {
        match value {
            Some(v) => self.value(v),
            None => self.null(),
        }
    }

    /// Appends an owned [`Value`] (NULL for [`Value::Null`]).
    pub fn dynamic(&mut self, value: &Value) -> Result<(), EncodeError> {
        if let Value::Null = value {
            return self.null();
        }
        let format = self.next_format();
        self.row.cell_with(|sink| value.encode(format, sink))
    }

    /// Appends a NULL.
    pub fn null(&mut self) -> Result<(), EncodeError> {
        self.row.null()
    }

    /// Appends bytes already encoded in the column's format.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.row.value(bytes)
    }

    /// The format of the next column.
    pub fn format(&self) -> Format {
        self.next_format()
    }
}

#[cfg(feature = "postgres-types")]
impl RowWriter<'_, '_> {
    /// Appends a value through its `postgres-types` [`ToSql`](postgres_types::ToSql)
    /// impl, as type `ty`. `ToSql` writes only the binary format: in a
    /// text-format column (every simple-query column) this fails with
    /// `InvalidValue`; use [`value`](Self::value) there.
    pub fn sql(
        &mut self,
        value: &(dyn postgres_types::ToSql + Sync),
        ty: &postgres_types::Type,
    ) -> Result<(), EncodeError> {
        if self.next_format() != Format::Binary {
            return Err(EncodeError::InvalidValue);
        }
        let mut buf = bytes::BytesMut::new();
        match value.to_sql_checked(ty, &mut buf) {
            Ok(postgres_types::IsNull::Yes) => self.null(),
            Ok(postgres_types::IsNull::No) => self.raw(&buf),
            Err(_) => Err(EncodeError::InvalidValue),
        }
    }
}

#[cfg(all(test, feature = "postgres-types"))]
mod sql_tests {
    use super::*;
    use postwire_codec::backend::DataRowWriter;

    #[test]
    fn to_sql_values_fill_binary_columns_only() {
        let mut buf = [0u8; 64];
        let mut row = DataRowWriter::begin(&mut buf, 0).unwrap();
        let mut writer = RowWriter { row: &mut row, formats: &[Format::Binary, Format::Binary, Format::Text] };
        writer.sql(&7i32, &postgres_types::Type::INT4).unwrap();
        writer.sql(&None::<i32>, &postgres_types::Type::INT4).unwrap();
        assert_eq!(writer.sql(&"x", &postgres_types::Type::TEXT), Err(EncodeError::InvalidValue));
        writer.value("x").unwrap();
        let n = row.finish().unwrap();
        assert_eq!(&buf[..n], b"D\0\0\0\x17\0\x03\0\0\0\x04\0\0\0\x07\xff\xff\xff\xff\0\0\0\x01x");
    }
}
