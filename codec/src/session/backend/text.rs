//! Error messages with formatted parts, built on the stack.

use core::fmt::{self, Write};

/// A fixed buffer that `write!` fills, truncating (on a char boundary) when full.
pub(crate) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    pub(crate) fn new() -> Self {
        StackText { buf: [0; N], len: 0 }
    }

    pub(crate) fn format(args: fmt::Arguments<'_>) -> Self {
        let mut t = Self::new();
        // Truncation is the only failure, and it keeps what fit.
        let _ = t.write_fmt(args);
        t
    }

    pub(crate) fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        }
    }
}

impl<const N: usize> Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() { Err(fmt::Error) } else { Ok(()) }
    }
}

/// Formats into a 256-byte stack buffer.
macro_rules! stack_format {
    ($($arg:tt)*) => {
        $crate::session::backend::text::StackText::<256>::format(format_args!($($arg)*))
    };
}
pub(crate) use stack_format;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_a_char_boundary() {
        let t = StackText::<5>::format(format_args!("ab{}", "çdé"));
        assert_eq!(t.as_str(), "abçd");
        assert_eq!(stack_format!("x={}", 42).as_str(), "x=42");
    }
}
