//! The hook for per-message extensions that use RSV1 (RFC 6455 §9, RFC 7692).

use bytes::BytesMut;

/// A per-message extension: it may transform each data message and marks the ones it
/// transformed with RSV1 on their first frame. permessage-deflate (RFC 7692, the
/// `swell-deflate` crate) is the one in use on the web.
///
/// The connection calls [`MessageExtension::encode`] once per outgoing message and
/// [`MessageExtension::decode`] once per incoming frame of a message that arrived with RSV1,
/// so that decoding is bounded frame by frame and text can be checked as it is decoded.
pub trait MessageExtension: Send {
    /// Encodes an outgoing message's payload into `out` (empty on entry) and returns `true`,
    /// or returns `false` to send the message as it is (RSV1 clear), leaving `out` empty.
    fn encode(&mut self, payload: &[u8], out: &mut BytesMut) -> bool;

    /// Decodes one frame's payload of an incoming message sent with RSV1, appending to
    /// `out`; `fin` marks the message's last frame.
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooLarge`] as soon as `out` would grow past `max_len` bytes (decoding
    /// stops there, whatever the input still holds); [`DecodeError::Invalid`] for input that
    /// cannot be decoded.
    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), DecodeError>;

    /// The longest a message of `len` bytes can be once encoded, by any encoder the peer
    /// may use: it bounds a frame of an encoded message when no frame limit is set (see
    /// [`Config::max_frame_size`](crate::Config::max_frame_size)). By default `len`, for
    /// extensions that never grow a message.
    fn max_encoded_len(&self, len: usize) -> usize {
        len
    }
}

/// Why a message could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The decoded message would pass the message size limit.
    TooLarge,
    /// The payload is not valid for the extension.
    Invalid,
}
