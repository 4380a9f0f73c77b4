//! PostgreSQL types for JavaScript values: naming and inferring column types,
//! encoding JS values into result cells (text or binary, through the codec's
//! value encoders), and decoding parameters into JS values.

use js_sys::{Array, BigInt, JSON, Number, Uint8Array};
use postwire_codec::value::{
    Array as PgArray, Bytea, Date, FromValue, Json, Jsonb, Numeric, Timestamp, TimestampTz, ToValue, Uuid,
    float_text_from_exponential,
};
use postwire_codec::{Format, Oid, oid};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

/// Microseconds from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_MS: f64 = 946_684_800_000.0;

/// A scalar type the mock database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Varchar,
    Name,
    Bytea,
    Json,
    Jsonb,
    Uuid,
    Date,
    Timestamp,
    Timestamptz,
    Oid,
}

/// A column or parameter type: a scalar or a one-dimensional array of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Type {
    pub(crate) scalar: Scalar,
    pub(crate) array: bool,
}

/// (scalar, oid, array oid, names)
const TYPES: &[(Scalar, Oid, Oid, &[&str])] = &[
    (Scalar::Bool, oid::BOOL, oid::BOOL_ARRAY, &["bool", "boolean"]),
    (Scalar::Int2, oid::INT2, oid::INT2_ARRAY, &["int2", "smallint"]),
    (Scalar::Int4, oid::INT4, oid::INT4_ARRAY, &["int4", "int", "integer"]),
    (Scalar::Int8, oid::INT8, oid::INT8_ARRAY, &["int8", "bigint"]),
    (Scalar::Float4, oid::FLOAT4, oid::FLOAT4_ARRAY, &["float4", "real"]),
    (Scalar::Float8, oid::FLOAT8, oid::FLOAT8_ARRAY, &["float8", "float", "double precision", "double"]),
    (Scalar::Numeric, oid::NUMERIC, oid::NUMERIC_ARRAY, &["numeric", "decimal"]),
    (Scalar::Text, oid::TEXT, oid::TEXT_ARRAY, &["text", "string"]),
    (Scalar::Varchar, oid::VARCHAR, oid::VARCHAR_ARRAY, &["varchar", "character varying"]),
    (Scalar::Name, oid::NAME, oid::NAME_ARRAY, &["name"]),
    (Scalar::Bytea, oid::BYTEA, oid::BYTEA_ARRAY, &["bytea"]),
    (Scalar::Json, oid::JSON, oid::JSON_ARRAY, &["json"]),
    (Scalar::Jsonb, oid::JSONB, oid::JSONB_ARRAY, &["jsonb"]),
    (Scalar::Uuid, oid::UUID, oid::UUID_ARRAY, &["uuid"]),
    (Scalar::Date, oid::DATE, oid::DATE_ARRAY, &["date"]),
    (Scalar::Timestamp, oid::TIMESTAMP, oid::TIMESTAMP_ARRAY, &["timestamp", "timestamp without time zone"]),
    (Scalar::Timestamptz, oid::TIMESTAMPTZ, oid::TIMESTAMPTZ_ARRAY, &["timestamptz", "timestamp with time zone"]),
    (Scalar::Oid, oid::OID, oid::OID_ARRAY, &["oid"]),
];

impl Type {
    pub(crate) const TEXT: Type = Type::scalar(Scalar::Text);

    pub(crate) const fn scalar(scalar: Scalar) -> Type {
        Type { scalar, array: false }
    }

    /// The type's OID.
    pub(crate) fn oid(self) -> Oid {
        let (_, scalar_oid, array_oid, _) = TYPES.iter().find(|t| t.0 == self.scalar).copied().unwrap_or(TYPES[7]);
        if self.array { array_oid } else { scalar_oid }
    }

    /// The type with this OID, if the mock knows it.
    pub(crate) fn from_oid(type_oid: Oid) -> Option<Type> {
        TYPES.iter().find_map(|&(scalar, o, a, _)| {
            if o == type_oid {
                Some(Type { scalar, array: false })
            } else if a == type_oid {
                Some(Type { scalar, array: true })
            } else {
                None
            }
        })
    }

    /// `int4`, `integer`, `text[]`, `_int4`… (case-insensitive).
    pub(crate) fn from_name(name: &str) -> Option<Type> {
        let name = name.trim().to_ascii_lowercase();
        let (base, array) = match (name.strip_suffix("[]"), name.strip_prefix('_')) {
            (Some(b), _) => (b.trim_end().to_owned(), true),
            (None, Some(b)) => (b.to_owned(), true),
            _ => (name, false),
        };
        TYPES.iter().find(|t| t.3.contains(&base.as_str())).map(|t| Type { scalar: t.0, array })
    }

