//! PostgreSQL types on SQLite storage: declared column types to OIDs,
//! parameters (text or binary) to SQLite values, and SQLite values back to
//! typed [`Value`]s for the column's OID.

use postwire_server::codec::value::{
    Bytea, Date, FromValue, Interval, Json, Jsonb, Numeric, Time, Timestamp, TimestampTz, ToValue, Uuid,
};
use postwire_server::codec::{Format, Oid, SqlState, oid};
use postwire_server::{Column, PgError, Value};
use rusqlite::types::{Value as SqlValue, ValueRef};

/// The PostgreSQL type (OID, type modifier) for an SQLite declared column
/// type such as `VARCHAR(20)` or `timestamp with time zone`.
pub(super) fn type_of_decltype(decltype: &str) -> (Oid, i32) {
    let upper = decltype.trim().to_ascii_uppercase();
    let (base, modifier) = match upper.split_once('(') {
        Some((base, rest)) => {
            let first = rest.trim_end_matches(')').split(',').next().unwrap_or("");
            (base.trim(), first.trim().parse::<i32>().ok())
        }
        None => (upper.as_str(), None),
    };
    let oid = oid_of_type_name(base).unwrap_or(oid::TEXT);
    let typmod = match (oid, modifier) {
        (oid::VARCHAR | oid::BPCHAR, Some(n)) => n + 4,
        _ => -1,
    };
    (oid, typmod)
}

/// The OID of a PostgreSQL (or SQLite) type name, upper case, without
/// modifiers; `None` for names this server does not know.
pub(super) fn oid_of_type_name(name: &str) -> Option<Oid> {
    let name = name.trim().trim_start_matches("PG_CATALOG.");
    Some(match name {
        "BOOL" | "BOOLEAN" => oid::BOOL,
        "SMALLINT" | "INT2" | "TINYINT" | "SMALLSERIAL" | "SERIAL2" => oid::INT2,
        "INTEGER" | "INT" | "INT4" | "SERIAL" | "SERIAL4" | "MEDIUMINT" => oid::INT4,
        "BIGINT" | "INT8" | "BIGSERIAL" | "SERIAL8" => oid::INT8,
        "REAL" | "FLOAT4" => oid::FLOAT4,
        "DOUBLE PRECISION" | "DOUBLE" | "FLOAT8" | "FLOAT" => oid::FLOAT8,
        "NUMERIC" | "DECIMAL" => oid::NUMERIC,
        "TEXT" | "CLOB" | "STRING" => oid::TEXT,
        "VARCHAR" | "CHARACTER VARYING" | "NVARCHAR" => oid::VARCHAR,
        "CHAR" | "CHARACTER" | "BPCHAR" | "NCHAR" => oid::BPCHAR,
        "NAME" => oid::NAME,
        "BYTEA" | "BLOB" => oid::BYTEA,
        "DATE" => oid::DATE,
        "TIME" | "TIME WITHOUT TIME ZONE" => oid::TIME,
        "TIMESTAMP" | "DATETIME" | "TIMESTAMP WITHOUT TIME ZONE" => oid::TIMESTAMP,
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => oid::TIMESTAMPTZ,
        "INTERVAL" => oid::INTERVAL,
        "UUID" => oid::UUID,
        "JSON" => oid::JSON,
        "JSONB" => oid::JSONB,
        "OID" => oid::OID,
        _ => return None,
    })
}

/// A result column of type `type_oid` with modifier `typmod`.
pub(super) fn column(name: &str, type_oid: Oid, typmod: i32) -> Column {
    let mut column = Column::new(name, type_oid);
    column.type_modifier = typmod;
    column
}

/// The text form of a value encoded by the codec.
fn text_of<T: ToValue + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    match value.encode_text(&mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn invalid(type_name: &str, text: &str) -> PgError {
    PgError::new(
        SqlState::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {type_name}: \"{text}\""),
    )
}

