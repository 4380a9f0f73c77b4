//! Built-in type OIDs, checked against the `pg_type` catalog of PostgreSQL 15
//! (`select oid, typname, typarray from pg_type`), which match every release
//! since: built-in OIDs never change.
//!
//! ```
//! use postwire_codec::oid;
//! assert_eq!(oid::type_name(oid::INT4), Some("int4"));
//! assert_eq!(oid::array_of(oid::INT4), Some(oid::INT4_ARRAY));
//! assert_eq!(oid::element_of(oid::TEXT_ARRAY), Some(oid::TEXT));
//! ```

use crate::format::Oid;

/// `bool`.
pub const BOOL: Oid = 16;
/// `_bool`: array of `bool`.
pub const BOOL_ARRAY: Oid = 1000;
/// `bytea`.
pub const BYTEA: Oid = 17;
/// `_bytea`: array of `bytea`.
pub const BYTEA_ARRAY: Oid = 1001;
/// `char`.
pub const CHAR: Oid = 18;
/// `_char`: array of `char`.
pub const CHAR_ARRAY: Oid = 1002;
/// `name`.
pub const NAME: Oid = 19;
/// `_name`: array of `name`.
pub const NAME_ARRAY: Oid = 1003;
/// `int8`.
pub const INT8: Oid = 20;
/// `_int8`: array of `int8`.
pub const INT8_ARRAY: Oid = 1016;
/// `int2`.
pub const INT2: Oid = 21;
/// `_int2`: array of `int2`.
pub const INT2_ARRAY: Oid = 1005;
/// `int2vector`.
pub const INT2VECTOR: Oid = 22;
/// `_int2vector`: array of `int2vector`.
pub const INT2VECTOR_ARRAY: Oid = 1006;
/// `int4`.
pub const INT4: Oid = 23;
/// `_int4`: array of `int4`.
pub const INT4_ARRAY: Oid = 1007;
/// `regproc`.
pub const REGPROC: Oid = 24;
/// `_regproc`: array of `regproc`.
pub const REGPROC_ARRAY: Oid = 1008;
/// `text`.
pub const TEXT: Oid = 25;
/// `_text`: array of `text`.
pub const TEXT_ARRAY: Oid = 1009;
/// `oid`.
pub const OID: Oid = 26;
/// `_oid`: array of `oid`.
pub const OID_ARRAY: Oid = 1028;
/// `tid`.
pub const TID: Oid = 27;
/// `_tid`: array of `tid`.
pub const TID_ARRAY: Oid = 1010;
/// `xid`.
pub const XID: Oid = 28;
/// `_xid`: array of `xid`.
pub const XID_ARRAY: Oid = 1011;
/// `cid`.
pub const CID: Oid = 29;
/// `_cid`: array of `cid`.
pub const CID_ARRAY: Oid = 1012;
/// `oidvector`.
pub const OIDVECTOR: Oid = 30;
/// `_oidvector`: array of `oidvector`.
pub const OIDVECTOR_ARRAY: Oid = 1013;
/// `json`.
pub const JSON: Oid = 114;
/// `_json`: array of `json`.
pub const JSON_ARRAY: Oid = 199;
/// `xml`.
pub const XML: Oid = 142;
/// `_xml`: array of `xml`.
pub const XML_ARRAY: Oid = 143;
/// `point`.
pub const POINT: Oid = 600;
/// `_point`: array of `point`.
pub const POINT_ARRAY: Oid = 1017;
/// `cidr`.
pub const CIDR: Oid = 650;
/// `_cidr`: array of `cidr`.
pub const CIDR_ARRAY: Oid = 651;
/// `float4`.
pub const FLOAT4: Oid = 700;
/// `_float4`: array of `float4`.
pub const FLOAT4_ARRAY: Oid = 1021;
/// `float8`.
pub const FLOAT8: Oid = 701;
/// `_float8`: array of `float8`.
pub const FLOAT8_ARRAY: Oid = 1022;
/// `unknown`.
pub const UNKNOWN: Oid = 705;
/// `money`.
pub const MONEY: Oid = 790;
/// `_money`: array of `money`.
pub const MONEY_ARRAY: Oid = 791;
/// `macaddr`.
pub const MACADDR: Oid = 829;
/// `_macaddr`: array of `macaddr`.
pub const MACADDR_ARRAY: Oid = 1040;
/// `inet`.
pub const INET: Oid = 869;
/// `_inet`: array of `inet`.
pub const INET_ARRAY: Oid = 1041;
/// `bpchar`.
pub const BPCHAR: Oid = 1042;
/// `_bpchar`: array of `bpchar`.
pub const BPCHAR_ARRAY: Oid = 1014;
/// `varchar`.
pub const VARCHAR: Oid = 1043;
/// `_varchar`: array of `varchar`.
pub const VARCHAR_ARRAY: Oid = 1015;
/// `date`.
pub const DATE: Oid = 1082;
/// `_date`: array of `date`.
pub const DATE_ARRAY: Oid = 1182;
/// `time`.
pub const TIME: Oid = 1083;
/// `_time`: array of `time`.
pub const TIME_ARRAY: Oid = 1183;
/// `timestamp`.
pub const TIMESTAMP: Oid = 1114;
/// `_timestamp`: array of `timestamp`.
pub const TIMESTAMP_ARRAY: Oid = 1115;
/// `timestamptz`.
pub const TIMESTAMPTZ: Oid = 1184;
/// `_timestamptz`: array of `timestamptz`.
pub const TIMESTAMPTZ_ARRAY: Oid = 1185;
/// `interval`.
pub const INTERVAL: Oid = 1186;
/// `_interval`: array of `interval`.
pub const INTERVAL_ARRAY: Oid = 1187;
/// `timetz`.
pub const TIMETZ: Oid = 1266;
/// `_timetz`: array of `timetz`.
pub const TIMETZ_ARRAY: Oid = 1270;
/// `bit`.
pub const BIT: Oid = 1560;
/// `_bit`: array of `bit`.
pub const BIT_ARRAY: Oid = 1561;
/// `varbit`.
pub const VARBIT: Oid = 1562;
/// `_varbit`: array of `varbit`.
pub const VARBIT_ARRAY: Oid = 1563;
/// `numeric`.
pub const NUMERIC: Oid = 1700;
/// `_numeric`: array of `numeric`.
pub const NUMERIC_ARRAY: Oid = 1231;
/// `regclass`.
pub const REGCLASS: Oid = 2205;
/// `_regclass`: array of `regclass`.
pub const REGCLASS_ARRAY: Oid = 2210;
/// `regtype`.
pub const REGTYPE: Oid = 2206;
/// `_regtype`: array of `regtype`.
pub const REGTYPE_ARRAY: Oid = 2211;
/// `record`.
pub const RECORD: Oid = 2249;
/// `_record`: array of `record`.
pub const RECORD_ARRAY: Oid = 2287;
/// `cstring`.
pub const CSTRING: Oid = 2275;
/// `_cstring`: array of `cstring`.
pub const CSTRING_ARRAY: Oid = 1263;
/// `any`.
pub const ANY: Oid = 2276;
/// `anyarray`.
pub const ANYARRAY: Oid = 2277;
/// `void`.
pub const VOID: Oid = 2278;
/// `trigger`.
pub const TRIGGER: Oid = 2279;
/// `anyelement`.
pub const ANYELEMENT: Oid = 2283;
/// `uuid`.
pub const UUID: Oid = 2950;
/// `_uuid`: array of `uuid`.
pub const UUID_ARRAY: Oid = 2951;
/// `jsonb`.
pub const JSONB: Oid = 3802;
/// `_jsonb`: array of `jsonb`.
pub const JSONB_ARRAY: Oid = 3807;
/// `jsonpath`.
pub const JSONPATH: Oid = 4072;
/// `_jsonpath`: array of `jsonpath`.
pub const JSONPATH_ARRAY: Oid = 4073;

