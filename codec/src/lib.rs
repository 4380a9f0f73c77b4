//! # postwire-codec
//!
//! The PostgreSQL frontend/backend protocol (versions 3.0 and 3.2) as a
//! `no_std`, zero-copy codec: every message in both directions, framing with
//! limits checked from the header, value encoders for the common types, and
//! SQLSTATE codes.
//!
//! ## Decoding
//! Frame first, then decode. Framing reads only the header to decide whether a
//! whole message is there; decoding borrows `&str`/`&[u8]` views from the input
//! and walks repeated fields with iterators, so nothing allocates.
//!
//! ```
//! use postwire_codec::backend::BackendMessage;
//! use postwire_codec::frame::{frame_message, FrameLimits, Framed};
//!
//! let input = b"Z\0\0\0\x05I";
//! let Framed::Complete { item, consumed } = frame_message(input, &FrameLimits::DEFAULT)? else {
//!     unreachable!("the whole message is there");
//! };
//! assert_eq!(consumed, input.len());
//! assert!(matches!(BackendMessage::decode(item)?, BackendMessage::ReadyForQuery(_)));
//! # Ok::<(), postwire_codec::DecodeError>(())
//! ```
//!
//! ## Encoding
//! Every message implements [`Encode`]: into a `&mut [u8]` (the buffer is left
//! untouched when it is too small, and the error says how much is needed), into
//! a `bytes::BufMut` with the `bytes` feature, into a `Vec` with `alloc`.
//!
//! ## Features
//! - none by default: `no_std`, no allocation;
//! - `alloc`: `Vec`-based conveniences; `std`: implies `alloc`;
//! - `bytes`: `BufMut` encoding and zero-copy frame splitting off `BytesMut`;
//! - `defmt`: `defmt::Format` on messages and errors;
//! - `saslprep`: SASLprep of non-ASCII SCRAM passwords, as PostgreSQL does
//!   (implies `std`).
//!
//! ## Authentication
//! [`auth`] has SCRAM-SHA-256(-PLUS) verifiers in PostgreSQL's format and
//! both sides of the exchange, MD5 verifiers and OAUTHBEARER, with no
//! allocation; the session machines use it.
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[macro_use]
mod macros;

pub mod auth;
pub mod backend;
pub mod copy;
mod error;
mod format;
pub mod frame;
pub mod frontend;
pub mod oid;
pub mod read;
pub mod session;
pub mod sqlstate;
pub mod value;
pub mod write;

pub use copy::{CopyData, CopyDone};
pub use error::{DecodeError, EncodeError};
pub use format::{Format, Oid};
pub use frame::{FrameLimits, Framed};
pub use sqlstate::SqlState;
pub use write::{Encode, Sink};