    /// The `typlen` reported in RowDescription.
    pub(crate) fn size(self) -> i16 {
        if self.array {
            return -1;
        }
        match self.scalar {
            Scalar::Bool => 1,
            Scalar::Int2 => 2,
            Scalar::Int4 | Scalar::Float4 | Scalar::Date | Scalar::Oid => 4,
            Scalar::Int8 | Scalar::Float8 | Scalar::Timestamp | Scalar::Timestamptz => 8,
            Scalar::Uuid => 16,
            Scalar::Name => 64,
            _ => -1,
        }
    }
}

/// Why a JS value cannot be a value of a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue(pub(crate) String);

fn bad(ty: Type, what: &str) -> BadValue {
    let name = TYPES.iter().find(|t| t.0 == ty.scalar).map_or("?", |t| t.3[0]);
    BadValue(format!("invalid input for type {name}{}: {what}", if ty.array { "[]" } else { "" }))
}

/// How a JS number fits: smallest integer type, or float8.
fn number_type(n: f64) -> Scalar {
    if n.fract() != 0.0 || !n.is_finite() || n.abs() > 9_007_199_254_740_991.0 {
        Scalar::Float8
    } else if n >= f64::from(i32::MIN) && n <= f64::from(i32::MAX) {
        Scalar::Int4
    } else {
        Scalar::Int8
    }
}

/// The scalar type of a non-null, non-array JS value.
fn scalar_of(v: &JsValue) -> Scalar {
    if let Some(n) = v.as_f64() {
        number_type(n)
    } else if v.is_bigint() {
        Scalar::Int8
    } else if v.is_string() {
        Scalar::Text
    } else if v.as_bool().is_some() {
        Scalar::Bool
    } else if v.is_instance_of::<js_sys::Date>() {
        Scalar::Timestamptz
    } else if v.is_instance_of::<Uint8Array>() {
        Scalar::Bytea
    } else {
        Scalar::Json
    }
}

/// Widens `a` to hold `b` too (numbers: int4 → int8 → float8; else: the first wins).
fn widen(a: Option<Scalar>, b: Scalar) -> Scalar {
    match (a, b) {
        (None, b) => b,
        (Some(Scalar::Int4), Scalar::Int8 | Scalar::Float8) => b,
        (Some(Scalar::Int8), Scalar::Float8) => b,
        (Some(a), _) => a,
    }
}

/// Infers a column type from its values: the first non-null one decides,
/// numbers take the widest kind seen; an all-null column is text.
pub(crate) fn infer(values: impl Iterator<Item = JsValue>) -> Type {
    let mut found: Option<Type> = None;
    for v in values {
        if v.is_null() || v.is_undefined() {
            continue;
        }
        if Array::is_array(&v) {
            let elements = Array::from(&v);
            let mut scalar = found.filter(|t| t.array).map(|t| t.scalar);
            for e in elements.iter() {
                if !(e.is_null() || e.is_undefined()) {
                    scalar = Some(widen(scalar, scalar_of(&e)));
                }
            }
            match found {
                None | Some(Type { array: true, .. }) => {
                    found = Some(Type { scalar: scalar.unwrap_or(Scalar::Text), array: true });
                }
                Some(_) => {}
            }
            continue;
        }
        let s = scalar_of(&v);
        match found {
            None => found = Some(Type::scalar(s)),
            Some(t) if !t.array => found = Some(Type::scalar(widen(Some(t.scalar), s))),
            Some(_) => {}
        }
        // Only numbers can still widen: stop at the first other value.
        if !matches!(found, Some(Type { scalar: Scalar::Int4 | Scalar::Int8, array: false })) {
            break;
        }
    }
    found.unwrap_or(Type::TEXT)
}

/// A JS value as text, the way `String(v)` shows it (objects as JSON).
pub(crate) fn js_text(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    if let Some(b) = v.as_bool() {
        return if b { "true".into() } else { "false".into() };
    }
    if v.is_bigint() {
        return BigInt::unchecked_from_js_ref(v).to_string(10).map(String::from).unwrap_or_default();
    }
    JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

fn as_i64(v: &JsValue, ty: Type) -> Result<i64, BadValue> {
    if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() <= 9_223_372_036_854_775_807.0 {
            return Ok(n as i64);
        }
        return Err(bad(ty, &js_text(v)));
    }
    let text = js_text(v);
    text.trim().parse::<i64>().map_err(|_| bad(ty, &text))
}