/// (type, name, array type or 0) for every constant above.
const TYPES: &[(Oid, &str, Oid)] = &[
    (BOOL, "bool", BOOL_ARRAY),
    (BYTEA, "bytea", BYTEA_ARRAY),
    (CHAR, "char", CHAR_ARRAY),
    (NAME, "name", NAME_ARRAY),
    (INT8, "int8", INT8_ARRAY),
    (INT2, "int2", INT2_ARRAY),
    (INT2VECTOR, "int2vector", INT2VECTOR_ARRAY),
    (INT4, "int4", INT4_ARRAY),
    (REGPROC, "regproc", REGPROC_ARRAY),
    (TEXT, "text", TEXT_ARRAY),
    (OID, "oid", OID_ARRAY),
    (TID, "tid", TID_ARRAY),
    (XID, "xid", XID_ARRAY),
    (CID, "cid", CID_ARRAY),
    (OIDVECTOR, "oidvector", OIDVECTOR_ARRAY),
    (JSON, "json", JSON_ARRAY),
    (XML, "xml", XML_ARRAY),
    (POINT, "point", POINT_ARRAY),
    (CIDR, "cidr", CIDR_ARRAY),
    (FLOAT4, "float4", FLOAT4_ARRAY),
    (FLOAT8, "float8", FLOAT8_ARRAY),
    (UNKNOWN, "unknown", 0),
    (MONEY, "money", MONEY_ARRAY),
    (MACADDR, "macaddr", MACADDR_ARRAY),
    (INET, "inet", INET_ARRAY),
    (BPCHAR, "bpchar", BPCHAR_ARRAY),
    (VARCHAR, "varchar", VARCHAR_ARRAY),
    (DATE, "date", DATE_ARRAY),
    (TIME, "time", TIME_ARRAY),
    (TIMESTAMP, "timestamp", TIMESTAMP_ARRAY),
    (TIMESTAMPTZ, "timestamptz", TIMESTAMPTZ_ARRAY),
    (INTERVAL, "interval", INTERVAL_ARRAY),
    (TIMETZ, "timetz", TIMETZ_ARRAY),
    (BIT, "bit", BIT_ARRAY),
    (VARBIT, "varbit", VARBIT_ARRAY),
    (NUMERIC, "numeric", NUMERIC_ARRAY),
    (REGCLASS, "regclass", REGCLASS_ARRAY),
    (REGTYPE, "regtype", REGTYPE_ARRAY),
    (RECORD, "record", RECORD_ARRAY),
    (CSTRING, "cstring", CSTRING_ARRAY),
    (ANY, "any", 0),
    (ANYARRAY, "anyarray", 0),
    (VOID, "void", 0),
    (TRIGGER, "trigger", 0),
    (ANYELEMENT, "anyelement", 0),
    (UUID, "uuid", UUID_ARRAY),
    (JSONB, "jsonb", JSONB_ARRAY),
    (JSONPATH, "jsonpath", JSONPATH_ARRAY),
];

