//! The send path: messages and control frames in, encoded frames queued in the transmit
//! buffer; messages longer than the send frame size leave as fragments.

use bytes::{Bytes, BytesMut};

use super::{Connection, SHARE_PAYLOAD_AT, State};
use crate::close::CloseFrame;
use crate::error::SendError;
use crate::header::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::message::Message;

impl Connection {
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
        // The usual case, inlined into the caller: a server's text or binary message below
        // the size whose payload is shared, without an extension, is its header (2 bytes, or
        // 4 from 126 bytes on) and a copy of its payload.
        let data = match &message {
            Message::Text(text) => Some((OpCode::Text, text.as_bytes())),
            Message::Binary(data) => Some((OpCode::Binary, &data[..])),
            _ => None,
        };
        if let Some((opcode, payload)) = data {
            if payload.len() < SHARE_PAYLOAD_AT
                && payload.len() <= self.config.send_frame_size
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
                tail.reserve(4 + payload.len());
                header.put(tail);
                tail.extend_from_slice(payload);
                self.timers.data_sent = true;
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
        self.timers.data_sent = true;
        if let (true, Some(extension)) = (encode, self.extension.as_mut()) {
            // A buffer of the message's own, which its frame shares until written: the
            // connection keeps no encoding buffer between messages.
            let mut encoded = BytesMut::new();
            if extension.encode(&payload, &mut encoded) {
                self.write_message(FrameHeader::RSV1, opcode, encoded.freeze());
                return Ok(());
            }
        }
        self.write_message(0, opcode, payload);
        Ok(())
    }

    /// Encodes a whole data message: one frame, or fragments of at most the send frame size
    /// when it is longer, `rsv` on the first frame only (RFC 7692 §6). The fragments share
    /// the payload; none is copied but to mask it.
    fn write_message(&mut self, rsv: u8, opcode: OpCode, mut payload: Bytes) {
        let max = self.config.send_frame_size.max(1);
        if payload.len() <= max {
            self.write_frame(true, rsv, opcode, payload);
            return;
        }
        let (mut rsv, mut opcode) = (rsv, opcode);
        while payload.len() > max {
            let fragment = payload.split_to(max);
            self.write_frame(false, rsv, opcode, fragment);
            (rsv, opcode) = (0, OpCode::Continuation);
        }
        self.write_frame(true, 0, OpCode::Continuation, payload);
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
        self.timers.data_sent = true;
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
            self.start_close_deadline();
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), SendError> {
        match self.state {
            State::Open => Ok(()),
            _ => Err(SendError::Closed),
        }
    }

    pub(super) fn write_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = BytesMut::new();
        if let Some(frame) = frame {
            frame.encode(&mut payload);
        }
        self.write_frame(true, 0, OpCode::Close, payload.freeze());
    }

    /// Encodes one frame into the transmit buffer: masked while copied for a client, shared
    /// without a copy for a large server payload.
    pub(super) fn write_frame(&mut self, fin: bool, rsv: u8, opcode: OpCode, payload: Bytes) {
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
