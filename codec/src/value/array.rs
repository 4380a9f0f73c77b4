//! One-dimensional arrays: binary (`array_send`) and text (`{1,NULL,"a b"}`).
//!
//! Encode with [`ArrayOf`] over any cloneable iterator of values or `Option`s;
//! decode into an [`Array`] view, validated once at decode so that walking its
//! elements cannot fail (decoding each element into a Rust type still can).

use core::marker::PhantomData;

use super::{FromValue, ToValue, trimmed};
use crate::error::{DecodeError, EncodeError};
use crate::format::{Format, Oid};
use crate::read::Reader;
use crate::write::{LenCounter, Sink, len_i32};

/// An array element for [`ArrayOf`]: a value, or an `Option` where `None` is NULL.
pub trait ArrayItem {
    /// The element's value type.
    type Value: ToValue;
    /// The value, or `None` for SQL NULL.
    fn value(&self) -> Option<&Self::Value>;
}

impl<T: ToValue> ArrayItem for T {
    type Value = T;
    #[inline]
    fn value(&self) -> Option<&T> {
        Some(self)
    }
}

impl<T: ToValue> ArrayItem for Option<T> {
    type Value = T;
    #[inline]
    fn value(&self) -> Option<&T> {
        self.as_ref()
    }
}

impl<T: ToValue> ArrayItem for &Option<T> {
    type Value = T;
    #[inline]
    fn value(&self) -> Option<&T> {
        self.as_ref()
    }
}

/// Encodes the items of a cloneable iterator as a one-dimensional array with
/// lower bound 1: `ArrayOf(&[1i32, 2])`, `ArrayOf(&[Some("a"), None])`.
///
/// The iterator is walked several times (to count, then to write), so it must
/// yield the same items each time.
///
/// ```
/// use postwire_codec::value::{ArrayOf, ToValue};
/// use postwire_codec::write::SliceSink;
/// let mut buf = [0u8; 32];
/// let mut sink = SliceSink::new(&mut buf);
/// ArrayOf(&[Some("a b"), None, Some("x\"y")]).encode_text(&mut sink)?;
/// let n = sink.position();
/// assert_eq!(&buf[..n], br#"{"a b",NULL,"x\"y"}"#);
/// # Ok::<(), postwire_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ArrayOf<I>(pub I);

impl<I> ToValue for ArrayOf<I>
where
    I: IntoIterator + Clone,
    I::Item: ArrayItem,
{
    const TYPE_OID: Oid = <<I::Item as ArrayItem>::Value as ToValue>::ARRAY_OID;
    const ARRAY_OID: Oid = 0;

    fn encode_text<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        out.put_u8(b'{');
        for (i, item) in self.0.clone().into_iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            match item.value() {
                None => out.put_slice(b"NULL"),
                Some(v) => {
                    let mut check = QuoteCheck::default();
                    v.encode_text(&mut check)?;
                    if check.needs_quotes() {
                        out.put_u8(b'"');
                        v.encode_text(&mut Escaper(out))?;
                        out.put_u8(b'"');
                    } else {
                        v.encode_text(out)?;
                    }
                }
            }
        }
        out.put_u8(b'}');
        Ok(())
    }

    fn encode_binary<S: Sink>(&self, out: &mut S) -> Result<(), EncodeError> {
        let (mut n, mut has_null) = (0usize, false);
        for item in self.0.clone() {
            n += 1;
            has_null |= item.value().is_none();
        }
        let elem_oid = <<I::Item as ArrayItem>::Value as ToValue>::TYPE_OID;
        if n == 0 {
            out.put_i32(0);
            out.put_i32(0);
            out.put_u32(elem_oid);
            return Ok(());
        }
        out.put_i32(1);
        out.put_i32(i32::from(has_null));
        out.put_u32(elem_oid);
        out.put_i32(i32::try_from(n).map_err(|_| EncodeError::TooManyItems)?);
        out.put_i32(1);
        for item in self.0.clone() {
            match item.value() {
                None => out.put_i32(-1),
                Some(v) => {
                    let mut len = LenCounter::default();
                    v.encode_binary(&mut len)?;
                    out.put_i32(len_i32(len.len)?);
                    v.encode_binary(out)?;
                }
            }
        }
        Ok(())
    }
}

