//! The startup phase: StartupMessage, SSLRequest, GSSENCRequest and
//! CancelRequest, all untagged and framed with
//! [`frame_startup`](crate::frame::frame_startup).

use core::fmt;

use crate::{
    error::{DecodeError, EncodeError},
    frame::{FrameLimits, Framed, RawStartup, frame_startup, is_direct_tls},
    read::Reader,
    write::{Encode, Sink},
};

use super::cancel::CancelRequest;

/// A protocol version: the 32-bit code of a StartupMessage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProtocolVersion {
    /// The major version (high 16 bits).
    pub major: u16,
    /// The minor version (low 16 bits).
    pub minor: u16,
}

impl ProtocolVersion {
    /// Protocol 3.0 (code 196608), spoken by every PostgreSQL since 7.4.
    pub const V3_0: ProtocolVersion = ProtocolVersion { major: 3, minor: 0 };
    /// Protocol 3.2 (code 196610), PostgreSQL 18: longer cancel keys.
    pub const V3_2: ProtocolVersion = ProtocolVersion { major: 3, minor: 2 };

    /// Splits a 32-bit code.
    #[inline]
    pub const fn from_code(code: u32) -> Self {
        ProtocolVersion { major: (code >> 16) as u16, minor: code as u16 }
    }

    /// The 32-bit code.
    #[inline]
    pub const fn code(self) -> u32 {
        (self.major as u32) << 16 | self.minor as u32
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The prefix of parameter names that are protocol options, not settings.
pub const PROTOCOL_OPTION_PREFIX: &str = "_pq_.";

/// A StartupMessage's parameters: (name, value) pairs.
///
/// Decoding checks every pair (NUL-terminated UTF-8, then the empty-name
/// terminator), so iterating cannot fail.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StartupParams<'a>(ParamsRepr<'a>);

#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum ParamsRepr<'a> {
    /// Validated pairs of C strings, terminator excluded.
    Wire(&'a [u8]),
    Slice(&'a [(&'a str, &'a str)]),
}

impl<'a> StartupParams<'a> {
    /// Pairs to encode. Names must not be empty (an empty name ends the list).
    #[inline]
    pub const fn from_slice(pairs: &'a [(&'a str, &'a str)]) -> Self {
        StartupParams(ParamsRepr::Slice(pairs))
    }

    /// Reads pairs up to the terminator, which must end the body.
    fn read(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        loop {
            let pairs_len = body.len() - r.remaining().len();
            if r.cstr()?.is_empty() {
                r.finish()?;
                return Ok(StartupParams(ParamsRepr::Wire(body.get(..pairs_len).unwrap_or_default())));
            }
            r.cstr()?;
        }
    }

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        for (name, value) in self.iter() {
            if name.is_empty() {
                return Err(EncodeError::InvalidValue);
            }
            sink.put_cstr(name.as_bytes())?;
            sink.put_cstr(value.as_bytes())?;
        }
        sink.put_u8(0);
        Ok(())
    }

    /// The pairs in order.
    #[inline]
    pub fn iter(&self) -> StartupParamsIter<'a> {
        StartupParamsIter(match self.0 {
            ParamsRepr::Wire(bytes) => ParamsIterRepr::Wire(Reader::new(bytes)),
            ParamsRepr::Slice(pairs) => ParamsIterRepr::Slice(pairs.iter()),
        })
    }

    /// The value of the first parameter called `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The protocol options: pairs whose name starts with `_pq_.` (full names).
    #[inline]
    pub fn protocol_options(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.iter().filter(|(n, _)| n.starts_with(PROTOCOL_OPTION_PREFIX))
    }
}

impl<'a> IntoIterator for StartupParams<'a> {
    type Item = (&'a str, &'a str);
    type IntoIter = StartupParamsIter<'a>;
    #[inline]
    fn into_iter(self) -> StartupParamsIter<'a> {
        self.iter()
    }
}

impl PartialEq for StartupParams<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for StartupParams<'_> {}

impl fmt::Debug for StartupParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over [`StartupParams`].
#[derive(Debug, Clone)]
pub struct StartupParamsIter<'a>(ParamsIterRepr<'a>);

