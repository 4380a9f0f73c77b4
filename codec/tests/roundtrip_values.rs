//! Values: encode (text and binary) → decode gives the same value back, and
//! decoding arbitrary bytes never panics.

use postwire_codec::Format;
use postwire_codec::value::*;
use postwire_codec::write::SliceSink;
use proptest::prelude::*;

fn encode<T: ToValue + ?Sized>(v: &T, format: Format, buf: &mut [u8]) -> usize {
    let mut sink = SliceSink::new(buf);
    v.encode(format, &mut sink).unwrap();
    assert!(!sink.overflowed());
    sink.position()
}

/// Encodes in both formats and decodes back with `FromValue`.
fn round_trip<T>(v: T)
where
    T: ToValue + for<'a> FromValue<'a> + PartialEq + core::fmt::Debug,
{
    let mut buf = [0u8; 512];
    for format in [Format::Text, Format::Binary] {
        let n = encode(&v, format, &mut buf);
        assert_eq!(T::decode(format, &buf[..n]).unwrap(), v, "{format:?}");
    }
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[-+0-9a-zA-Z:. ,{}\"\\\\\\[\\]=]{0,40}".prop_map(String::into_bytes),
    ]
}

fn date_fields() -> impl Strategy<Value = (i32, u8, u8)> {
    (-4000i32..200_000, 1u8..=12, 1u8..=28)
}

