//! Macros shared by the backend and frontend message modules.

/// Defines a tagged message with an empty body: a unit struct with `TAG`,
/// `decode_body` (which insists the body is empty) and `Encode`.
macro_rules! empty_message {
    ($(#[$doc:meta])* $name:ident = $tag:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name;

        impl $name {
            /// The type byte.
            pub const TAG: u8 = $tag;

            /// Decodes a body, which must be empty.
            #[inline]
            pub fn decode_body(body: &[u8]) -> Result<Self, $crate::DecodeError> {
                $crate::read::Reader::new(body).finish().map(|()| $name)
            }
        }

        impl $crate::Encode for $name {
            #[inline]
            fn tag(&self) -> Option<u8> {
                Some(Self::TAG)
            }
            #[inline]
            fn write_body<S: $crate::Sink>(&self, _: &mut S) -> Result<(), $crate::EncodeError> {
                Ok(())
            }
        }
    };
}