#[derive(Debug, Clone)]
enum ParamsIterRepr<'a> {
    Wire(Reader<'a>),
    Slice(core::slice::Iter<'a, (&'a str, &'a str)>),
}

impl<'a> Iterator for StartupParamsIter<'a> {
    type Item = (&'a str, &'a str);
    #[inline]
    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        match &mut self.0 {
            ParamsIterRepr::Wire(r) => {
                if r.is_empty() {
                    return None;
                }
                // Validated at decode time; stop rather than panic if not.
                match (r.cstr(), r.cstr()) {
                    (Ok(n), Ok(v)) => Some((n, v)),
                    _ => {
                        r.rest();
                        None
                    }
                }
            }
            ParamsIterRepr::Slice(it) => it.next().copied(),
        }
    }
}

/// StartupMessage: the protocol version and session parameters (`user`,
/// `database`, `options`, `application_name`, any GUC, `_pq_.` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StartupMessage<'a> {
    /// The version asked for. Any 3.x decodes; the server negotiates the minor.
    pub version: ProtocolVersion,
    /// The parameters.
    pub params: StartupParams<'a>,
}

impl<'a> StartupMessage<'a> {
    /// Decodes the body after the version code. A major version other than 3
    /// is [`DecodeError::UnsupportedProtocol`].
    #[inline]
    pub fn decode_body(version: ProtocolVersion, body: &'a [u8]) -> Result<Self, DecodeError> {
        if version.major != 3 {
            return Err(DecodeError::UnsupportedProtocol { major: version.major, minor: version.minor });
        }
        Ok(StartupMessage { version, params: StartupParams::read(body)? })
    }

    /// The `user` parameter (the server requires it).
    #[inline]
    pub fn user(&self) -> Option<&'a str> {
        self.params.get("user")
    }

    /// The `database` parameter. When absent the server uses the user name;
    /// see [`Self::database_or_user`].
    #[inline]
    pub fn database(&self) -> Option<&'a str> {
        self.params.get("database")
    }

    /// The database to connect to: `database`, or else `user`.
    #[inline]
    pub fn database_or_user(&self) -> Option<&'a str> {
        self.database().or_else(|| self.user())
    }

    /// The `options` parameter: command-line style settings (`-c name=value`).
    #[inline]
    pub fn options(&self) -> Option<&'a str> {
        self.params.get("options")
    }

    /// The value of parameter `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.params.get(name)
    }

    /// Protocol options (`_pq_.` names), which the server must accept or
    /// list in NegotiateProtocolVersion.
    #[inline]
    pub fn protocol_options(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.params.protocol_options()
    }
}

impl Encode for StartupMessage<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        None
    }
    /// Fails with `InvalidValue` for an empty parameter name.
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.put_u32(self.version.code());
        self.params.write(sink)
    }
}

/// Defines a request packet that is only its code.
macro_rules! code_only_request {
    ($(#[$doc:meta])* $name:ident, $code:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name;

        impl $name {
            /// The request code in place of a protocol version.
            pub const CODE: u32 = $code;

            /// Decodes the body after the code, which must be empty.
            #[inline]
            pub fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
                Reader::new(body).finish().map(|()| $name)
            }
        }

        impl Encode for $name {
            #[inline]
            fn tag(&self) -> Option<u8> {
                None
            }
            #[inline]
            fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
                sink.put_u32(Self::CODE);
                Ok(())
            }
        }
    };
}

code_only_request!(
    /// SSLRequest (1234.5679): asks to switch to TLS; the server answers one byte, `S` or `N`.
    SslRequest,
    80_877_103
);
code_only_request!(
    /// GSSENCRequest (1234.5680): asks for GSSAPI encryption; the server answers `G` or `N`.
    GssEncRequest,
    80_877_104
);

