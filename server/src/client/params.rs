//! Query parameters, encoded in the caller's task before they travel to the
//! connection task: one buffer per query holding the SQL text, then each
//! value's type, format, length and bytes (one allocation, freed by the
//! other thread, instead of two).

use postwire_codec::{Format, Oid};

use super::ClientError;
use crate::Value;

/// Parameters kept inline in the connection task without allocating.
pub(crate) const INLINE_PARAMS: usize = 16;

/// Bytes before each value: OID, format, length.
const HEADER: usize = 9;
/// Room for one value of a fixed-size binary type (8 bytes at most) and its
/// header.
#[cfg(feature = "postgres-types")]
pub(crate) const FIXED_VALUE: usize = HEADER + 8;
/// A Bind carries at most this many values (an Int16 count).
const MAX_PARAMS: usize = i16::MAX as usize;

/// Encoded parameters, after the statement's SQL text (empty for a
/// FunctionCall): per value its type OID (4 bytes), format (1 byte), length
/// (4 bytes, -1 for NULL) and bytes.
#[derive(Debug, Default)]
pub(crate) struct EncodedParams {
    bytes: Vec<u8>,
    /// The SQL text's length, at the front of `bytes`.
    sql: usize,
    count: usize,
}

impl EncodedParams {
    /// Encodes `params`: binary, except text (sent untyped, so the server
    /// infers the type as it does for a literal), numeric and json (text with
    /// their types). NULL gets an unspecified type.
    pub(crate) fn encode(params: &[Value]) -> Result<Self, ClientError> {
        Self::query("", params)
    }

    /// `sql` and its encoded `params` (see [`EncodedParams::encode`]).
    pub(crate) fn query(sql: &str, params: &[Value]) -> Result<Self, ClientError> {
        if params.len() > MAX_PARAMS {
            return Err(ClientError::Value(format!("{} parameters: at most {MAX_PARAMS}", params.len())));
        }
        let size: usize = params.iter().map(|p| HEADER + p.text_len_hint()).sum();
        let mut encoded = Self::with_sql(sql, size)?;
        let bytes = &mut encoded.bytes;
        for param in params {
            let (oid, format) = match param {
                Value::Null | Value::Text(_) => (0, Format::Text),
                Value::Numeric(_) | Value::Json(_) => (param.type_oid(), Format::Text),
                _ => (param.type_oid(), Format::Binary),
            };
            bytes.extend_from_slice(&oid.to_be_bytes());
            bytes.push(format as u8);
            if let Value::Null = param {
                bytes.extend_from_slice(&(-1i32).to_be_bytes());
                continue;
            }
            let at = bytes.len();
            bytes.extend_from_slice(&[0; 4]);
            param.encode(format, bytes).map_err(|e| ClientError::Value(e.to_string()))?;
            let len = i32::try_from(bytes.len() - at - 4).map_err(|_| ClientError::Value("value over 2 GiB".into()))?;
            bytes[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        encoded.count = params.len();
        Ok(encoded)
    }

    /// `sql` without parameters yet, with room for `size` bytes of them.
    pub(crate) fn with_sql(sql: &str, size: usize) -> Result<Self, ClientError> {
        super::connection::check_sql(sql)?;
        let mut bytes = Vec::with_capacity(sql.len() + size);
        bytes.extend_from_slice(sql.as_bytes());
        Ok(EncodedParams { bytes, sql: sql.len(), count: 0 })
    }

    /// The SQL text.
    pub(crate) fn sql(&self) -> &str {
        // Copied from a `&str`, so always UTF-8.
        std::str::from_utf8(&self.bytes[..self.sql]).unwrap_or_default()
    }

    /// Appends one value.
    #[cfg(feature = "postgres-types")]
    pub(crate) fn push(&mut self, oid: Oid, format: Format, value: Option<&[u8]>) -> Result<(), ClientError> {
        if self.count == MAX_PARAMS {
            return Err(ClientError::Value(format!("more than {MAX_PARAMS} parameters")));
        }
        self.bytes.extend_from_slice(&oid.to_be_bytes());
        self.bytes.push(format as u8);
        match value {
            None => self.bytes.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(value) => {
                let len = i32::try_from(value.len()).map_err(|_| ClientError::Value("value over 2 GiB".into()))?;
                self.bytes.extend_from_slice(&len.to_be_bytes());
                self.bytes.extend_from_slice(value);
            }
        }
        self.count += 1;
        Ok(())
    }

    /// The number of parameters.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Bytes the Bind message needs for the values.
    pub(crate) fn wire_size(&self) -> usize {
        self.bytes.len() - self.sql
    }

    /// Each parameter's type, format and value (`None` for NULL).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Oid, Format, Option<&[u8]>)> + Clone {
        let mut rest = &self.bytes[self.sql..];
        std::iter::from_fn(move || {
            let (head, tail) = rest.split_at_checked(HEADER)?;
            let oid = Oid::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let format = if head[4] == Format::Binary as u8 { Format::Binary } else { Format::Text };
            let len = i32::from_be_bytes([head[5], head[6], head[7], head[8]]);
            let Ok(len) = usize::try_from(len) else {
                rest = tail;
                return Some((oid, format, None));
            };
            let (value, tail) = tail.split_at(len);
            rest = tail;
            Some((oid, format, Some(value)))
        })
    }

    /// The type OIDs, for the statement cache and Parse.
    pub(crate) fn types(&self) -> impl Iterator<Item = Oid> + Clone {
        self.iter().map(|(oid, _, _)| oid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let params = EncodedParams::encode(&[Value::Int4(7), Value::Null, Value::Text("hé".into())]).unwrap();
        let decoded: Vec<_> = params.iter().collect();
        assert_eq!(params.len(), 3);
        assert_eq!(decoded[0], (postwire_codec::oid::INT4, Format::Binary, Some(&7i32.to_be_bytes()[..])));
        assert_eq!(decoded[1], (0, Format::Text, None));
        assert_eq!(decoded[2], (0, Format::Text, Some("hé".as_bytes())));
        let query = EncodedParams::query("SELECT $1", &[Value::Int4(7)]).unwrap();
        assert_eq!(query.sql(), "SELECT $1");
        assert_eq!(query.iter().collect::<Vec<_>>(), decoded[..1]);
        assert_eq!(query.wire_size(), HEADER + 4);
        assert!(EncodedParams::query("SELECT '\0'", &[]).is_err());
    }
}