/// Characters that force quoting of a text array element (besides whitespace).
fn is_special(b: u8) -> bool {
    matches!(b, b'"' | b'\\' | b'{' | b'}' | b',') || is_space(b)
}

/// PostgreSQL's `scanner_isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Watches an element's text to decide whether it must be quoted.
#[derive(Default)]
struct QuoteCheck {
    len: usize,
    special: bool,
    /// Whether the bytes so far are a prefix of "NULL" (any case).
    null_prefix: bool,
}

impl QuoteCheck {
    fn needs_quotes(&self) -> bool {
        self.len == 0 || self.special || (self.len == 4 && self.null_prefix)
    }
}

impl Sink for QuoteCheck {
    fn put_slice(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.special |= is_special(b);
            self.null_prefix = (self.len == 0 || self.null_prefix)
                && b"NULL".get(self.len).is_some_and(|n| n.eq_ignore_ascii_case(&b));
            self.len = self.len.saturating_add(1);
        }
    }
}

/// Backslash-escapes `"` and `\` inside a quoted element.
struct Escaper<'s, S>(&'s mut S);

impl<S: Sink> Sink for Escaper<'_, S> {
    fn put_slice(&mut self, bytes: &[u8]) {
        for chunk in bytes.split_inclusive(|&b| b == b'"' || b == b'\\') {
            match chunk.split_last() {
                Some((&last, head)) if last == b'"' || last == b'\\' => {
                    self.0.put_slice(head);
                    self.0.put_slice(&[b'\\', last]);
                }
                _ => self.0.put_slice(chunk),
            }
        }
    }
}

/// A decoded one-dimensional array, borrowing from the input.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Array<'a> {
    format: Format,
    /// Binary: the element section. Text: the content between the braces.
    body: &'a [u8],
    len: usize,
    lower_bound: i32,
    element_type: Option<Oid>,
    has_nulls: bool,
}

/// One non-NULL array element, borrowed from the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArrayElement<'a> {
    bytes: &'a [u8],
    format: Format,
    escaped: bool,
}

impl<'a> ArrayElement<'a> {
    /// The element's bytes as they appear in the array; for text with
    /// backslash escapes, still escaped (see [`ArrayElement::needs_unescape`]).
    pub fn raw(&self) -> &'a [u8] {
        self.bytes
    }

    /// The element's format (the array's).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the text element holds backslash escapes, so that its value
    /// is not a plain slice of the input: use [`ArrayElement::unescape_into`].
    pub fn needs_unescape(&self) -> bool {
        self.escaped
    }

    /// The element's value bytes, unescaped, one at a time.
    pub fn bytes(&self) -> Unescaped<'a> {
        Unescaped { rest: self.bytes, escaped: self.escaped }
    }

    /// Copies the unescaped value into `out`, returning the filled part.
    pub fn unescape_into<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], EncodeError> {
        let required = self.bytes().count();
        let dst = out.get_mut(..required).ok_or(EncodeError::BufferTooSmall { required })?;
        for (d, s) in dst.iter_mut().zip(self.bytes()) {
            *d = s;
        }
        Ok(dst)
    }

    /// Decodes the element, borrowing from the array. Escaped text elements
    /// cannot be borrowed: they give [`DecodeError::InvalidValue`]; use
    /// [`ArrayElement::decode_with`].
    pub fn decode<T: FromValue<'a>>(&self) -> Result<T, DecodeError> {
        if self.escaped {
            return Err(DecodeError::InvalidValue);
        }
        T::decode(self.format, self.bytes)
    }

    /// Decodes the element, unescaping into `scratch` first when needed.
    pub fn decode_with<'b, T: FromValue<'b>>(&self, scratch: &'b mut [u8]) -> Result<T, DecodeError>
    where
        'a: 'b,
    {
        if !self.escaped {
            return T::decode(self.format, self.bytes);
        }
        let v = self.unescape_into(scratch).map_err(|_| DecodeError::InvalidValue)?;
        T::decode(self.format, v)
    }
}