/// The size of a built-in type's values (`pg_type.typlen`): the byte count
/// of a fixed-size type, -1 for a variable-size one (text, numeric, arrays…).
///
/// ```
/// use postwire_codec::oid;
/// assert_eq!(oid::type_size(oid::INT8), 8);
/// assert_eq!(oid::type_size(oid::TEXT), -1);
/// ```
pub const fn type_size(oid: Oid) -> i16 {
    match oid {
        BOOL | CHAR => 1,
        INT2 => 2,
        INT4 | OID | FLOAT4 | DATE => 4,
        INT8 | FLOAT8 | TIME | TIMESTAMP | TIMESTAMPTZ => 8,
        TIMETZ => 12,
        INTERVAL | UUID => 16,
        NAME => 64,
        _ => -1,
    }
}

/// The catalog name (`typname`) of a built-in type or array type, e.g. `"int4"`, `"_int4"`.
pub fn type_name(oid: Oid) -> Option<&'static str> {
    TYPES
        .iter()
        .find(|(t, _, _)| *t == oid)
        .map(|(_, name, _)| *name)
        .or_else(|| ARRAY_NAMES.iter().find(|(a, _)| *a == oid).map(|(_, n)| *n))
}

/// The array type whose elements are `element`, for the built-in types above.
pub fn array_of(element: Oid) -> Option<Oid> {
    TYPES.iter().find(|(t, _, a)| *t == element && *a != 0).map(|(_, _, a)| *a)
}