/// Any startup-phase packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StartupPacket<'a> {
    /// Start a session.
    Startup(StartupMessage<'a>),
    /// Switch to TLS first.
    SslRequest(SslRequest),
    /// Switch to GSSAPI encryption first.
    GssEncRequest(GssEncRequest),
    /// Cancel another session's query.
    CancelRequest(CancelRequest<'a>),
}

impl<'a> StartupPacket<'a> {
    /// Decodes a framed packet by its code. Major versions other than 3 and
    /// unknown request codes (1234.x) are [`DecodeError::UnsupportedProtocol`].
    #[inline]
    pub fn decode(raw: RawStartup<'a>) -> Result<Self, DecodeError> {
        match raw.code {
            SslRequest::CODE => SslRequest::decode_body(raw.body).map(StartupPacket::SslRequest),
            GssEncRequest::CODE => GssEncRequest::decode_body(raw.body).map(StartupPacket::GssEncRequest),
            CancelRequest::CODE => CancelRequest::decode_body(raw.body).map(StartupPacket::CancelRequest),
            code => StartupMessage::decode_body(ProtocolVersion::from_code(code), raw.body).map(StartupPacket::Startup),
        }
    }

    /// Frames and decodes one packet from the front of `buf`.
    ///
    /// ```
    /// use postwire_codec::frame::{FrameLimits, Framed};
    /// use postwire_codec::frontend::StartupPacket;
    /// let ssl = b"\0\0\0\x08\x04\xd2\x16\x2f";
    /// assert!(matches!(
    ///     StartupPacket::parse(ssl, &FrameLimits::DEFAULT)?,
    ///     Framed::Complete { item: StartupPacket::SslRequest(_), consumed: 8 }
    /// ));
    /// # Ok::<(), postwire_codec::DecodeError>(())
    /// ```
    #[inline]
    pub fn parse(buf: &'a [u8], limits: &FrameLimits) -> Result<Framed<StartupPacket<'a>>, DecodeError> {
        frame_startup(buf, limits)?.try_map(StartupPacket::decode)
    }
}

impl Encode for StartupPacket<'_> {
    #[inline]
    fn tag(&self) -> Option<u8> {
        None
    }
    #[inline]
    fn write_body<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        match self {
            StartupPacket::Startup(m) => m.write_body(sink),
            StartupPacket::SslRequest(m) => m.write_body(sink),
            StartupPacket::GssEncRequest(m) => m.write_body(sink),
            StartupPacket::CancelRequest(m) => m.write_body(sink),
        }
    }
}

/// How a client opens a connection, told from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectionStart {
    /// A TLS ClientHello (`sslnegotiation=direct`, PostgreSQL 17+): hand the
    /// bytes to TLS; a startup packet follows inside the TLS session.
    DirectTls,
    /// A startup packet: frame it with [`StartupPacket::parse`].
    StartupPacket,
}

