//! Every value decoder, both formats, on arbitrary bytes: never a panic, and a
//! value that decodes survives encode → decode unchanged.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use postwire_codec::{
    Format,
    value::{
        Array, Bytea, Date, FromValue, Interval, Json, Jsonb, PgChar, Time, TimeTz, Timestamp, TimestampTz, ToValue,
        Uuid,
    },
};

/// Decodes `data`; if that works, checks encode → decode gives the same value.
fn round_trip<T>(format: Format, data: &[u8], same: impl Fn(&T, &T) -> bool)
where
    T: for<'a> FromValue<'a> + ToValue + Debug,
{
    let Ok(value) = T::decode(format, data) else { return };
    let mut encoded = Vec::new();
    value.encode(format, &mut encoded).expect("a decoded value encodes");
    let again = T::decode(format, &encoded).expect("an encoded value decodes");
    assert!(same(&value, &again), "{value:?} became {again:?} via {encoded:?}");
}

fn eq<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

fn all_types(format: Format, data: &[u8]) {
    round_trip::<bool>(format, data, eq);
    round_trip::<i16>(format, data, eq);
    round_trip::<i32>(format, data, eq);
    round_trip::<i64>(format, data, eq);
    round_trip::<u32>(format, data, eq);
    round_trip::<f32>(format, data, |a, b| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
    round_trip::<f64>(format, data, |a, b| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
    round_trip::<PgChar>(format, data, eq);
    round_trip::<Uuid>(format, data, eq);
    round_trip::<Date>(format, data, eq);
    round_trip::<Time>(format, data, eq);
    round_trip::<TimeTz>(format, data, eq);
    round_trip::<Timestamp>(format, data, eq);
    round_trip::<TimestampTz>(format, data, eq);
    round_trip::<Interval>(format, data, eq);

    if let Ok(s) = <&str>::decode(format, data) {
        let mut out = Vec::new();
        s.encode(format, &mut out).unwrap();
        assert_eq!(<&str>::decode(format, &out), Ok(s));
    }
    let _ = Json::decode(format, data);
    let _ = Jsonb::decode(format, data);
    if let Ok(bytes) = Bytea::decode(format, data) {
        let plain: Vec<u8> = bytes.iter().collect();
        let mut out = Vec::new();
        plain.as_slice().encode(format, &mut out).unwrap();
        let again: Vec<u8> = Bytea::decode(format, &out).unwrap().iter().collect();
        assert_eq!(plain, again);
    }
    if let Ok(array) = Array::decode(format, data) {
        for element in array.iter().flatten() {
            let _ = element.decode::<i32>();
            let _ = element.decode::<&str>();
            let mut scratch = [0u8; 64];
            let _ = element.unescape_into(&mut scratch);
        }
        let _ = array.values::<i64>().count();
    }
}

fuzz_target!(|data: &[u8]| {
    all_types(Format::Text, data);
    all_types(Format::Binary, data);
});
