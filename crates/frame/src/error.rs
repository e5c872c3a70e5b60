//! Errors: what a peer did wrong ([`ProtocolError`], each with its close code) and what a
//! caller asked for that cannot be done ([`SendError`]).

use std::fmt;

use crate::close::CloseCode;

/// The peer broke RFC 6455 or one of our limits. The connection has failed (RFC 6455 §7.1.7):
/// a Close frame with [`ProtocolError::close_code`] has been queued, and no further input is
/// processed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reserved bit was set that no negotiated extension defines (§5.2). 1002.
    ReservedBits,
    /// RSV1, which the negotiated extension uses to mark a message, on a control frame or a
    /// continuation frame: only a message's first frame may carry it (RFC 7692 §6). 1002.
    MisplacedRsv1,
    /// An opcode RFC 6455 reserves (§5.2). 1002.
    ReservedOpcode(u8),
    /// A 64-bit payload length with its most significant bit set (§5.2). 1002.
    InvalidLength,
    /// A control frame without FIN (§5.5). 1002.
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload (§5.5). 1002.
    ControlFrameTooLong,
    /// A continuation frame with no fragmented message to continue (§5.4). 1002.
    UnexpectedContinuation,
    /// A new text or binary frame before the fragmented message in progress ended (§5.4). 1002.
    ExpectedContinuation,
    /// A server received a frame the client did not mask (§5.1). 1002.
    UnmaskedFrame,
    /// A client received a frame the server masked (§5.1). 1002.
    MaskedFrame,
    /// A Close frame with a one-byte payload (§5.5.1). 1002.
    InvalidClosePayload,
    /// A Close frame with a code that may not be sent (§7.4). 1002.
    InvalidCloseCode(u16),
    /// A text message that is not UTF-8 (§8.1). 1007.
    InvalidUtf8,
    /// A close reason that is not UTF-8 (§5.5.1). 1007.
    InvalidCloseReason,
    /// A message the negotiated extension cannot decode, such as corrupt DEFLATE data
    /// (RFC 7692 §8.2.3). 1007.
    InvalidExtensionData,
    /// A frame longer than the configured limit. 1009.
    FrameTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// A message longer than the configured limit. 1009.
    MessageTooLarge {
        /// The limit in bytes.
        max: usize,
    },
}

impl ProtocolError {
    /// The close code this error fails the connection with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCloseReason | Self::InvalidExtensionData => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits => {
                f.write_str("reserved bits set that no negotiated extension defines")
            }
            Self::MisplacedRsv1 => f.write_str("RSV1 set on a control or continuation frame"),
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::InvalidLength => f.write_str("payload length with its most significant bit set"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::ControlFrameTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame without a message to continue")
            }
            Self::ExpectedContinuation => f.write_str("new data frame inside a fragmented message"),
            Self::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            Self::MaskedFrame => f.write_str("masked frame from a server"),
            Self::InvalidClosePayload => f.write_str("close frame with a one-byte payload"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in a text message"),
            Self::InvalidCloseReason => f.write_str("invalid UTF-8 in a close reason"),
            Self::InvalidExtensionData => f.write_str("message data the extension cannot decode"),
            Self::FrameTooLarge { max } => write!(f, "frame larger than the limit of {max} bytes"),
            Self::MessageTooLarge { max } => {
                write!(f, "message larger than the limit of {max} bytes")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A message that cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The closing handshake has started (or the connection failed): after a Close frame no
    /// data may follow (RFC 6455 §5.5.1).
    Closed,
    /// A Ping or Pong payload over 125 bytes, or a close reason over 123 bytes (§5.5).
    ControlFrameTooLong,
    /// A close code that may not appear on the wire (§7.4), such as 1005 or 1006.
    InvalidCloseCode(u16),
    /// A fragment that does not fit the message in progress: a continuation with no message
    /// started, or a new message while one is unfinished.
    UnexpectedFragment,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the connection is closing or closed"),
            Self::ControlFrameTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::UnexpectedFragment => {
                f.write_str("fragment does not fit the message in progress")
            }
        }
    }
}

impl std::error::Error for SendError {}