/// The bytes of a text array element with backslash escapes removed.
#[derive(Debug, Clone)]
pub struct Unescaped<'a> {
    rest: &'a [u8],
    escaped: bool,
}

impl Iterator for Unescaped<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        if self.escaped && b == b'\\' {
            let (&e, rest) = self.rest.split_first()?;
            self.rest = rest;
            return Some(e);
        }
        Some(b)
    }
}

/// Parses the next element of text array content (between the braces).
/// `Ok(None)` means the content is used up.
type TextItem<'a> = Option<Option<ArrayElement<'a>>>;

fn next_text_element<'a>(rest: &mut &'a [u8]) -> Result<TextItem<'a>, DecodeError> {
    let mut s = *rest;
    // Separator.
    while let [b, tail @ ..] = s {
        if !is_space(*b) {
            break;
        }
        s = tail;
    }
    if s.is_empty() {
        // The end (a dangling comma was rejected with the element before it).
        return Ok(None);
    }
    let elem = match s {
        [b'"', tail @ ..] => {
            let mut i = 0;
            let mut escaped = false;
            loop {
                match tail.get(i) {
                    None => return Err(DecodeError::InvalidValue),
                    Some(b'\\') => {
                        escaped = true;
                        i += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            let bytes = tail.get(..i).ok_or(DecodeError::InvalidValue)?;
            s = tail.get(i + 1..).unwrap_or(&[]);
            Some(ArrayElement { bytes, format: Format::Text, escaped })
        }
        _ => {
            let mut i = 0;
            let mut escaped = false;
            let mut end = 0; // end of the last non-space (or escaped) byte
            while let Some(&b) = s.get(i) {
                match b {
                    b'\\' => {
                        escaped = true;
                        if s.get(i + 1).is_none() {
                            return Err(DecodeError::InvalidValue);
                        }
                        i += 2;
                        end = i;
                    }
                    b',' => break,
                    b'"' | b'{' | b'}' => return Err(DecodeError::InvalidValue),
                    b if is_space(b) => i += 1,
                    _ => {
                        i += 1;
                        end = i;
                    }
                }
            }
            let bytes = s.get(..end).ok_or(DecodeError::InvalidValue)?;
            s = s.get(i..).unwrap_or(&[]);
            if bytes.is_empty() {
                return Err(DecodeError::InvalidValue);
            }
            if !escaped && bytes.eq_ignore_ascii_case(b"NULL") {
                None
            } else {
                Some(ArrayElement { bytes, format: Format::Text, escaped })
            }
        }
    };
    while let [b, tail @ ..] = s {
        if !is_space(*b) {
            break;
        }
        s = tail;
    }
    match s {
        [] => {}
        [b',', tail @ ..] => {
            // A trailing comma needs another element.
            if tail.iter().all(|&b| is_space(b)) {
                return Err(DecodeError::InvalidValue);
            }
            s = tail;
        }
        _ => return Err(DecodeError::InvalidValue),
    }
    *rest = s;
    Ok(Some(elem))
}

/// `[lower:upper]=` before a text array.
/// `(lower, upper)` from a `[lower:upper]=` prefix.
type Bounds = Option<(i32, i32)>;

fn parse_bounds(s: &str) -> Result<(&str, Bounds), DecodeError> {
    let Some(inner) = s.strip_prefix('[') else { return Ok((s, None)) };
    let (dims, rest) = inner.split_once(']').ok_or(DecodeError::InvalidValue)?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = rest.strip_prefix('=').ok_or(DecodeError::InvalidValue)?;
    let (lo, hi) = dims.split_once(':').ok_or(DecodeError::InvalidValue)?;
    let lo = lo.trim().parse().map_err(|_| DecodeError::InvalidValue)?;
    let hi = hi.trim().parse().map_err(|_| DecodeError::InvalidValue)?;
    Ok((rest.trim_start_matches(|c: char| c.is_ascii_whitespace()), Some((lo, hi))))
}

impl<'a> FromValue<'a> for Array<'a> {
    /// `{…}` with elements quoted or not, `NULL`, and an optional
    /// `[lower:upper]=` prefix. Multi-dimensional arrays are
    /// [`DecodeError::InvalidValue`].
    fn decode_text(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (s, bounds) = parse_bounds(trimmed(bytes)?)?;
        let body = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or(DecodeError::InvalidValue)?.as_bytes();
        let (mut rest, mut len, mut has_nulls) = (body, 0usize, false);
        while let Some(elem) = next_text_element(&mut rest)? {
            len += 1;
            has_nulls |= elem.is_none();
        }
        let lower_bound = match bounds {
            None => 1,
            Some((lo, hi)) => {
                let n = i64::from(hi) - i64::from(lo) + 1;
                if n != len as i64 {
                    return Err(DecodeError::InvalidValue);
                }
                lo
            }
        };
        Ok(Array { format: Format::Text, body, len, lower_bound, element_type: None, has_nulls })
    }

    /// `array_send` layout; `ndim` 0 or 1.
    fn decode_binary(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let ndim = r.i32()?;
        let flags = r.i32()?;
        let elem = r.u32()?;
        if !(flags == 0 || flags == 1) {
            return Err(DecodeError::InvalidValue);
        }
        let (len, lower_bound) = match ndim {
            0 => (0, 1),
            1 => {
                let len = usize::try_from(r.i32()?).map_err(|_| DecodeError::InvalidValue)?;
                let lb = r.i32()?;
                if i64::from(lb) + len as i64 - 1 > i64::from(i32::MAX) {
                    return Err(DecodeError::InvalidValue);
                }
                (len, lb)
            }
            _ => return Err(DecodeError::InvalidValue),
        };
        let body = r.remaining();
        let mut has_nulls = false;
        for _ in 0..len {
            let n = r.i32()?;
            if n == -1 {
                has_nulls = true;
            } else {
                r.bytes(usize::try_from(n).map_err(|_| DecodeError::InvalidValue)?)?;
            }
        }
        r.finish()?;
        Ok(Array { format: Format::Binary, body, len, lower_bound, element_type: Some(elem), has_nulls })
    }
}

impl<'a> Array<'a> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The index of the first element (1 unless the input said otherwise).
    pub fn lower_bound(&self) -> i32 {
        self.lower_bound
    }

    /// The element type OID (binary format only; text does not carry it).
    pub fn element_type(&self) -> Option<Oid> {
        self.element_type
    }

    /// Whether any element is NULL.
    pub fn has_nulls(&self) -> bool {
        self.has_nulls
    }

    /// The elements, `None` for NULL. Cannot fail: validated at decode.
    pub fn iter(&self) -> Elements<'a> {
        Elements { array: *self, rest: self.body, index: 0 }
    }

    /// The elements decoded as `T` (borrowing; escaped text elements fail,
    /// see [`ArrayElement::decode`]).
    pub fn values<T: FromValue<'a>>(&self) -> ArrayValues<'a, T> {
        ArrayValues { elements: self.iter(), _t: PhantomData }
    }
}

