//! The receive path: bytes in, messages out. Frames are unmasked and checked in place as
//! they arrive, fragments joined, control frames answered, and the peer's violations fail
//! the connection.

use bytes::{Buf, Bytes, BytesMut};

use super::{Connection, InFrame, InMessage, PayloadKind, Role, State};
use crate::close::{CloseCode, CloseFrame};
use crate::error::ProtocolError;
use crate::extension::DecodeError;
use crate::header::{FrameHeader, OpCode};
use crate::mask::{apply_mask, apply_mask_at};
use crate::message::Message;
use crate::utf8::{Utf8Bytes, is_utf8};

impl Connection {
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
        if !self.ready.is_empty() {
            return Ok(Some(self.take_ready()));
        }
        if self.frame.is_none() && self.wants_read() {
            if self.read_buf.is_empty() {
                // Between frames with nothing read: what the general path would find too.
                return Ok(None);
            }
            if let Some(message) = self.gather_small_messages() {
                return Ok(Some(message));
            }
        }
        self.poll_message_general()
    }

    /// The next message if one is already unmasked and checked, waiting to be handed out:
    /// a cheaper call than [`Connection::poll_message`] for a driver to try first, inlined
    /// whole. `None` says only that none waits; [`Connection::poll_message`] tells the rest.
    #[inline]
    pub fn ready_message(&mut self) -> Option<Message> {
        if self.ready.is_empty() {
            None
        } else {
            Some(self.take_ready())
        }
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
                // Checked against the limits, so it fits a usize.
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
                    // A header is at most 14 bytes.
                    header_len: header_len as u8,
                    processed: 0,
                    text: kind.text && !kind.encoded,
                    encoded: kind.encoded,
                });
            }
            let Some(frame) = &mut self.frame else {
                unreachable!("a frame was set above")
            };
            // Checked against the limits, so it fits a usize.
            let len = frame.header.payload_len as usize;
            let header_len = usize::from(frame.header_len);
            let available = (self.read_buf.len() - header_len).min(len);
            if available > frame.processed {
                let new = &mut self.read_buf[header_len + frame.processed..]
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
                header, encoded, ..
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

    /// The usual case, told from the first bytes of each frame: whole text or binary
    /// messages in one frame under 64 KiB each (a 7- or 16-bit length), masked as the role
    /// requires, without RSV bits, while no fragmented message is in progress. The first is
    /// checked and returned. When more follow in the read buffer, the run of them is checked
    /// at once and moves to `ready` in one split, to be handed out from there: slicing
    /// `ready` takes about half the instructions of splitting the read buffer, and a read of
    /// small messages may bring many. A lone message (ping-pong) is split off as it is.
    #[inline]
    fn gather_small_messages(&mut self) -> Option<Message> {
        if self.message.is_some() {
            return None;
        }
        let (text, header_len, len) = self.check_small_frame(0)?;
        let mut end = header_len + len;
        if self.read_buf.len() > end {
            let first = end;
            while let Some((_, header_len, len)) = self.check_small_frame(end) {
                end += header_len + len;
            }
            if end > first {
                self.ready = self.read_buf.split_to(end).freeze();
                return Some(self.take_ready());
            }
        }
        Some(self.split_message(text, header_len, len))
    }

    /// Checks the frame at `at` in the read buffer for [`Connection::gather_small_messages`]
    /// and unmasks it: `(text, header length, payload length)` if it is a small message
    /// whole and valid. Anything else is left to the general path as it arrived, invalid
    /// UTF-8 included (masked again, so that the general path reports it).
    #[inline(always)]
    fn check_small_frame(&mut self, at: usize) -> Option<(bool, usize, usize)> {
        let [_, b1, ..] = self.read_buf[at..] else {
            return None;
        };
        match b1 & 0x7F {
            // Under 126 bytes, the common case: inlined whole.
            0..=125 => self.check_frame_form::<0>(at),
            126 => self.check_frame_16(at),
            _ => None,
        }
    }

    /// [`Connection::check_small_frame`] for a 16-bit length, kept out of line so that the
    /// common form's code stays small.
    #[inline(never)]
    fn check_frame_16(&mut self, at: usize) -> Option<(bool, usize, usize)> {
        self.check_frame_form::<2>(at)
    }

    /// The check of [`Connection::check_small_frame`] for a frame whose length takes `EXT`
    /// bytes after the first two of the header: 0 for a 7-bit length, 2 for a 16-bit one.
    #[inline(always)]
    fn check_frame_form<const EXT: usize>(&mut self, at: usize) -> Option<(bool, usize, usize)> {
        let buf = &mut self.read_buf[at..];
        let [b0, b1, ..] = *buf else {
            return None;
        };
        let text = match b0 {
            0x81 => true,
            0x82 => false,
            _ => return None,
        };
        let masked = b1 & 0x80 != 0;
        let len = if EXT == 0 {
            usize::from(b1 & 0x7F)
        } else {
            let [_, _, high, low, ..] = *buf else {
                return None;
            };
            usize::from(u16::from_be_bytes([high, low]))
        };
        let header_len = 2 + EXT + if masked { 4 } else { 0 };
        if masked != (self.role == Role::Server)
            || buf.len() < header_len + len
            || len > self.config.max_message_size
            || self.config.max_frame_size.is_some_and(|max| len > max)
        {
            return None;
        }
        let (header, payload) = buf[..header_len + len].split_at_mut(header_len);
        let key = masked.then(|| {
            [
                header[EXT + 2],
                header[EXT + 3],
                header[EXT + 4],
                header[EXT + 5],
            ]
        });
        if let Some(key) = key {
            apply_mask(payload, key);
        }
        if text && !is_utf8(payload) {
            if let Some(key) = key {
                apply_mask(payload, key);
            }
            return None;
        }
        Some((text, header_len, len))
    }

    /// Hands over the first message in `ready`, its frame known to be whole and checked.
    #[inline(always)]
    fn take_ready(&mut self) -> Message {
        let [b0, b1, ..] = self.ready[..] else {
            unreachable!("`ready` holds whole frames")
        };
        // As `check_small_frame` read it: a 7-bit length, or 126 and a 16-bit one.
        let (len, ext) = match b1 & 0x7F {
            126 => (
                usize::from(u16::from_be_bytes([self.ready[2], self.ready[3]])),
                2,
            ),
            n => (usize::from(n), 0),
        };
        let header_len = 2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 };
        let end = header_len + len;
        let frame = if end < self.ready.len() {
            let frame = self.ready.slice(header_len..end);
            self.ready.advance(end);
            frame
        } else {
            // The last: `ready` lets go of the read buffer's allocation with it.
            let mut frame = std::mem::take(&mut self.ready);
            frame.advance(header_len);
            frame
        };
        self.data_received();
        if b0 == 0x81 {
            Message::Text(Utf8Bytes::from_validated(frame))
        } else {
            Message::Binary(frame)
        }
    }

    /// Hands over a message that came whole in the frame at the front of the read buffer,
    /// its payload unmasked and, for text, checked.
    #[inline]
    fn split_message(&mut self, text: bool, header_len: usize, len: usize) -> Message {
        // One split for header and payload; the header is skipped in place.
        let mut frame = self.read_buf.split_to(header_len + len).freeze();
        frame.advance(header_len);
        self.data_received();
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
            return Err(ProtocolError::MisplacedRsv1);
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
        if let Some(max) = self.config.max_frame_size {
            if header.payload_len > max as u64 {
                return Err(ProtocolError::FrameTooLarge { max });
            }
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
        let max = self.config.max_message_size;
        if kind.encoded {
            // An encoded message is measured as it is decoded. Its frames are bounded by the
            // frame limit, or else by the longest encoding of a message at the limit: a
            // frame longer than that cannot decode to a message that fits.
            if let (None, Some(extension)) = (self.config.max_frame_size, &self.extension) {
                if header.payload_len > extension.max_encoded_len(max) as u64 {
                    return Err(ProtocolError::MessageTooLarge { max });
                }
            }
        } else if header.payload_len > (max - so_far) as u64 {
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
            Some(message) => *message,
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
            self.message = Some(Box::new(message));
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
            let payload = &self.read_buf[header_len..header_len + len];
            reserve_within(&mut message.data, len, self.config.max_message_size);
            message.data.extend_from_slice(payload);
            self.read_buf.advance(header_len + len);
            if !header.fin {
                return Ok(None);
            }
            let Some(InMessage { opcode, data, .. }) = self.message.take().map(|message| *message)
            else {
                unreachable!("matched above")
            };
            return self.finish_message(opcode, data.freeze()).map(Some);
        }
        // One split for header and payload; the header is then skipped in place.
        let mut frame = self.read_buf.split_to(header_len + len);
        if !header.fin {
            // The first frame of a fragmented message: the continuations are appended to it.
            frame.advance(header_len);
            self.message = Some(Box::new(InMessage {
                opcode: header.opcode,
                data: frame,
                encoded: false,
            }));
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
            OpCode::Pong if self.is_keepalive_pong(&payload) => Ok(None),
            OpCode::Pong => Ok(Some(Message::Pong(payload))),
            OpCode::Close => {
                let frame = CloseFrame::parse(payload)?;
                if self.state == State::Open {
                    // Echo the code (RFC 6455 §5.5.1) and the reason, already checked to fit.
                    self.write_close(frame.as_ref());
                }
                self.state = State::Closed;
                self.start_close_deadline();
                self.read_buf = BytesMut::new();
                Ok(Some(Message::Close(frame)))
            }
            OpCode::Continuation => unreachable!("handled above"),
        }
    }

    fn finish_message(&mut self, opcode: OpCode, data: Bytes) -> Result<Message, ProtocolError> {
        self.data_received();
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
        let mut reason = error.to_string();
        reason.truncate(CloseFrame::MAX_REASON_LEN);
        self.fail_with(error.close_code(), reason);
    }

    /// Fails the connection with `code`: queues a Close with it unless we already sent one,
    /// stops reading and starts the close deadline.
    pub(super) fn fail_with(&mut self, code: CloseCode, reason: impl Into<Utf8Bytes>) {
        if self.state == State::Open {
            self.write_close(Some(&CloseFrame::new(code, reason)));
        }
        self.start_close_deadline();
        self.state = State::Failed;
        self.frame = None;
        self.message = None;
        self.ready = Bytes::new();
        self.read_buf = BytesMut::new();
    }
}

/// Makes room for `additional` more bytes in a message being joined, growing it
/// geometrically but never past `max`, the message limit, which the header check already
/// guarantees the message fits. (`BytesMut::reserve` doubles, so a message just under the
/// limit could hold twice the limit.)
fn reserve_within(data: &mut BytesMut, additional: usize, max: usize) {
    let needed = data.len() + additional;
    if needed <= data.capacity() {
        return;
    }
    let target = data.capacity().saturating_mul(2).min(max).max(needed);
    let mut grown = BytesMut::with_capacity(target);
    grown.extend_from_slice(data);
    *data = grown;
}
