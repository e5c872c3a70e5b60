//! The connection state machine: bytes in, messages out; messages in, bytes out.

use bytes::{Buf, Bytes, BytesMut};

use crate::close::CloseFrame;
use crate::error::{ProtocolError, SendError};
use crate::extension::{DecodeError, MessageExtension};
use crate::header::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::mask::{apply_mask, apply_mask_at};
use crate::message::Message;
use crate::transmit::Transmit;
use crate::utf8::{Utf8Bytes, Utf8Validator, is_utf8};

/// Which end of the connection this is. Clients mask what they send; servers must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Limits and policy for one connection.
///
/// The defaults suit the open internet: a frame of up to 16 MiB and a message of up to 64 MiB.
/// A peer that passes a limit fails the connection with close code 1009.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The longest frame payload accepted, in bytes. Default 16 MiB.
    ///
    /// A whole frame is held in memory before it is delivered, so this bounds the read buffer.
    pub max_frame_size: usize,
    /// The longest message accepted, in bytes, counted over all its frames. Default 64 MiB.
    pub max_message_size: usize,
    /// Accept frames a client did not mask. RFC 6455 §5.1 requires a server to fail such a
    /// connection; only turn this on for peers that are known to break the rule. Default off.
    pub danger_accept_unmasked_frames: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            danger_accept_unmasked_frames: false,
        }
    }
}

/// Where the connection is in its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close and wait for the peer's. Messages still arrive; none may be sent.
    Closing,
    /// Close frames went both ways: the closing handshake is complete (the last one may still
    /// wait in the transmit buffer). The server closes the TCP connection next; the client
    /// waits for it.
    Closed,
    /// The peer broke the protocol. A Close with the error's code may wait in the transmit
    /// buffer; after it the TCP connection should be closed.
    Failed,
}

/// Payloads at least this long are queued by reference instead of copied, when they are not
/// masked; below it, one contiguous copy is cheaper than another entry in a vectored write.
const SHARE_PAYLOAD_AT: usize = 4096;

/// One end of a WebSocket connection, after the opening handshake. It does no I/O.
///
/// The caller moves bytes between it and the transport:
///
/// 1. Append bytes read from the peer to [`Connection::read_buf`] (or pass them to
///    [`Connection::handle_read`]).
/// 2. Call [`Connection::poll_message`] until it returns `Ok(None)`, which means it needs more
///    bytes. Each `Ok(Some(_))` is a complete message or a control frame. An `Err` means the
///    peer broke the protocol: the connection is [`State::Failed`] and a Close is queued.
/// 3. Queue messages with [`Connection::send`] and friends.
/// 4. Write [`Connection::transmit`] to the peer whenever it is not empty. Automatic Pongs and
///    Close replies are queued there too, so write it after polling as well as after sending.
///
/// Once the state is [`State::Closed`] or [`State::Failed`] and the transmit buffer is empty,
/// the connection is over: a server closes the transport; a client waits for the server to
/// close it first (RFC 6455 §7.1.1).
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    /// Received bytes not yet consumed: at most the frame being read and what came after it.
    read_buf: BytesMut,
    /// The frame whose header has been decoded and whose payload is still arriving.
    frame: Option<InFrame>,
    /// The fragmented message being assembled.
    message: Option<InMessage>,
    /// Checks the text message being received, frame by frame and read by read.
    utf8: Utf8Validator,
    transmit: Transmit,
    /// The kind of the fragmented message being sent, if one is unfinished.
    sending: Option<OpCode>,
    /// Client only: where masking keys come from.
    mask_keys: Option<Box<dyn FnMut() -> [u8; 4] + Send>>,
    /// The negotiated per-message extension, if any; it owns RSV1.
    extension: Option<Box<dyn MessageExtension>>,
    /// Where the extension encodes outgoing messages; reused.
    encoded: BytesMut,
}

struct InFrame {
    header: FrameHeader,
    header_len: usize,
    /// Payload bytes already unmasked (and checked, for text) in place.
    processed: usize,
    /// Whether the raw payload is text to check as it arrives (an uncompressed text message).
    text: bool,
    /// Whether the payload belongs to a message the extension must decode (RSV1).
    encoded: bool,
}

struct InMessage {
    opcode: OpCode,
    /// The message so far; decoded, if it is `encoded`.
    data: BytesMut,
    encoded: bool,
}