fn as_f64(v: &JsValue, ty: Type) -> Result<f64, BadValue> {
    if let Some(n) = v.as_f64() {
        return Ok(n);
    }
    let text = js_text(v);
    parse_float(&text).ok_or_else(|| bad(ty, &text))
}

/// A float from text, by JavaScript's `Number()` (PostgreSQL's spellings of
/// the special values too); keeps Rust's float parser out of the module.
fn parse_float(text: &str) -> Option<f64> {
    match text.trim() {
        "" => None,
        "NaN" => Some(f64::NAN),
        "Infinity" | "infinity" => Some(f64::INFINITY),
        "-Infinity" | "-infinity" => Some(f64::NEG_INFINITY),
        t => Some(JsValue::from_str(t).unchecked_into_f64()).filter(|n| !n.is_nan()),
    }
}

fn as_bool(v: &JsValue, ty: Type) -> Result<bool, BadValue> {
    if let Some(b) = v.as_bool() {
        return Ok(b);
    }
    let text = js_text(v);
    bool::decode_text(text.as_bytes()).map_err(|_| bad(ty, &text))
}

fn as_bytes(v: &JsValue) -> Vec<u8> {
    if v.is_instance_of::<Uint8Array>() {
        Uint8Array::unchecked_from_js_ref(v).to_vec()
    } else {
        js_text(v).into_bytes()
    }
}

fn date_ms(v: &JsValue) -> Option<f64> {
    v.dyn_ref::<js_sys::Date>().map(js_sys::Date::get_time).filter(|t| t.is_finite())
}

fn as_timestamp(v: &JsValue, ty: Type) -> Result<i64, BadValue> {
    if let Some(ms) = date_ms(v) {
        return Ok(((ms - PG_EPOCH_MS) * 1000.0).round() as i64);
    }
    let text = js_text(v);
    let parsed = if ty.scalar == Scalar::Timestamp {
        Timestamp::decode_text(text.as_bytes()).map(|t| t.0)
    } else {
        TimestampTz::decode_text(text.as_bytes()).map(|t| t.0)
    };
    parsed.map_err(|_| bad(ty, &text))
}

fn as_date(v: &JsValue, ty: Type) -> Result<Date, BadValue> {
    if let Some(ms) = date_ms(v) {
        return Ok(Date(((ms - PG_EPOCH_MS) / 86_400_000.0).floor() as i32));
    }
    let text = js_text(v);
    Date::decode_text(text.as_bytes()).map_err(|_| bad(ty, &text))
}

fn as_uuid(v: &JsValue, ty: Type) -> Result<Uuid, BadValue> {
    let text = js_text(v);
    Uuid::decode_text(text.as_bytes()).map_err(|_| bad(ty, &text))
}

/// JSON text for a json/jsonb cell: strings are taken as JSON text already.
fn json_text(v: &JsValue) -> String {
    v.as_string().unwrap_or_else(|| js_text(v))
}

fn put<T: ToValue + ?Sized>(value: &T, format: Format, out: &mut Vec<u8>, ty: Type) -> Result<(), BadValue> {
    value.encode(format, out).map_err(|e| encode_failed(ty, e))
}

#[cold]
#[inline(never)]
fn encode_failed(ty: Type, e: postwire_codec::EncodeError) -> BadValue {
    bad(ty, &format!("{e}"))
}

#[wasm_bindgen]
extern "C" {
    /// A JavaScript number, for the method below.
    type Double;
    /// `Number.prototype.toExponential()` without a digit count: the shortest
    /// digits that read back as the same double.
    #[wasm_bindgen(method, js_name = toExponential)]
    fn to_exponential_shortest(this: &Double) -> String;
}

/// `NaN`, `Infinity`, `-Infinity` as PostgreSQL spells them; `None` for finite values.
fn special_float(n: f64) -> Option<&'static [u8]> {
    if n.is_nan() {
        Some(b"NaN")
    } else if n.is_infinite() {
        Some(if n < 0.0 { b"-Infinity" } else { b"Infinity" })
    } else {
        None
    }
}

/// Lays out a finite float's shortest exponential digits (from the JS engine)
/// the way PostgreSQL prints floats; Rust's float printer stays out of the module.
fn put_float_text(negative: bool, digits: &str, float4: bool, out: &mut Vec<u8>, ty: Type) -> Result<(), BadValue> {
    float_text_from_exponential(out, negative, digits, float4).map_err(|e| encode_failed(ty, e))
}

