//! A portal's parameters, copied out of its Bind message.

use postwire_codec::value::FromValue;
use postwire_codec::{Format, SqlState};

use crate::handler::QueryError;

/// Bytes of parameter data a portal keeps (lengths included).
pub(crate) const PARAM_BYTES: usize = 128;
/// Parameters a statement may have.
pub(crate) const MAX_PARAMS: usize = 8;

/// Parameter values stored as on the wire: a 4-byte length (-1 for NULL),
/// then the bytes; `binary` has bit `i` set for a binary-format parameter.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParamStore {
    bytes: heapless::Vec<u8, PARAM_BYTES>,
    count: u8,
    binary: u8,
}

impl ParamStore {
    pub(crate) const fn new() -> Self {
        ParamStore { bytes: heapless::Vec::new(), count: 0, binary: 0 }
    }

    /// Copies `values` (with their formats); `None` when they do not fit.
    pub(crate) fn fill<'v>(
        &mut self,
        values: impl Iterator<Item = Option<&'v [u8]>>,
        format: impl Fn(usize) -> Option<Format>,
    ) -> Option<()> {
        self.bytes.clear();
        self.count = 0;
        self.binary = 0;
        for (i, value) in values.enumerate() {
            if i >= MAX_PARAMS {
                return None;
            }
            let len = value.map_or(-1, |v| v.len() as i32);
            self.bytes.extend_from_slice(&len.to_be_bytes()).ok()?;
            self.bytes.extend_from_slice(value.unwrap_or_default()).ok()?;
            if format(i) == Some(Format::Binary) {
                self.binary |= 1 << i;
            }
            self.count += 1;
        }
        Some(())
    }

    pub(crate) fn view(&self) -> Params<'_> {
        Params { bytes: &self.bytes, count: usize::from(self.count), binary: self.binary }
    }
}

/// The parameters of the statement being run (`$1` is index 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Params<'a> {
    bytes: &'a [u8],
    count: usize,
    binary: u8,
}

impl<'a> Params<'a> {
    /// How many there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none (a simple query).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The raw bytes of parameter `i` (`Some(None)` for NULL) and their format.
    pub fn raw(&self, i: usize) -> Option<(Option<&'a [u8]>, Format)> {
        let mut rest = self.bytes;
        for index in 0..self.count {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = i32::from_be_bytes(*len);
            let (value, tail) = match usize::try_from(len) {
                Ok(n) => (Some(tail.get(..n)?), tail.get(n..)?),
                Err(_) => (None, tail),
            };
            if index == i {
                let format = if self.binary & (1 << i) != 0 { Format::Binary } else { Format::Text };
                return Some((value, format));
            }
            rest = tail;
        }
        None
    }

    /// Parameter `i` decoded as `T`; `Ok(None)` for NULL. A missing
    /// parameter is 08P01, a value that does not parse 22P02.
    pub fn get<T: FromValue<'a>>(&self, i: usize) -> Result<Option<T>, QueryError> {
        let Some((value, format)) = self.raw(i) else {
            return Err(QueryError::new(SqlState::PROTOCOL_VIOLATION, "missing parameter"));
        };
        value
            .map(|bytes| T::decode(format, bytes))
            .transpose()
            .map_err(|_| QueryError::new(SqlState::INVALID_TEXT_REPRESENTATION, "invalid parameter value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_values_nulls_and_formats() {
        let mut store = ParamStore::default();
        let values = [Some(&b"42"[..]), None, Some(&[0, 0, 0, 7][..])];
        store.fill(values.into_iter(), |i| Some(if i == 2 { Format::Binary } else { Format::Text })).unwrap();
        let params = store.view();
        assert_eq!(params.len(), 3);
        assert_eq!(params.get::<i32>(0).unwrap(), Some(42));
        assert_eq!(params.get::<i32>(1).unwrap(), None);
        assert_eq!(params.get::<i32>(2).unwrap(), Some(7));
        assert_eq!(params.get::<i32>(3).unwrap_err().code, SqlState::PROTOCOL_VIOLATION);
        assert_eq!(params.get::<bool>(0).unwrap_err().code, SqlState::INVALID_TEXT_REPRESENTATION);
    }

    #[test]
    fn too_much_data_is_refused() {
        let big = [0u8; PARAM_BYTES];
        assert!(ParamStore::default().fill([Some(&big[..])].into_iter(), |_| None).is_none());
        let many = [None; MAX_PARAMS + 1];
        assert!(ParamStore::default().fill(many.into_iter(), |_| None).is_none());
    }
}