/// What a header tells about its payload.
struct PayloadKind {
    text: bool,
    encoded: bool,
}

impl Connection {
    /// A server's end of a connection.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client's end of a connection. `mask_keys` is called for the masking key of every
    /// frame sent; RFC 6455 §5.3 asks for keys from a strong source of entropy, unpredictable
    /// to the applications that supply payloads.
    pub fn client(config: Config, mask_keys: impl FnMut() -> [u8; 4] + Send + 'static) -> Self {
        Self::new(Role::Client, config, Some(Box::new(mask_keys)))
    }

    fn new(
        role: Role,
        config: Config,
        mask_keys: Option<Box<dyn FnMut() -> [u8; 4] + Send>>,
    ) -> Self {
        Self {
            role,
            config,
            state: State::Open,
            read_buf: BytesMut::new(),
            frame: None,
            message: None,
            utf8: Utf8Validator::default(),
            transmit: Transmit::default(),
            sending: None,
            mask_keys,
            extension: None,
            encoded: BytesMut::new(),
        }
    }

    /// Installs the per-message extension negotiated in the handshake, such as
    /// permessage-deflate. It owns RSV1: with one installed, RSV1 may start a data message;
    /// without, RSV1 fails the connection. Install it before any frame is processed.
    pub fn set_extension(&mut self, extension: Box<dyn MessageExtension>) {
        self.extension = Some(extension);
    }

    /// Whether a per-message extension is installed.
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    /// This end's role.
    #[inline]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its lifetime.
    #[inline]
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether input from the peer can still matter: the state is [`State::Open`] or
    /// [`State::Closing`].
    #[inline]
    pub fn wants_read(&self) -> bool {
        matches!(self.state, State::Open | State::Closing)
    }

    /// The buffer bytes from the peer are appended to, for reading straight from a transport.
    ///
    /// Only append: the start of the buffer may hold a frame already partly processed in place.
    #[inline]
    pub fn read_buf(&mut self) -> &mut BytesMut {
        if !self.wants_read() {
            // Input after the end is ignored; do not let it pile up.
            self.read_buf.clear();
        }
        &mut self.read_buf
    }

    /// Appends bytes received from the peer.
    pub fn handle_read(&mut self, data: &[u8]) {
        self.read_buf().extend_from_slice(data);
    }

    /// Bytes received and not yet handled by [`Connection::poll_message`]: while there are
    /// any, more messages may be ready without reading.
    #[inline]
    pub fn buffered(&self) -> usize {
        let handled = self
            .frame
            .as_ref()
            .map_or(0, |frame| frame.header_len + frame.processed);
        self.read_buf.len() - handled
    }

    /// Payload bytes of the frame being received that have not arrived yet; 0 between
    /// frames. A hint for sizing the next read, never a reason to allocate by itself: the
    /// length is the peer's claim.
    #[inline]
    pub fn frame_missing(&self) -> usize {
        self.frame.as_ref().map_or(0, |frame| {
            let arrived = self.read_buf.len() - frame.header_len;
            usize::try_from(frame.header.payload_len)
                .unwrap_or(usize::MAX)
                .saturating_sub(arrived)
        })
    }

    /// The encoded frames waiting to be written to the peer.
    #[inline]
    pub fn transmit(&mut self) -> &mut Transmit {
        &mut self.transmit
    }

    /// Whether a received message is partly buffered: a frame or fragments whose rest has not
    /// arrived.
    #[inline]
    pub fn is_receiving(&self) -> bool {
        self.frame.is_some() || self.message.is_some() || !self.read_buf.is_empty()
    }