fn put_float8(n: f64, format: Format, out: &mut Vec<u8>, ty: Type) -> Result<(), BadValue> {
    match (format, special_float(n)) {
        (Format::Binary, _) => n.encode_binary(out).map_err(|e| encode_failed(ty, e)),
        (Format::Text, Some(text)) => {
            out.extend_from_slice(text);
            Ok(())
        }
        // Whole numbers below 10^15 print as integers: no call into JS.
        (Format::Text, None) if n.fract() == 0.0 && n.abs() < 1e15 && !(n == 0.0 && n.is_sign_negative()) => {
            (n as i64).encode_text(out).map_err(|e| encode_failed(ty, e))
        }
        (Format::Text, None) => {
            let digits = JsValue::from_f64(n.abs()).unchecked_into::<Double>().to_exponential_shortest();
            put_float_text(n.is_sign_negative(), &digits, false, out, ty)
        }
    }
}

fn put_float4(n: f32, format: Format, out: &mut Vec<u8>, ty: Type) -> Result<(), BadValue> {
    match (format, special_float(f64::from(n))) {
        (Format::Binary, _) => n.encode_binary(out).map_err(|e| encode_failed(ty, e)),
        (Format::Text, Some(text)) => {
            out.extend_from_slice(text);
            Ok(())
        }
        (Format::Text, None) => put_float_text(n.is_sign_negative(), &shortest_f32_digits(n.abs()), true, out, ty),
    }
}