proptest! {
    #[test]
    fn scalars(b in any::<bool>(), i in any::<i16>(), j in any::<i32>(), k in any::<i64>(), o in any::<u32>(), c in any::<u8>()) {
        round_trip(b);
        round_trip(i);
        round_trip(j);
        round_trip(k);
        round_trip(o);
        round_trip(PgChar(c));
    }

    #[test]
    fn floats(x in any::<f64>(), y in any::<f32>()) {
        let mut buf = [0u8; 64];
        for format in [Format::Text, Format::Binary] {
            let n = encode(&x, format, &mut buf);
            let back = f64::decode(format, &buf[..n]).unwrap();
            prop_assert!(back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()));
            let n = encode(&y, format, &mut buf);
            let back = f32::decode(format, &buf[..n]).unwrap();
            prop_assert!(back.to_bits() == y.to_bits() || (y.is_nan() && back.is_nan()));
        }
    }

    #[test]
    fn texts(s in "[^\u{0}]{0,40}", bytes in proptest::collection::vec(any::<u8>(), 0..40), u in any::<[u8; 16]>()) {
        let mut buf = [0u8; 512];
        for format in [Format::Text, Format::Binary] {
            let n = encode(s.as_str(), format, &mut buf);
            prop_assert_eq!(<&str>::decode(format, &buf[..n]).unwrap(), s.as_str());
            let n = encode(&Json(&s), format, &mut buf);
            prop_assert_eq!(Json::decode(format, &buf[..n]).unwrap(), Json(&s));
            let n = encode(&Jsonb(&s), format, &mut buf);
            prop_assert_eq!(Jsonb::decode(format, &buf[..n]).unwrap(), Jsonb(&s));
            let n = encode(bytes.as_slice(), format, &mut buf);
            let d = Bytea::decode(format, &buf[..n]).unwrap();
            prop_assert!(d.iter().eq(bytes.iter().copied()));
        }
        round_trip(Uuid(u));
    }

    #[test]
    fn date_times((y, mo, d) in date_fields(), h in 0u8..24, mi in 0u8..60, s in 0u8..60, us in 0u32..1_000_000, off in -57_599i32..=57_599) {
        let date = DateFields { year: y, month: mo, day: d };
        let time = TimeFields { hour: h, minute: mi, second: s, micro: us };
        let dt = Date::from_fields(date).unwrap();
        prop_assert_eq!(dt.to_fields(), Some(date));
        round_trip(dt);
        round_trip(Time::from_fields(time).unwrap());
        round_trip(TimeTz { time: Time::from_fields(time).unwrap(), offset_secs: off });
        let ts = Timestamp::from_fields(date, time).unwrap();
        prop_assert_eq!(ts.to_fields(), Some((date, time)));
        round_trip(ts);
        round_trip(TimestampTz(ts.0));
    }

    #[test]
    fn intervals(months in any::<i32>(), days in any::<i32>(), micros in any::<i64>()) {
        round_trip(Interval { months, days, micros });
    }

    #[test]
    fn arrays(ints in proptest::collection::vec(proptest::option::of(any::<i32>()), 0..10),
              strs in proptest::collection::vec(proptest::option::of("[^\u{0}]{0,8}"), 0..10)) {
        let mut buf = [0u8; 2048];
        let mut scratch = [0u8; 64];
        for format in [Format::Text, Format::Binary] {
            let n = encode(&ArrayOf(&ints), format, &mut buf);
            let a = Array::decode(format, &buf[..n]).unwrap();
            prop_assert_eq!(a.len(), ints.len());
            let back: Vec<Option<i32>> = a.values::<i32>().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&back, &ints);

            let refs: Vec<Option<&str>> = strs.iter().map(|s| s.as_deref()).collect();
            let n = encode(&ArrayOf(&refs), format, &mut buf);
            let a = Array::decode(format, &buf[..n]).unwrap();
            prop_assert_eq!(a.len(), strs.len());
            for (e, want) in a.iter().zip(&strs) {
                let got = e.map(|e| e.decode_with::<&str>(&mut scratch).unwrap().to_owned());
                prop_assert_eq!(got.as_deref(), want.as_deref());
            }
        }
    }

    #[test]
    fn decoders_never_panic(bytes in any_bytes()) {
        for format in [Format::Text, Format::Binary] {
            let _ = bool::decode(format, &bytes);
            let _ = i16::decode(format, &bytes);
            let _ = i32::decode(format, &bytes);
            let _ = i64::decode(format, &bytes);
            let _ = u32::decode(format, &bytes);
            let _ = f32::decode(format, &bytes);
            let _ = f64::decode(format, &bytes);
            let _ = PgChar::decode(format, &bytes);
            let _ = <&str>::decode(format, &bytes);
            let _ = Json::decode(format, &bytes);
            let _ = Jsonb::decode(format, &bytes);
            let _ = Uuid::decode(format, &bytes);
            let _ = Interval::decode(format, &bytes);
            if let Ok(b) = Bytea::decode(format, &bytes) {
                let _ = b.len();
                let _ = b.decode_into(&mut [0u8; 8]);
            }
            let mut buf = [0u8; 512];
            macro_rules! reencode {
                ($t:ty) => {
                    if let Ok(v) = <$t>::decode(format, &bytes) {
                        let mut sink = SliceSink::new(&mut buf);
                        let _ = v.encode_text(&mut sink);
                        let mut sink = SliceSink::new(&mut buf);
                        let _ = v.encode_binary(&mut sink);
                        let _ = v.to_fields();
                    }
                };
            }
            reencode!(Date);
            reencode!(Timestamp);
            reencode!(TimestampTz);
            if let Ok(t) = Time::decode(format, &bytes) {
                let _ = t.to_fields();
            }
            let _ = TimeTz::decode(format, &bytes);
            if let Ok(a) = Array::decode(format, &bytes) {
                let mut scratch = [0u8; 16];
                for e in a.iter().flatten() {
                    let _ = e.decode_with::<&str>(&mut scratch);
                    let _ = e.bytes().count();
                }
                for v in a.values::<i32>() {
                    let _ = v;
                }
            }
        }
    }

    #[test]
    fn binary_values_never_panic(len in 0usize..20, raw in proptest::collection::vec(any::<u8>(), 20)) {
        // Every fixed-size decoder at exactly its size, with arbitrary content.
        let b = &raw[..len];
        let mut buf = [0u8; 512];
        if let Ok(v) = Date::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
        if let Ok(v) = Time::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
        if let Ok(v) = TimeTz::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
        if let Ok(v) = Timestamp::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
        if let Ok(v) = Interval::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
        if let Ok(v) = f64::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
        if let Ok(v) = f32::decode_binary(b) { let _ = v.encode_text(&mut SliceSink::new(&mut buf)); }
    }
}

/// PostgreSQL's canonical text for `[sign]int.frac e exp`, worked out on
/// decimal strings (not base 10000) so it checks `Numeric` independently.
fn canonical_numeric(negative: bool, int: &str, frac: &str, exp: i32) -> String {
    let digits: String = [int, frac].concat();
    // The point sits after `point` digits of `digits` (may be outside it).
    let point = int.len() as i64 + i64::from(exp);
    let scale = (frac.len() as i64 - i64::from(exp)).max(0) as usize;
    let digit = |i: i64| -> char {
        if i >= 0 && (i as usize) < digits.len() { digits.as_bytes()[i as usize] as char } else { '0' }
    };
    let mut int_part: String = (0..point.max(0)).map(digit).collect::<String>().trim_start_matches('0').to_owned();
    if int_part.is_empty() {
        int_part.push('0');
    }
    let frac_part: String = (point..point + scale as i64).map(digit).collect();
    let zero = digits.bytes().all(|b| b == b'0');
    let mut out = String::new();
    if negative && !zero {
        out.push('-');
    }
    out.push_str(&int_part);
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(&frac_part);
    }
    out
}