    /// Frees the read and write buffers if they hold nothing, so that an idle connection holds
    /// no buffer memory. They are allocated again as needed.
    pub fn shrink_buffers(&mut self) {
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        }
        self.transmit.shrink();
    }

    /// Processes buffered input and returns the next message or control frame, or `Ok(None)`
    /// when more input is needed (or the connection is over).
    ///
    /// Received Pings are answered and a received Close is answered or completes our own;
    /// those replies are queued in [`Connection::transmit`]. A received Close is returned as
    /// [`Message::Close`]: a normal close is not an error.
    ///
    /// # Errors
    ///
    /// The peer broke the protocol or a limit. The connection is now [`State::Failed`], a
    /// Close with [`ProtocolError::close_code`] is queued, and later calls return `Ok(None)`.
    #[inline]
    pub fn poll_message(&mut self) -> Result<Option<Message>, ProtocolError> {
        // Inlined into the caller for the usual small message, so that the message is built
        // where the caller wants it rather than copied out of a returned value. Everything
        // else, and each frame after a control frame or fragment, takes the general path.
        if self.frame.is_none() && self.wants_read() {
            if self.read_buf.is_empty() {
                // Between frames with nothing read: what the general path would find too.
                return Ok(None);
            }
            match self.read_small_message() {
                Some(Ok(message)) => return Ok(Some(message)),
                Some(Err(error)) => {
                    self.fail(&error);
                    return Err(error);
                }
                None => {}
            }
        }
        self.poll_message_general()
    }

    fn poll_message_general(&mut self) -> Result<Option<Message>, ProtocolError> {
        if !self.wants_read() {
            return Ok(None);
        }
        match self.read_message() {
            Ok(message) => Ok(message),
            Err(error) => {
                self.fail(&error);
                Err(error)
            }
        }
    }

    fn read_message(&mut self) -> Result<Option<Message>, ProtocolError> {
        loop {
            if self.frame.is_none() {
                let Some((header, header_len)) = FrameHeader::decode(&self.read_buf)? else {
                    return Ok(None);
                };
                let kind = self.check_header(&header)?;
                // Checked against `max_frame_size`, so it fits a usize.
                let len = header.payload_len as usize;
                if !kind.encoded && self.read_buf.len() - header_len >= len {
                    // The whole frame is here (the usual case for small messages): unmask,
                    // check and hand it over at once, without tracking it across reads.
                    let payload = &mut self.read_buf[header_len..header_len + len];
                    if let Some(key) = header.mask {
                        apply_mask(payload, key);
                    }
                    if header.fin && matches!(header.opcode, OpCode::Text | OpCode::Binary) {
                        // A message in one frame: no fragments to join, no state to keep.
                        if kind.text && !is_utf8(payload) {
                            return Err(ProtocolError::InvalidUtf8);
                        }
                        return Ok(Some(self.split_message(kind.text, header_len, len)));
                    }
                    if kind.text {
                        self.utf8
                            .feed(payload)
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                    match self.complete_frame(header, header_len, len)? {
                        Some(message) => return Ok(Some(message)),
                        None => continue,
                    }
                }
                self.frame = Some(InFrame {
                    header,
                    header_len,
                    processed: 0,
                    text: kind.text && !kind.encoded,
                    encoded: kind.encoded,
                });
            }
            let Some(frame) = &mut self.frame else {
                unreachable!("a frame was set above")
            };
            // Checked against `max_frame_size`, so it fits a usize.
            let len = frame.header.payload_len as usize;
            let available = (self.read_buf.len() - frame.header_len).min(len);
            if available > frame.processed {
                let new = &mut self.read_buf[frame.header_len + frame.processed..]
                    [..available - frame.processed];
                if let Some(key) = frame.header.mask {
                    apply_mask_at(new, key, frame.processed);
                }
                if frame.text {
                    self.utf8
                        .feed(new)
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                frame.processed = available;
            }
            if frame.processed < len {
                return Ok(None);
            }
            let Some(InFrame {
                header,
                header_len,
                encoded,
                ..
            }) = self.frame.take()
            else {
                unreachable!("a frame was set above")
            };
            let message = if encoded {
                self.complete_encoded_frame(header, header_len, len)?
            } else {
                self.complete_frame(header, header_len, len)?
            };
            if let Some(message) = message {
                return Ok(Some(message));
            }
        }
    }

    /// The usual case, told from the first two bytes: a whole text or binary message in one
    /// frame under 126 bytes, masked as the role requires, without RSV bits, while no
    /// fragmented message is in progress. `None` leaves everything else, and every error but
    /// invalid UTF-8, to the general path.
    #[inline]
    fn read_small_message(&mut self) -> Option<Result<Message, ProtocolError>> {
        let [b0, b1, ..] = self.read_buf[..] else {
            return None;
        };
        let text = match b0 {
            0x81 => true,
            0x82 => false,
            _ => return None,
        };
        let masked = b1 & 0x80 != 0;
        let len = usize::from(b1 & 0x7F);
        let header_len = if masked { 6 } else { 2 };
        if masked != (self.role == Role::Server)
            || len > 125
            || self.read_buf.len() < header_len + len
            || self.message.is_some()
            || len > self.config.max_frame_size.min(self.config.max_message_size)
        {
            return None;
        }
        let (header, payload) = self.read_buf[..header_len + len].split_at_mut(header_len);
        if masked {
            apply_mask(payload, [header[2], header[3], header[4], header[5]]);
        }
        if text && !is_utf8(payload) {
            return Some(Err(ProtocolError::InvalidUtf8));
        }
        Some(Ok(self.split_message(text, header_len, len)))
    }

    /// Hands over a message that came whole in the frame at the front of the read buffer,
    /// its payload unmasked and, for text, checked.
    #[inline]
    fn split_message(&mut self, text: bool, header_len: usize, len: usize) -> Message {
        // One split for header and payload; the header is skipped in place.
        let mut frame = self.read_buf.split_to(header_len + len).freeze();
        frame.advance(header_len);
        if text {
            Message::Text(Utf8Bytes::from_validated(frame))
        } else {
            Message::Binary(frame)
        }
    }

    /// Checks a header against RFC 6455 and the limits, before any of its payload is used.
    fn check_header(&mut self, header: &FrameHeader) -> Result<PayloadKind, ProtocolError> {
        let allowed = if self.extension.is_some() {
            FrameHeader::RSV1
        } else {
            0
        };
        if header.rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        // RSV1 marks a message, so only its first frame may carry it (RFC 7692 §6).
        let rsv1 = header.rsv & FrameHeader::RSV1 != 0;
        if rsv1 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(ProtocolError::ReservedBits);
        }
        match (self.role, header.mask) {
            (Role::Server, None) if !self.config.danger_accept_unmasked_frames => {
                return Err(ProtocolError::UnmaskedFrame);
            }
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if header.opcode.is_control() {
            if !header.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if header.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
            return Ok(PayloadKind {
                text: false,
                encoded: false,
            });
        }
        let max = self.config.max_frame_size;
        if header.payload_len > max as u64 {
            return Err(ProtocolError::FrameTooLarge { max });
        }
        let (so_far, kind) = match (header.opcode, &self.message) {
            (OpCode::Continuation, Some(message)) => (
                message.data.len(),
                PayloadKind {
                    text: message.opcode == OpCode::Text,
                    encoded: message.encoded,
                },
            ),
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                self.utf8.reset();
                (
                    0,
                    PayloadKind {
                        text: opcode == OpCode::Text,
                        encoded: rsv1,
                    },
                )
            }
        };
        // An encoded message is measured as it is decoded; its frames only by the frame limit.
        let max = self.config.max_message_size;
        if !kind.encoded && header.payload_len > (max - so_far) as u64 {
            return Err(ProtocolError::MessageTooLarge { max });
        }
        Ok(kind)
    }

    /// Acts on a complete frame of a message the extension must decode: decodes it into the
    /// message, bounded by the message limit, and checks decoded text at once.
    fn complete_encoded_frame(
        &mut self,
        header: FrameHeader,
        header_len: usize,
        len: usize,
    ) -> Result<Option<Message>, ProtocolError> {
        let mut message = match self.message.take() {
            Some(message) => message,
            None => InMessage {
                opcode: header.opcode,
                data: BytesMut::new(),
                encoded: true,
            },
        };
        let Some(extension) = self.extension.as_mut() else {
            unreachable!("RSV1 is accepted only with an extension")
        };
        let start = message.data.len();
        let max = self.config.max_message_size;
        extension
            .decode(
                &self.read_buf[header_len..header_len + len],
                header.fin,
                &mut message.data,
                max,
            )
            .map_err(|e| match e {
                DecodeError::TooLarge => ProtocolError::MessageTooLarge { max },
                DecodeError::Invalid => ProtocolError::InvalidExtensionData,
            })?;
        self.read_buf.advance(header_len + len);
        if message.opcode == OpCode::Text {
            self.utf8
                .feed(&message.data[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if header.fin {
            self.finish_message(message.opcode, message.data.freeze())
                .map(Some)
        } else {
            self.message = Some(message);
            Ok(None)
        }
    }

    /// Acts on a frame whose payload is complete, unmasked and checked at the front of the
    /// read buffer after its header.
    fn complete_frame(
        &mut self,
        header: FrameHeader,
        header_len: usize,
        len: usize,
    ) -> Result<Option<Message>, ProtocolError> {
        if header.opcode == OpCode::Continuation {
            let Some(message) = &mut self.message else {
                unreachable!("checked with the header")
            };
            message
                .data
                .extend_from_slice(&self.read_buf[header_len..header_len + len]);
            self.read_buf.advance(header_len + len);
            if !header.fin {
                return Ok(None);
            }
            let Some(InMessage { opcode, data, .. }) = self.message.take() else {
                unreachable!("matched above")
            };
            return self.finish_message(opcode, data.freeze()).map(Some);
        }
        // One split for header and payload; the header is then skipped in place.
        let mut frame = self.read_buf.split_to(header_len + len);
        if !header.fin {
            // The first frame of a fragmented message: the continuations are appended to it.
            frame.advance(header_len);
            self.message = Some(InMessage {
                opcode: header.opcode,
                data: frame,
                encoded: false,
            });
            return Ok(None);
        }
        let mut payload = frame.freeze();
        payload.advance(header_len);
        match header.opcode {
            OpCode::Text | OpCode::Binary => self.finish_message(header.opcode, payload).map(Some),
            OpCode::Ping => {
                if self.state == State::Open {
                    self.write_frame(true, 0, OpCode::Pong, payload.clone());
                }
                Ok(Some(Message::Ping(payload)))
            }
            OpCode::Pong => Ok(Some(Message::Pong(payload))),
            OpCode::Close => {
                let frame = CloseFrame::parse(payload)?;
                if self.state == State::Open {
                    // Echo the code (RFC 6455 §5.5.1) and the reason, already checked to fit.
                    self.write_close(frame.as_ref());
                }
                self.state = State::Closed;
                self.read_buf = BytesMut::new();
                Ok(Some(Message::Close(frame)))
            }
            OpCode::Continuation => unreachable!("handled above"),
        }
    }

    fn finish_message(&mut self, opcode: OpCode, data: Bytes) -> Result<Message, ProtocolError> {
        if opcode == OpCode::Text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Message::Text(Utf8Bytes::from_validated(data)))
        } else {
            Ok(Message::Binary(data))
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): queue a Close with the error's code unless we
    /// already sent one, and stop reading.
    fn fail(&mut self, error: &ProtocolError) {
        if self.state == State::Open {
            let mut reason = error.to_string();
            reason.truncate(CloseFrame::MAX_REASON_LEN);
            self.write_close(Some(&CloseFrame::new(error.close_code(), reason)));
        }
        self.state = State::Failed;
        self.frame = None;
        self.message = None;
        self.read_buf = BytesMut::new();
    }

    /// Queues a message, or a control frame.
    ///
    /// Sending [`Message::Close`] is [`Connection::close`].
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once a Close was sent or the connection failed;
    /// [`SendError::ControlFrameTooLong`] for a Ping or Pong over 125 bytes;
    /// [`SendError::UnexpectedFragment`] for a message while a fragmented one is unfinished.
    #[inline]
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        // The usual case, inlined into the caller: a server's small text or binary message
        // without an extension is its two header bytes and a copy of its payload.
        let data = match &message {
            Message::Text(text) => Some((OpCode::Text, text.as_bytes())),
            Message::Binary(data) => Some((OpCode::Binary, &data[..])),
            _ => None,
        };
        if let Some((opcode, payload)) = data {
            if payload.len() <= 125
                && self.mask_keys.is_none()
                && self.extension.is_none()
                && self.sending.is_none()
                && self.state == State::Open
            {
                let header = FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode,
                    mask: None,
                    payload_len: payload.len() as u64,
                };
                let tail = self.transmit.tail();
                tail.reserve(2 + payload.len());
                header.put(tail);
                tail.extend_from_slice(payload);
                return Ok(());
            }
        }
        self.send_message(message, true)
    }

    /// Queues a message as [`Connection::send`] does, but never passes it through the
    /// extension: with permessage-deflate, it goes out uncompressed. For data that is
    /// already compressed, or too small to gain.
    ///
    /// # Errors
    ///
    /// As for [`Connection::send`].
    pub fn send_unencoded(&mut self, message: Message) -> Result<(), SendError> {
        self.send_message(message, false)
    }

    fn send_message(&mut self, message: Message, encode: bool) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_data(OpCode::Text, text.into_bytes(), encode),
            Message::Binary(data) => self.send_data(OpCode::Binary, data, encode),
            Message::Ping(data) => self.send_control(OpCode::Ping, data),
            Message::Pong(data) => self.send_control(OpCode::Pong, data),
            Message::Close(frame) => self.close(frame),
        }
    }

    fn send_data(&mut self, opcode: OpCode, payload: Bytes, encode: bool) -> Result<(), SendError> {
        self.check_open()?;
        if self.sending.is_some() {
            return Err(SendError::UnexpectedFragment);
        }
        if let (true, Some(extension)) = (encode, self.extension.as_mut()) {
            if extension.encode(&payload, &mut self.encoded) {
                let encoded = self.encoded.split().freeze();
                self.write_frame(true, FrameHeader::RSV1, opcode, encoded);
                return Ok(());
            }
            self.encoded.clear();
        }
        self.write_frame(true, 0, opcode, payload);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > 125 {
            return Err(SendError::ControlFrameTooLong);
        }
        self.write_frame(true, 0, opcode, payload);
        Ok(())
    }

    /// Queues one frame of a fragmented message, for messages too large to hold at once.
    ///
    /// The first fragment has opcode [`OpCode::Text`] or [`OpCode::Binary`], the others
    /// [`OpCode::Continuation`]; the last has `fin` set. Control frames may be sent between
    /// fragments; other messages may not. For text, the fragments together must be UTF-8 (a
    /// code point may be split between them). Fragmented messages are sent unencoded: the
    /// extension sees whole messages only.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once a Close was sent; [`SendError::UnexpectedFragment`] for an
    /// opcode that does not fit the message in progress.
    pub fn send_fragment(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        match (opcode, self.sending) {
            (OpCode::Text | OpCode::Binary, None) | (OpCode::Continuation, Some(_)) => {}
            _ => return Err(SendError::UnexpectedFragment),
        }
        if opcode != OpCode::Continuation {
            self.sending = Some(opcode);
        }
        if fin {
            self.sending = None;
        }
        self.write_frame(fin, 0, opcode, payload);
        Ok(())
    }

    /// Starts the closing handshake: queues a Close, after which no message may be sent.
    /// Received messages keep arriving until the peer's Close, returned by
    /// [`Connection::poll_message`], completes it. Does nothing if a Close was already sent.
    ///
    /// # Errors
    ///
    /// [`SendError::InvalidCloseCode`] for a code that may not appear on the wire, and
    /// [`SendError::ControlFrameTooLong`] for a reason over 123 bytes.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), SendError> {
        if let Some(frame) = &frame {
            if !frame.code.is_sendable() {
                return Err(SendError::InvalidCloseCode(frame.code.as_u16()));
            }
            if frame.reason.len() > CloseFrame::MAX_REASON_LEN {
                return Err(SendError::ControlFrameTooLong);
            }
        }
        if self.state == State::Open {
            self.write_close(frame.as_ref());
            self.state = State::Closing;
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), SendError> {
        match self.state {
            State::Open => Ok(()),
            _ => Err(SendError::Closed),
        }
    }

    fn write_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = BytesMut::new();
        if let Some(frame) = frame {
            frame.encode(&mut payload);
        }
        self.write_frame(true, 0, OpCode::Close, payload.freeze());
    }

    /// Encodes one frame into the transmit buffer: masked while copied for a client, shared
    /// without a copy for a large server payload.
    fn write_frame(&mut self, fin: bool, rsv: u8, opcode: OpCode, payload: Bytes) {
        let mask = self.mask_keys.as_mut().map(|keys| keys());
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let share = mask.is_none() && payload.len() >= SHARE_PAYLOAD_AT;
        let tail = self.transmit.tail();
        // One reservation for the whole frame, or for its header when the payload is shared.
        tail.reserve(MAX_HEADER_LEN + if share { 0 } else { payload.len() });
        header.put(tail);
        if share {
            self.transmit.push_chunk(payload);
            return;
        }
        let start = tail.len();
        tail.extend_from_slice(&payload);
        if let Some(key) = mask {
            apply_mask(&mut tail[start..], key);
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered", &self.read_buf.len())
            .field("transmit", &self.transmit.remaining())
            .finish_non_exhaustive()
    }
}