/// The fewest significant digits (exponential notation, from the JS engine)
/// that read back as the finite, non-negative `v` in single precision: the
/// correctly rounded 1, 2, … 9 digits of `v`, the first inside `v`'s rounding
/// interval. The interval's ends are exact doubles, and a reading strictly
/// inside them proves the digits inside too; on an end, one more digit is
/// taken, which still reads back as `v`.
fn shortest_f32_digits(v: f32) -> String {
    let x = Number::from(f64::from(v));
    if v == 0.0 {
        return "0e+0".into();
    }
    let bits = v.to_bits();
    let (below, at) = (f64::from(f32::from_bits(bits - 1)), f64::from(v));
    let above = if v == f32::MAX { at + (at - below) } else { f64::from(f32::from_bits(bits + 1)) };
    let (low, high) = ((below + at) / 2.0, (at + above) / 2.0);
    for fraction_digits in 0..8 {
        let digits = x.to_exponential(fraction_digits).ok().and_then(|s| s.as_string()).unwrap_or_default();
        if parse_float(&digits).is_some_and(|back| back > low && back < high) {
            return digits;
        }
    }
    x.to_exponential(8).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// Encodes a non-null JS value as a value of `ty` in `format`, appending to `out`.
///
/// The types values are inferred as (bool, int4, int8, float8, text) are
/// encoded here, the others by `encode_other`: V8 compiles a wasm function
/// when it is first called, and a session's first `SELECT 1` then compiles
/// only these arms.
pub(crate) fn encode(v: &JsValue, ty: Type, format: Format, out: &mut Vec<u8>) -> Result<(), BadValue> {
    if ty.array {
        return encode_array(v, ty, format, out);
    }
    match ty.scalar {
        Scalar::Bool => put(&as_bool(v, ty)?, format, out, ty),
        Scalar::Int4 => {
            let n = i32::try_from(as_i64(v, ty)?).map_err(|_| bad(ty, &js_text(v)))?;
            put(&n, format, out, ty)
        }
        Scalar::Int8 => put(&as_i64(v, ty)?, format, out, ty),
        Scalar::Float8 => put_float8(as_f64(v, ty)?, format, out, ty),
        Scalar::Text | Scalar::Varchar | Scalar::Name => put(js_text(v).as_str(), format, out, ty),
        _ => encode_other(v, ty, format, out),
    }
}

/// `encode` for the scalar types it does not handle itself.
#[inline(never)]
fn encode_other(v: &JsValue, ty: Type, format: Format, out: &mut Vec<u8>) -> Result<(), BadValue> {
    match ty.scalar {
        Scalar::Bool | Scalar::Int4 | Scalar::Int8 | Scalar::Float8 | Scalar::Text | Scalar::Varchar | Scalar::Name => {
            encode(v, ty, format, out)
        }
        Scalar::Int2 => {
            let n = i16::try_from(as_i64(v, ty)?).map_err(|_| bad(ty, &js_text(v)))?;
            put(&n, format, out, ty)
        }
        Scalar::Oid => {
            let n = u32::try_from(as_i64(v, ty)?).map_err(|_| bad(ty, &js_text(v)))?;
            put(&n, format, out, ty)
        }
        Scalar::Float4 => put_float4(as_f64(v, ty)? as f32, format, out, ty),
        Scalar::Numeric => {
            let text = js_text(v);
            let n = Numeric::parse(text.trim()).map_err(|_| bad(ty, &text))?;
            put(&n, format, out, ty)
        }
        Scalar::Bytea => put(as_bytes(v).as_slice(), format, out, ty),
        Scalar::Json => put(&Json(&json_text(v)), format, out, ty),
        Scalar::Jsonb => put(&Jsonb(&json_text(v)), format, out, ty),
        Scalar::Uuid => put(&as_uuid(v, ty)?, format, out, ty),
        Scalar::Date => put(&as_date(v, ty)?, format, out, ty),
        Scalar::Timestamp => put(&Timestamp(as_timestamp(v, ty)?), format, out, ty),
        Scalar::Timestamptz => put(&TimestampTz(as_timestamp(v, ty)?), format, out, ty),
    }
}

/// Whether a text array element must be quoted (`array_out` rules).
fn needs_quotes(cell: &[u8]) -> bool {
    cell.is_empty()
        || cell.eq_ignore_ascii_case(b"NULL")
        || cell.iter().any(|&c| matches!(c, b'{' | b'}' | b',' | b'"' | b'\\') || c.is_ascii_whitespace())
}

/// Encodes a JS array as a one-dimensional array of `ty`'s element type: each
/// element through the scalar encoder, framed as `array_out`/`array_send` do.
fn encode_array(v: &JsValue, ty: Type, format: Format, out: &mut Vec<u8>) -> Result<(), BadValue> {
    if !Array::is_array(v) {
        return Err(bad(ty, &format!("{} is not an array", js_text(v))));
    }
    let element = Type::scalar(ty.scalar);
    let items = Array::from(v);
    let mut cell = Vec::new();
    match format {
        Format::Text => {
            out.push(b'{');
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if e.is_null() || e.is_undefined() {
                    out.extend_from_slice(b"NULL");
                    continue;
                }
                cell.clear();
                encode(&e, element, Format::Text, &mut cell)?;
                if needs_quotes(&cell) {
                    out.push(b'"');
                    for &c in &cell {
                        if c == b'"' || c == b'\\' {
                            out.push(b'\\');
                        }
                        out.push(c);
                    }
                    out.push(b'"');
                } else {
                    out.extend_from_slice(&cell);
                }
            }
            out.push(b'}');
        }
        Format::Binary => {
            let has_null = items.iter().any(|e| e.is_null() || e.is_undefined());
            let len = i32::try_from(items.length()).map_err(|_| bad(ty, "too many elements"))?;
            for word in [1, i32::from(has_null), element.oid() as i32, len, 1] {
                out.extend_from_slice(&word.to_be_bytes());
            }
            for e in items.iter() {
                if e.is_null() || e.is_undefined() {
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                cell.clear();
                encode(&e, element, Format::Binary, &mut cell)?;
                let n = i32::try_from(cell.len()).map_err(|_| bad(ty, "element too large"))?;
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&cell);
            }
        }
    }
    Ok(())
}

// ---- parameters: bytes → JS ----

fn text_of(bytes: &[u8]) -> JsValue {
    JsValue::from_str(&String::from_utf8_lossy(bytes))
}

