//! Describe and Close: both name a prepared statement or a portal.

use crate::{
    error::{DecodeError, EncodeError},
    read::Reader,
    write::{Encode, Sink},
};

/// What a Describe or Close refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TargetKind {
    /// A prepared statement (`S`).
    Statement,
    /// A portal (`P`).
    Portal,
}

impl TargetKind {
    /// The kind for a wire byte: `S` or `P`.
    #[inline]
    pub const fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            b'S' => Ok(TargetKind::Statement),
            b'P' => Ok(TargetKind::Portal),
            _ => Err(DecodeError::InvalidValue),
        }
    }

    /// The wire byte.
    #[inline]
    pub const fn byte(self) -> u8 {
        match self {
            TargetKind::Statement => b'S',
            TargetKind::Portal => b'P',
        }
    }
}

/// Reads the shared body: a kind byte and a name.
#[inline]
fn read_target(body: &[u8]) -> Result<(TargetKind, &str), DecodeError> {
    let mut r = Reader::new(body);
    let kind = TargetKind::from_byte(r.u8()?)?;
    let name = r.cstr()?;
    r.finish()?;
    Ok((kind, name))
}

/// Defines a message made of a target kind and a name.
macro_rules! target_message {
    ($(#[$doc:meta])* $name:ident, $tag:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name<'a> {
            /// Statement or portal.
            pub kind: TargetKind,
            /// Its name; empty for the unnamed one.
            pub name: &'a str,
        }

        impl<'a> $name<'a> {
            /// The type byte.
            pub const TAG: u8 = $tag;

            /// Decodes a body.
            #[inline]
            pub fn decode_body(body: &'a [u8]) -> Result<Self, DecodeError> {
                read_target(body).map(|(kind, name)| $name { kind, name })
            }
        }

        impl Encode for $name<'_> {
            #[inline]
            fn tag(&self) -> Option<u8> {
                Some(Self::TAG)
            }
            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                sink.put_u8(self.kind.byte());
                sink.put_cstr(self.name.as_bytes())
            }
        }
    };
}

target_message!(
    /// Describe (`D`): asks for a statement's parameter and row descriptions,
    /// or a portal's row description.
    Describe,
    b'D'
);
target_message!(
    /// Close (`C`): drops a prepared statement or a portal.
    Close,
    b'C'
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::test_util::{check_golden, check_truncations};

    #[test]
    fn golden() {
        let d = Describe { kind: TargetKind::Statement, name: "s1" };
        check_golden(&d, b"D\0\0\0\x08Ss1\0", Describe::decode_body);
        let c = Close { kind: TargetKind::Portal, name: "" };
        check_golden(&c, b"C\0\0\0\x06P\0", Close::decode_body);
        check_truncations(b"Ss1\0", Describe::decode_body);
        check_truncations(b"P\0", Close::decode_body);
    }

    #[test]
    fn bad_kind_and_trailing() {
        assert_eq!(Describe::decode_body(b"X\0"), Err(DecodeError::InvalidValue));
        assert_eq!(Close::decode_body(b"S\0\0"), Err(DecodeError::TrailingBytes));
    }
}