impl ConnectionStart {
    /// Classifies the first bytes received; `None` until there is one.
    ///
    /// ```
    /// use postwire_codec::frontend::ConnectionStart;
    /// assert_eq!(ConnectionStart::classify(&[0x16, 3, 1]), Some(ConnectionStart::DirectTls));
    /// assert_eq!(ConnectionStart::classify(&[0, 0, 0, 8]), Some(ConnectionStart::StartupPacket));
    /// assert_eq!(ConnectionStart::classify(&[]), None);
    /// ```
    #[inline]
    pub const fn classify(first_bytes: &[u8]) -> Option<Self> {
        if first_bytes.is_empty() {
            None
        } else if is_direct_tls(first_bytes) {
            Some(ConnectionStart::DirectTls)
        } else {
            Some(ConnectionStart::StartupPacket)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTUP: &[u8] = b"\0\0\0\x28\0\x03\0\x02user\0bob\0database\0db\0_pq_.x\0on\0\0";

    fn decode(bytes: &[u8]) -> Result<StartupPacket<'_>, DecodeError> {
        match StartupPacket::parse(bytes, &FrameLimits::DEFAULT)? {
            Framed::Complete { item, consumed } => {
                assert_eq!(consumed, bytes.len());
                Ok(item)
            }
            Framed::Incomplete { .. } => Err(DecodeError::UnexpectedEnd),
        }
    }

    fn check_golden(packet: StartupPacket<'_>, frame: &[u8]) {
        let mut buf = [0u8; 128];
        assert_eq!(packet.encode(&mut buf), Ok(frame.len()));
        assert_eq!(&buf[..frame.len()], frame);
        assert_eq!(decode(frame), Ok(packet));
        for end in 0..frame.len() {
            assert!(decode(&frame[..end]).is_err(), "prefix {end}");
        }
    }

    #[test]
    fn versions() {
        assert_eq!(ProtocolVersion::V3_0.code(), 196_608);
        assert_eq!(ProtocolVersion::V3_2.code(), 196_610);
        assert_eq!(ProtocolVersion::from_code(80_877_103), ProtocolVersion { major: 1234, minor: 5679 });
    }

    #[test]
    fn request_golden() {
        check_golden(StartupPacket::SslRequest(SslRequest), b"\0\0\0\x08\x04\xd2\x16\x2f");
        check_golden(StartupPacket::GssEncRequest(GssEncRequest), b"\0\0\0\x08\x04\xd2\x16\x30");
        let cancel = CancelRequest { process_id: 7, secret_key: b"\x01\x02\x03\x04\x05" };
        check_golden(StartupPacket::CancelRequest(cancel), b"\0\0\0\x11\x04\xd2\x16\x2e\0\0\0\x07\x01\x02\x03\x04\x05");
        assert_eq!(decode(b"\0\0\0\x09\x04\xd2\x16\x2f\0"), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn startup_golden() {
        let pairs = [("user", "bob"), ("database", "db"), ("_pq_.x", "on")];
        let msg = StartupMessage { version: ProtocolVersion::V3_2, params: StartupParams::from_slice(&pairs) };
        check_golden(StartupPacket::Startup(msg), STARTUP);
        let Ok(StartupPacket::Startup(d)) = decode(STARTUP) else { panic!() };
        assert_eq!(d.user(), Some("bob"));
        assert_eq!(d.database(), Some("db"));
        assert_eq!(d.get("_pq_.x"), Some("on"));
        assert_eq!(d.options(), None);
        assert!(d.protocol_options().eq([("_pq_.x", "on")]));
        assert!(d.params.iter().eq(pairs));
    }

    #[test]
    fn startup_minimal_and_defaults() {
        let only_user = b"\0\0\0\x12\0\x03\0\0user\0bob\0\0";
        let Ok(StartupPacket::Startup(d)) = decode(only_user) else { panic!() };
        assert_eq!((d.version, d.database(), d.database_or_user()), (ProtocolVersion::V3_0, None, Some("bob")));
        let empty = b"\0\0\0\x09\0\x03\0\x09\0";
        let Ok(StartupPacket::Startup(d)) = decode(empty) else { panic!() };
        assert_eq!((d.version.minor, d.params.iter().count()), (9, 0));
    }

    #[test]
    fn startup_errors() {
        assert_eq!(decode(b"\0\0\0\x09\0\x02\0\0\0"), Err(DecodeError::UnsupportedProtocol { major: 2, minor: 0 }));
        assert_eq!(
            decode(b"\0\0\0\x08\x04\xd2\x16\x31"),
            Err(DecodeError::UnsupportedProtocol { major: 1234, minor: 5681 })
        );
        // Missing terminator, missing value, bytes after the terminator, bad UTF-8.
        assert_eq!(decode(b"\0\0\0\x11\0\x03\0\0user\0bob\0"), Err(DecodeError::MissingNul));
        assert_eq!(decode(b"\0\0\0\x0d\0\x03\0\0user\0"), Err(DecodeError::MissingNul));
        assert_eq!(decode(b"\0\0\0\x0a\0\x03\0\0\0x"), Err(DecodeError::TrailingBytes));
        assert_eq!(decode(b"\0\0\0\x0d\0\x03\0\0a\0\xff\0\0"), Err(DecodeError::InvalidUtf8));
        let bad = [("", "x")];
        let msg = StartupMessage { version: ProtocolVersion::V3_0, params: StartupParams::from_slice(&bad) };
        assert_eq!(msg.encoded_len(), Err(EncodeError::InvalidValue));
    }
}
