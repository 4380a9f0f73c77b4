//! CommandComplete ('C').

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// CommandComplete ('C'): a command finished; `tag` names it, e.g. `"INSERT 0 3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CommandComplete<'a> {
    /// The command tag.
    pub tag: &'a str,
}

impl<'a> CommandComplete<'a> {
    /// The type byte.
    pub const TAG: u8 = b'C';

    /// Decodes a body.
    pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let tag = r.cstr()?;
        r.finish()?;
        Ok(CommandComplete { tag })
    }

    /// The row count the tag reports, for commands that report one.
    ///
    /// ```
    /// use postwire_codec::backend::CommandComplete;
    /// assert_eq!(CommandComplete { tag: "SELECT 5" }.rows(), Some(5));
    /// assert_eq!(CommandComplete { tag: "INSERT 0 3" }.rows(), Some(3));
    /// assert_eq!(CommandComplete { tag: "CREATE TABLE" }.rows(), None);
    /// ```
    pub fn rows(&self) -> Option<u64> {
        rows_in_tag(self.tag)
    }
}

/// Parses the row count from a command tag: `INSERT oid rows`, or
/// `SELECT|UPDATE|DELETE|MERGE|FETCH|MOVE|COPY rows`.
pub fn rows_in_tag(tag: &str) -> Option<u64> {
    let (command, rest) = tag.split_once(' ')?;
    let count = match command {
        "INSERT" => {
            let (oid, rows) = rest.split_once(' ')?;
            parse_u64(oid)?;
            rows
        }
        "SELECT" | "UPDATE" | "DELETE" | "MERGE" | "FETCH" | "MOVE" | "COPY" => rest,
        _ => return None,
    };
    parse_u64(count)
}

/// Plain decimal digits only: `str::parse` would also accept a leading `+`.
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Encode for CommandComplete<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        Some(Self::TAG)
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_cstr(self.tag.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{
        BackendMessage,
        test_util::{Tail, check_golden, decode},
    };

    #[test]
    fn golden() {
        let m = CommandComplete { tag: "UPDATE 2" };
        check_golden(b"C\0\0\0\x0dUPDATE 2\0", &BackendMessage::CommandComplete(m), Tail::Strict);
        assert_eq!(decode(b'C', b"\xff\0"), Err(DecodeError::InvalidUtf8));
        assert_eq!(CommandComplete { tag: "a\0b" }.encoded_len(), Err(EncodeError::NulInString));
    }

    #[test]
    fn row_counts() {
        for (tag, rows) in [
            ("SELECT 5", Some(5)),
            ("INSERT 0 3", Some(3)),
            ("UPDATE 2", Some(2)),
            ("DELETE 0", Some(0)),
            ("MERGE 7", Some(7)),
            ("FETCH 100", Some(100)),
            ("MOVE 1", Some(1)),
            ("COPY 18446744073709551615", Some(u64::MAX)),
            ("COPY 18446744073709551616", None),
            ("INSERT 3", None),
            ("INSERT x 3", None),
            ("SELECT +5", None),
            ("SELECT", None),
            ("SELECT ", None),
            ("BEGIN", None),
            ("CREATE TABLE", None),
            ("", None),
        ] {
            assert_eq!(rows_in_tag(tag), rows, "{tag}");
        }
    }
}