fn decode<'a, T: FromValue<'a>>(format: Format, bytes: &'a [u8], type_name: &str) -> Result<T, PgError> {
    T::decode(format, bytes).map_err(|_| invalid(type_name, &String::from_utf8_lossy(bytes)))
}

/// A parameter (or COPY field) of type `type_oid`, sent in `format`, as the
/// SQLite value to bind: integers and floats natively, booleans as 0/1,
/// bytea as a blob, every other type as its PostgreSQL text form (which is
/// what SQLite's date and JSON functions read).
pub(super) fn sqlite_value(type_oid: Oid, format: Format, bytes: &[u8]) -> Result<SqlValue, PgError> {
    if matches!(type_oid, oid::TIMESTAMP | oid::TIMESTAMPTZ)
        && format == Format::Text
        && Date::decode_text(bytes.trim_ascii()).is_ok()
    {
        // A date alone means its midnight, as in PostgreSQL.
        let mut midnight = bytes.trim_ascii().to_vec();
        midnight.extend_from_slice(b" 00:00:00");
        return sqlite_value(type_oid, format, &midnight);
    }
    Ok(match type_oid {
        oid::BOOL => SqlValue::Integer(decode::<bool>(format, bytes, "boolean")?.into()),
        oid::INT2 => SqlValue::Integer(decode::<i16>(format, bytes, "smallint")?.into()),
        oid::INT4 => SqlValue::Integer(decode::<i32>(format, bytes, "integer")?.into()),
        oid::INT8 => SqlValue::Integer(decode::<i64>(format, bytes, "bigint")?),
        oid::OID => SqlValue::Integer(decode::<u32>(format, bytes, "oid")?.into()),
        oid::FLOAT4 => SqlValue::Real(decode::<f32>(format, bytes, "real")?.into()),
        oid::FLOAT8 => SqlValue::Real(decode::<f64>(format, bytes, "double precision")?),
        oid::NUMERIC => {
            let text = text_of(&decode::<Numeric<'_>>(format, bytes, "numeric")?);
            // Exact integers stay integers; the rest is SQLite's REAL, as a
            // NUMERIC column would store it anyway.
            match text.parse::<i64>() {
                Ok(n) => SqlValue::Integer(n),
                Err(_) => text.parse::<f64>().map(SqlValue::Real).unwrap_or(SqlValue::Text(text)),
            }
        }
        oid::BYTEA => {
            let bytea = decode::<Bytea<'_>>(format, bytes, "bytea")?;
            SqlValue::Blob(bytea.as_slice().map_or_else(|| bytea.iter().collect(), <[u8]>::to_vec))
        }
        oid::DATE => SqlValue::Text(text_of(&decode::<Date>(format, bytes, "date")?)),
        oid::TIME => SqlValue::Text(text_of(&decode::<Time>(format, bytes, "time without time zone")?)),
        oid::TIMESTAMP => SqlValue::Text(text_of(&decode::<Timestamp>(format, bytes, "timestamp without time zone")?)),
        oid::TIMESTAMPTZ => {
            let mut text = text_of(&decode::<TimestampTz>(format, bytes, "timestamp with time zone")?);
            // SQLite's date functions want the offset's minutes too.
            if text.len() > 3 && text.as_bytes()[text.len() - 3] != b':' {
                text.push_str(":00");
            }
            SqlValue::Text(text)
        }
        oid::INTERVAL => SqlValue::Text(text_of(&decode::<Interval>(format, bytes, "interval")?)),
        oid::UUID => SqlValue::Text(text_of(&decode::<Uuid>(format, bytes, "uuid")?)),
        oid::JSON => SqlValue::Text(decode::<Json<'_>>(format, bytes, "json")?.0.to_owned()),
        oid::JSONB => SqlValue::Text(decode::<Jsonb<'_>>(format, bytes, "jsonb")?.0.to_owned()),
        _ => SqlValue::Text(decode::<&str>(format, bytes, "text")?.to_owned()),
    })
}

fn out_of_range(type_name: &str) -> PgError {
    PgError::new(SqlState::NUMERIC_VALUE_OUT_OF_RANGE, format!("{type_name} out of range"))
}

/// An SQLite integer, real or text as an `i64` (reals only when integral).
fn integer(value: ValueRef<'_>, type_name: &str) -> Result<i64, PgError> {
    match value {
        ValueRef::Integer(n) => Ok(n),
        ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        ValueRef::Real(_) => Err(PgError::new(
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {type_name}"),
        )),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let text = String::from_utf8_lossy(t);
            text.trim().parse().map_err(|_| invalid(type_name, &text))
        }
        ValueRef::Null => Ok(0),
    }
}

fn float(value: ValueRef<'_>, type_name: &str) -> Result<f64, PgError> {
    match value {
        ValueRef::Integer(n) => Ok(n as f64),
        ValueRef::Real(f) => Ok(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => decode::<f64>(Format::Text, t, type_name),
        ValueRef::Null => Ok(0.0),
    }
}

/// The text of an SQLite value: integers and reals printed, blobs as UTF-8.
pub(super) fn text_value(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => String::new(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(f) => text_of(&f),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

fn parsed<'a, T: FromValue<'a>>(text: &'a [u8], type_name: &str) -> Result<T, PgError> {
    T::decode_text(text).map_err(|_| invalid(type_name, &String::from_utf8_lossy(text)))
}

/// An SQLite value as the [`Value`] of a column of type `type_oid`: the
/// variant matches the OID exactly, since binary results are encoded by it.
pub(super) fn pg_value(value: ValueRef<'_>, type_oid: Oid) -> Result<Value, PgError> {
    if let ValueRef::Null = value {
        return Ok(Value::Null);
    }
    let text = || text_value(value);
    Ok(match type_oid {
        oid::BOOL => match value {
            ValueRef::Integer(n) => Value::Bool(n != 0),
            ValueRef::Real(f) => Value::Bool(f != 0.0),
            ValueRef::Text(t) | ValueRef::Blob(t) => Value::Bool(parsed(t, "boolean")?),
            ValueRef::Null => Value::Null,
        },
        oid::INT2 => Value::Int2(integer(value, "smallint")?.try_into().map_err(|_| out_of_range("smallint"))?),
        oid::INT4 => Value::Int4(integer(value, "integer")?.try_into().map_err(|_| out_of_range("integer"))?),
        oid::INT8 => Value::Int8(integer(value, "bigint")?),
        oid::OID => Value::Oid(integer(value, "oid")?.try_into().map_err(|_| out_of_range("OID"))?),
        oid::FLOAT4 => Value::Float4(float(value, "real")? as f32),
        oid::FLOAT8 => Value::Float8(float(value, "double precision")?),
        oid::NUMERIC => {
            let text = text();
            Numeric::parse(&text).map_err(|_| invalid("numeric", &text))?;
            Value::Numeric(text)
        }
        oid::BYTEA => match value {
            ValueRef::Blob(b) => Value::Bytea(b.to_vec()),
            // A bytea literal stored as text (`'\x0102'`): its bytes.
            ValueRef::Text(t) => match Bytea::decode_text(t) {
                Ok(bytea) => Value::Bytea(bytea.iter().collect()),
                Err(_) => Value::Bytea(t.to_vec()),
            },
            _ => Value::Bytea(text().into_bytes()),
        },
        oid::DATE => Value::Date(parsed(text().as_bytes(), "date")?),
        oid::TIME => Value::Time(parsed(text().as_bytes(), "time without time zone")?),
        oid::TIMESTAMP => Value::Timestamp(parsed(text().as_bytes(), "timestamp without time zone")?),
        oid::TIMESTAMPTZ => Value::TimestampTz(parsed(text().as_bytes(), "timestamp with time zone")?),
        oid::INTERVAL => Value::Interval(parsed(text().as_bytes(), "interval")?),
        oid::UUID => Value::Uuid(parsed(text().as_bytes(), "uuid")?),
        oid::JSON => Value::Json(text()),
        oid::JSONB => Value::Jsonb(text()),
        _ => Value::Text(text()),
    })
}

/// The type a result column is given when nothing declares one: from its
/// first value's storage class (simple queries see the value first).
pub(super) fn type_of_value(value: Option<ValueRef<'_>>) -> Oid {
    match value {
        Some(ValueRef::Integer(_)) => oid::INT8,
        Some(ValueRef::Real(_)) => oid::FLOAT8,
        Some(ValueRef::Blob(_)) => oid::BYTEA,
        _ => oid::TEXT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_oids() {
        assert_eq!(type_of_decltype("integer"), (oid::INT4, -1));
        assert_eq!(type_of_decltype("BIGINT"), (oid::INT8, -1));
        assert_eq!(type_of_decltype("varchar(20)"), (oid::VARCHAR, 24));
        assert_eq!(type_of_decltype("numeric(10, 2)"), (oid::NUMERIC, -1));
        assert_eq!(type_of_decltype("timestamp with time zone"), (oid::TIMESTAMPTZ, -1));
        assert_eq!(type_of_decltype("whatever"), (oid::TEXT, -1));
    }

    #[test]
    fn parameters_become_sqlite_values() {
        assert_eq!(sqlite_value(oid::INT4, Format::Binary, &7i32.to_be_bytes()).unwrap(), SqlValue::Integer(7));
        assert_eq!(sqlite_value(oid::BOOL, Format::Text, b"t").unwrap(), SqlValue::Integer(1));
        assert_eq!(sqlite_value(oid::BYTEA, Format::Text, b"\\x0102").unwrap(), SqlValue::Blob(vec![1, 2]));
        assert_eq!(sqlite_value(oid::NUMERIC, Format::Text, b"12.50").unwrap(), SqlValue::Real(12.5));
        assert_eq!(
            sqlite_value(oid::DATE, Format::Binary, &0i32.to_be_bytes()).unwrap(),
            SqlValue::Text("2000-01-01".into())
        );
        let error = sqlite_value(oid::INT4, Format::Text, b"x1").unwrap_err();
        assert_eq!(error.code, SqlState::INVALID_TEXT_REPRESENTATION);
    }

    #[test]
    fn sqlite_values_become_typed_values() {
        assert_eq!(pg_value(ValueRef::Integer(1), oid::BOOL).unwrap(), Value::Bool(true));
        assert_eq!(pg_value(ValueRef::Text(b"f"), oid::BOOL).unwrap(), Value::Bool(false));
        assert_eq!(pg_value(ValueRef::Integer(5), oid::INT2).unwrap(), Value::Int2(5));
        assert_eq!(
            pg_value(ValueRef::Integer(1 << 40), oid::INT4).unwrap_err().code,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert_eq!(pg_value(ValueRef::Real(2.5), oid::TEXT).unwrap(), Value::Text("2.5".into()));
        assert_eq!(pg_value(ValueRef::Real(2.5), oid::NUMERIC).unwrap(), Value::Numeric("2.5".into()));
        assert!(matches!(pg_value(ValueRef::Text(b"2024-02-29"), oid::DATE).unwrap(), Value::Date(_)));
        assert_eq!(
            pg_value(ValueRef::Text(b"2024-02-30"), oid::DATE).unwrap_err().code,
            SqlState::INVALID_TEXT_REPRESENTATION
        );
        assert_eq!(pg_value(ValueRef::Null, oid::INT4).unwrap(), Value::Null);
        assert_eq!(pg_value(ValueRef::Text(b"\\x0102"), oid::BYTEA).unwrap(), Value::Bytea(vec![1, 2]));
    }
}