fn raw(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

fn js_date(micros: i64) -> JsValue {
    if micros == i64::MAX || micros == i64::MIN {
        return JsValue::from_f64(if micros > 0 { f64::INFINITY } else { f64::NEG_INFINITY });
    }
    js_sys::Date::new(&JsValue::from_f64(micros as f64 / 1000.0 + PG_EPOCH_MS)).into()
}

/// A scalar value as the JS value a handler sees; `None` when it does not decode.
fn decode_scalar(scalar: Scalar, format: Format, bytes: &[u8]) -> Option<JsValue> {
    Some(match scalar {
        Scalar::Bool => JsValue::from_bool(bool::decode(format, bytes).ok()?),
        Scalar::Int2 => JsValue::from_f64(f64::from(i16::decode(format, bytes).ok()?)),
        Scalar::Int4 => JsValue::from_f64(f64::from(i32::decode(format, bytes).ok()?)),
        Scalar::Int8 => BigInt::from(i64::decode(format, bytes).ok()?).into(),
        Scalar::Oid => JsValue::from_f64(f64::from(u32::decode(format, bytes).ok()?)),
        Scalar::Float4 | Scalar::Float8 if format == Format::Text => {
            JsValue::from_f64(parse_float(core::str::from_utf8(bytes).ok()?)?)
        }
        Scalar::Float4 => JsValue::from_f64(f64::from(f32::decode_binary(bytes).ok()?)),
        Scalar::Float8 => JsValue::from_f64(f64::decode_binary(bytes).ok()?),
        Scalar::Numeric => {
            let n = Numeric::decode(format, bytes).ok()?;
            let mut text = Vec::new();
            n.encode_text(&mut text).ok()?;
            text_of(&text)
        }
        Scalar::Text | Scalar::Varchar | Scalar::Name => JsValue::from_str(<&str>::decode(format, bytes).ok()?),
        Scalar::Bytea => {
            let b = Bytea::decode(format, bytes).ok()?;
            let v: Vec<u8> = b.iter().collect();
            raw(&v)
        }
        Scalar::Json => {
            let text = Json::decode(format, bytes).ok()?.0;
            JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
        }
        Scalar::Jsonb => {
            let text = Jsonb::decode(format, bytes).ok()?.0;
            JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
        }
        Scalar::Uuid => {
            let u = Uuid::decode(format, bytes).ok()?;
            let mut text = Vec::new();
            u.encode_text(&mut text).ok()?;
            text_of(&text)
        }
        Scalar::Date => {
            let d = Date::decode(format, bytes).ok()?;
            if d == Date::INFINITY || d == Date::NEG_INFINITY {
                return Some(JsValue::from_f64(if d.0 > 0 { f64::INFINITY } else { f64::NEG_INFINITY }));
            }
            js_date(i64::from(d.0) * 86_400_000_000)
        }
        Scalar::Timestamp => js_date(Timestamp::decode(format, bytes).ok()?.0),
        Scalar::Timestamptz => js_date(TimestampTz::decode(format, bytes).ok()?.0),
    })
}

/// A parameter as a handler sees it: typed when its type is known (declared
/// in Parse), else a string (text format) or a `Uint8Array` (binary).
pub(crate) fn decode_param(type_oid: Oid, format: Format, bytes: Option<&[u8]>) -> JsValue {
    let Some(bytes) = bytes else { return JsValue::NULL };
    let fallback = || if format == Format::Text { text_of(bytes) } else { raw(bytes) };
    let Some(ty) = Type::from_oid(type_oid) else { return fallback() };
    if !ty.array {
        return decode_scalar(ty.scalar, format, bytes).unwrap_or_else(fallback);
    }
    let Ok(array) = PgArray::decode(format, bytes) else { return fallback() };
    let out = Array::new();
    for element in array.iter() {
        let v = match element {
            None => JsValue::NULL,
            Some(e) => {
                let b: Vec<u8> = e.bytes().collect();
                match decode_scalar(ty.scalar, format, &b) {
                    Some(v) => v,
                    None => return fallback(),
                }
            }
        };
        out.push(&v);
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_oids() {
        assert_eq!(Type::from_name("INTEGER"), Some(Type::scalar(Scalar::Int4)));
        assert_eq!(Type::from_name("text[]"), Some(Type { scalar: Scalar::Text, array: true }));
        assert_eq!(Type::from_name("_int8"), Some(Type { scalar: Scalar::Int8, array: true }));
        assert_eq!(Type::from_name("nope"), None);
        assert_eq!(Type::from_oid(oid::INT4_ARRAY), Some(Type { scalar: Scalar::Int4, array: true }));
        assert_eq!(Type::from_name("jsonb").unwrap().oid(), oid::JSONB);
        assert_eq!(Type::from_name("int8[]").unwrap().oid(), oid::INT8_ARRAY);
        assert_eq!(Type::scalar(Scalar::Int8).size(), 8);
    }

    #[test]
    fn number_kinds() {
        assert_eq!(number_type(1.0), Scalar::Int4);
        assert_eq!(number_type(-2_147_483_648.0), Scalar::Int4);
        assert_eq!(number_type(2_147_483_648.0), Scalar::Int8);
        assert_eq!(number_type(1.5), Scalar::Float8);
        assert_eq!(widen(Some(Scalar::Int4), Scalar::Float8), Scalar::Float8);
        assert_eq!(widen(Some(Scalar::Text), Scalar::Int4), Scalar::Text);
    }
}
