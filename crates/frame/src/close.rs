//! Close codes and the Close frame body (RFC 6455 §5.5.1, §7.4).

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::utf8::Utf8Bytes;

/// A close status code (RFC 6455 §7.4), as carried in the first two bytes of a Close frame.
///
/// Any `u16` can be represented; [`CloseCode::is_sendable`] tells whether a code may appear on
/// the wire. The constants name the codes RFC 6455 and the IANA registry define.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: the endpoint received a data type it cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: reserved; stands for "no code was present". Never sent on the wire.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: reserved; stands for "closed without a Close frame". Never sent on the wire.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a message's payload was inconsistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message or frame was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway received an invalid response (IANA registry).
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: reserved; stands for "the TLS handshake failed". Never sent on the wire.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Wraps a raw code.
    pub const fn new(code: u16) -> Self {
        Self(code)
    }

    /// The raw code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether the code may appear in a Close frame on the wire (RFC 6455 §7.4.1 and §7.4.2):
    /// the defined codes 1000-1003 and 1007-1014, and the registered and private ranges
    /// 3000-4999. 1004, 1005, 1006 and 1015 are reserved, everything else below 3000 is
    /// unassigned, and 5000 and above are out of range.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The body of a Close frame that carries a code: the code and a UTF-8 reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// Why the connection is closing.
    pub code: CloseCode,
    /// Text for humans; at most [`CloseFrame::MAX_REASON_LEN`] bytes.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// The longest reason that fits a control frame: 125 bytes less two for the code.
    pub const MAX_REASON_LEN: usize = 123;

    /// A Close frame body with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// Parses a received Close payload: empty means no code; otherwise a sendable code and a
    /// UTF-8 reason (RFC 6455 §5.5.1).
    pub(crate) fn parse(payload: Bytes) -> Result<Option<Self>, ProtocolError> {
        match payload.len() {
            0 => Ok(None),
            1 => Err(ProtocolError::InvalidClosePayload),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                if !code.is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                let mut reason = payload;
                reason.advance(2);
                let reason =
                    Utf8Bytes::try_from(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
                Ok(Some(Self { code, reason }))
            }
        }
    }

    /// Appends the wire form (code, then reason) to `dst`.
    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_u16(self.code.0);
        dst.extend_from_slice(self.reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_follow_rfc_6455_section_7_4() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 3999, 4000, 4999,
        ] {
            assert!(CloseCode::new(code).is_sendable(), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode::new(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn parse_rejects_one_byte_bad_codes_and_bad_utf8() {
        assert_eq!(CloseFrame::parse(Bytes::new()), Ok(None));
        assert_eq!(
            CloseFrame::parse(Bytes::copy_from_slice(&[3u8][..])),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(Bytes::copy_from_slice(&[0x03, 0xed][..])),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(Bytes::copy_from_slice(&[0x03, 0xe8, 0xff][..])),
            Err(ProtocolError::InvalidCloseReason)
        );
        let frame = CloseFrame::parse(Bytes::copy_from_slice(&b"\x0f\xa0bye"[..]))
            .unwrap()
            .unwrap();
        assert_eq!(frame.code, CloseCode::new(4000));
        assert_eq!(frame.reason, "bye");
    }
}