/// The element type of the built-in array type `array`.
pub fn element_of(array: Oid) -> Option<Oid> {
    if array == 0 {
        return None;
    }
    TYPES.iter().find(|(_, _, a)| *a == array).map(|(t, _, _)| *t)
}

/// (array type, name) of each array type.
const ARRAY_NAMES: &[(Oid, &str)] = &[
    (BOOL_ARRAY, "_bool"),
    (BYTEA_ARRAY, "_bytea"),
    (CHAR_ARRAY, "_char"),
    (NAME_ARRAY, "_name"),
    (INT8_ARRAY, "_int8"),
    (INT2_ARRAY, "_int2"),
    (INT2VECTOR_ARRAY, "_int2vector"),
    (INT4_ARRAY, "_int4"),
    (REGPROC_ARRAY, "_regproc"),
    (TEXT_ARRAY, "_text"),
    (OID_ARRAY, "_oid"),
    (TID_ARRAY, "_tid"),
    (XID_ARRAY, "_xid"),
    (CID_ARRAY, "_cid"),
    (OIDVECTOR_ARRAY, "_oidvector"),
    (JSON_ARRAY, "_json"),
    (XML_ARRAY, "_xml"),
    (POINT_ARRAY, "_point"),
    (CIDR_ARRAY, "_cidr"),
    (FLOAT4_ARRAY, "_float4"),
    (FLOAT8_ARRAY, "_float8"),
    (MONEY_ARRAY, "_money"),
    (MACADDR_ARRAY, "_macaddr"),
    (INET_ARRAY, "_inet"),
    (BPCHAR_ARRAY, "_bpchar"),
    (VARCHAR_ARRAY, "_varchar"),
    (DATE_ARRAY, "_date"),
    (TIME_ARRAY, "_time"),
    (TIMESTAMP_ARRAY, "_timestamp"),
    (TIMESTAMPTZ_ARRAY, "_timestamptz"),
    (INTERVAL_ARRAY, "_interval"),
    (TIMETZ_ARRAY, "_timetz"),
    (BIT_ARRAY, "_bit"),
    (VARBIT_ARRAY, "_varbit"),
    (NUMERIC_ARRAY, "_numeric"),
    (REGCLASS_ARRAY, "_regclass"),
    (REGTYPE_ARRAY, "_regtype"),
    (RECORD_ARRAY, "_record"),
    (CSTRING_ARRAY, "_cstring"),
    (UUID_ARRAY, "_uuid"),
    (JSONB_ARRAY, "_jsonb"),
    (JSONPATH_ARRAY, "_jsonpath"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(type_name(BOOL), Some("bool"));
        assert_eq!(type_name(1000), Some("_bool"));
        assert_eq!(type_name(JSON_ARRAY), Some("_json"));
        assert_eq!(type_name(0), None);
        assert_eq!(type_name(99_999), None);
        assert_eq!(array_of(INT8), Some(1016));
        assert_eq!(array_of(VOID), None);
        assert_eq!(array_of(INT8_ARRAY), None);
        assert_eq!(element_of(1231), Some(NUMERIC));
        assert_eq!(element_of(0), None);
        assert_eq!(element_of(INT4), None);
        for &(t, _, a) in TYPES {
            if a != 0 {
                assert_eq!(element_of(array_of(t).unwrap()), Some(t));
                assert!(type_name(a).unwrap().starts_with('_'));
            }
        }
    }
}