/// The elements of an [`Array`].
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    array: Array<'a>,
    rest: &'a [u8],
    index: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Option<ArrayElement<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.array.len {
            return None;
        }
        self.index += 1;
        match self.array.format {
            Format::Text => next_text_element(&mut self.rest).ok().flatten(),
            Format::Binary => {
                let mut r = Reader::new(self.rest);
                let n = r.i32().ok()?;
                let item = match usize::try_from(n) {
                    Err(_) => None,
                    Ok(n) => Some(ArrayElement { bytes: r.bytes(n).ok()?, format: Format::Binary, escaped: false }),
                };
                self.rest = r.remaining();
                Some(item)
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.array.len.saturating_sub(self.index);
        (n, Some(n))
    }
}

/// The elements of an [`Array`] decoded as `T`; `Ok(None)` for NULL.
#[derive(Debug, Clone)]
pub struct ArrayValues<'a, T> {
    elements: Elements<'a>,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T: FromValue<'a>> Iterator for ArrayValues<'a, T> {
    type Item = Result<Option<T>, DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        let e = self.elements.next()?;
        Some(e.map(|e| e.decode::<T>()).transpose())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::enc;
    use super::*;

    #[test]
    fn golden_binary() {
        // select array_send(array[1,2,null]::int4[])
        let golden = b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x17\x00\x00\x00\x03\x00\x00\x00\x01\
            \x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x02\xff\xff\xff\xff";
        let v = ArrayOf(&[Some(1i32), Some(2), None]);
        let (b, n) = enc(&v, Format::Binary);
        assert_eq!(&b[..n], golden);
        let a = Array::decode_binary(golden).unwrap();
        assert_eq!(a.element_type(), Some(crate::oid::INT4));
        assert!(a.has_nulls());
        let got: [Option<i32>; 3] = {
            let mut it = a.values::<i32>();
            [it.next().unwrap().unwrap(), it.next().unwrap().unwrap(), it.next().unwrap().unwrap()]
        };
        assert_eq!(got, [Some(1), Some(2), None]);
        // select array_send('{}'::text[])
        let empty = b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19";
        let (b, n) = enc(&ArrayOf::<&[&str]>(&[]), Format::Binary);
        assert_eq!(&b[..n], empty);
        assert!(Array::decode_binary(empty).unwrap().is_empty());
        assert_eq!(<ArrayOf<&[i64]> as ToValue>::TYPE_OID, crate::oid::INT8_ARRAY);
    }

    #[test]
    fn golden_text() {
        // select array['a b', null, 'x"y', '', 'null', 'a\b', '{}']::text[]
        let golden = br#"{"a b",NULL,"x\"y","","null","a\\b","{}"}"#;
        let v = ArrayOf([Some("a b"), None, Some("x\"y"), Some(""), Some("null"), Some("a\\b"), Some("{}")]);
        let (b, n) = enc(&v, Format::Text);
        assert_eq!(&b[..n], golden);
        let a = Array::decode_text(golden).unwrap();
        assert_eq!(a.len(), 7);
        let mut it = a.iter();
        assert_eq!(it.next().unwrap().unwrap().decode::<&str>(), Ok("a b"));
        assert_eq!(it.next().unwrap(), None);
        let xy = it.next().unwrap().unwrap();
        assert!(xy.needs_unescape());
        assert_eq!(xy.decode::<&str>(), Err(DecodeError::InvalidValue));
        let mut scratch = [0u8; 8];
        assert_eq!(xy.decode_with::<&str>(&mut scratch), Ok("x\"y"));
        assert_eq!(it.next().unwrap().unwrap().decode::<&str>(), Ok(""));
        assert_eq!(it.next().unwrap().unwrap().decode::<&str>(), Ok("null"));
        assert!(it.next().unwrap().unwrap().bytes().eq(*b"a\\b"));
        assert_eq!(it.next().unwrap().unwrap().decode::<&str>(), Ok("{}"));
        assert!(it.next().is_none());
    }

    #[test]
    fn text_input() {
        let a = Array::decode_text(b" { 1 , 2 ,NULL, a\\,b } ").unwrap();
        let v: [Option<ArrayElement<'_>>; 4] = {
            let mut it = a.iter();
            [it.next().unwrap(), it.next().unwrap(), it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(v[0].unwrap().raw(), b"1");
        assert!(v[2].is_none());
        assert!(v[3].unwrap().bytes().eq(*b"a,b"));
        assert!(Array::decode_text(b"{}").unwrap().is_empty());
        assert_eq!(Array::decode_text(b"[0:1]={1,2}").unwrap().lower_bound(), 0);
        for bad in
            [&b"{1,}"[..], b"{,1}", b"{1", b"1}", b"{{1}}", b"{\"a}", b"{a\"b}", b"[1:3]={1}", b"{1 2,}", b"{\"a\" b}"]
        {
            assert_eq!(Array::decode_text(bad).err(), Some(DecodeError::InvalidValue), "{bad:?}");
        }
        // Multi-dimensional binary arrays are not supported.
        assert!(Array::decode_binary(b"\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x17").is_err());
    }
}