fn decimal_parts() -> impl Strategy<Value = (bool, String, String, bool, Option<i32>)> {
    (any::<bool>(), "[0-9]{0,24}", "[0-9]{0,24}", any::<bool>(), proptest::option::of(-40i32..40))
        .prop_filter("needs a digit", |(_, int, frac, _, _)| !int.is_empty() || !frac.is_empty())
}

proptest! {
    #[test]
    fn numeric_text_binary_text((negative, int, frac, point, exp) in decimal_parts(), spaces in 0usize..3) {
        let point = point || !frac.is_empty();
        let mut s = " ".repeat(spaces);
        s.push_str(if negative { "-" } else if spaces == 1 { "+" } else { "" });
        s.push_str(&int);
        if point {
            s.push('.');
        }
        s.push_str(&frac);
        if let Some(e) = exp {
            s.push_str(&format!("{}{e}", if spaces == 2 { "E" } else { "e" }));
        }
        s.push_str(&" ".repeat(spaces));
        let want = canonical_numeric(negative, &int, &frac, exp.unwrap_or(0));

        let n = Numeric::decode_text(s.as_bytes()).unwrap();
        prop_assert_eq!(n.to_string(), want.clone(), "{:?}", s);
        let mut bin = [0u8; 256];
        let len = encode(&n, Format::Binary, &mut bin);
        let back = Numeric::decode_binary(&bin[..len]).unwrap();
        prop_assert_eq!(back, n);
        let mut text = [0u8; 256];
        let tlen = encode(&back, Format::Text, &mut text);
        prop_assert_eq!(std::str::from_utf8(&text[..tlen]).unwrap(), want.as_str());
        // The canonical text parses to the same thing, digits all 0..=9999.
        prop_assert_eq!(Numeric::decode_text(want.as_bytes()).unwrap(), n);
        prop_assert!(n.digits().all(|d| d <= 9999));
        prop_assert!(n.digits().next() != Some(0) && n.digits().next_back() != Some(0));
    }

    #[test]
    fn numeric_integers(v in any::<i128>(), w in any::<i64>()) {
        let n = Numeric::from(v);
        prop_assert_eq!(n.to_string(), v.to_string());
        prop_assert_eq!(n.to_i128(), Some(v));
        round_trip_numeric(n);
        let m = Numeric::from(w);
        prop_assert_eq!(m.to_i64(), Some(w));
        round_trip_numeric(m);
    }

    #[test]
    fn numeric_arrays(vals in proptest::collection::vec(proptest::option::of(any::<i64>()), 0..8)) {
        let nums: Vec<Option<Numeric<'static>>> = vals.iter().map(|v| v.map(Numeric::from)).collect();
        let mut buf = [0u8; 1024];
        for format in [Format::Text, Format::Binary] {
            let n = encode(&ArrayOf(&nums), format, &mut buf);
            let a = Array::decode(format, &buf[..n]).unwrap();
            let back: Vec<Option<Numeric<'_>>> = a.values::<Numeric<'_>>().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&back, &nums);
        }
    }

    #[test]
    fn numeric_decoders_never_panic(bytes in any_bytes(), digits in proptest::collection::vec(0u16..=10_000, 0..6), weight in any::<i16>(), sign in prop_oneof![Just(0u16), Just(0x4000), Just(0xC000), Just(0xD000), Just(0xF000), any::<u16>()], dscale in prop_oneof![0u16..40, any::<u16>()], extra in 0usize..2) {
        for format in [Format::Text, Format::Binary] {
            if let Ok(n) = Numeric::decode(format, &bytes) {
                round_trip_numeric(n);
            }
        }
        // Well-formed headers with arbitrary content, and off-by-one lengths.
        let mut b = Vec::new();
        b.extend_from_slice(&(digits.len() as u16).to_be_bytes());
        b.extend_from_slice(&weight.to_be_bytes());
        b.extend_from_slice(&sign.to_be_bytes());
        b.extend_from_slice(&dscale.to_be_bytes());
        for d in &digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend(std::iter::repeat_n(0, extra));
        if let Ok(n) = Numeric::decode_binary(&b) {
            prop_assert!(extra == 0 && dscale <= 0x3FFF && digits.iter().all(|&d| d < 10_000));
            round_trip_numeric(n);
        }
    }
}

/// Re-encodes a numeric both ways and decodes it back to the same value.
fn round_trip_numeric(n: Numeric<'_>) {
    // Up to ~4 * 65535 digits plus the scale: size generously.
    let mut buf = vec![0u8; 300_000];
    for format in [Format::Text, Format::Binary] {
        let len = encode(&n, format, &mut buf);
        assert_eq!(Numeric::decode(format, &buf[..len]).unwrap(), n, "{format:?}");
    }
}
