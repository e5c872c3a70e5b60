//! Large messages: sent as fragments past the send frame size (RSV1 on the first frame
//! only), and received whole up to the message limit however the peer frames them.

use bytes::{Buf, Bytes, BytesMut};
use swell_frame::{
    Config, Connection, DecodeError, FrameHeader, Message, MessageExtension, OpCode, ProtocolError,
};

/// An extension that inverts every byte, so that encoded frames are easy to tell apart; it
/// claims encoding can add up to `growth` bytes.
struct Invert {
    growth: usize,
}

impl MessageExtension for Invert {
    fn encode(&mut self, payload: &[u8], out: &mut BytesMut) -> bool {
        out.extend(payload.iter().map(|b| !b));
        true
    }

    fn decode(
        &mut self,
        payload: &[u8],
        _fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), DecodeError> {
        if out.len() + payload.len() > max_len {
            return Err(DecodeError::TooLarge);
        }
        out.extend(payload.iter().map(|b| !b));
        Ok(())
    }

    fn max_encoded_len(&self, len: usize) -> usize {
        len + self.growth
    }
}

/// Every frame in `wire`: (FIN, RSV, opcode, payload length).
fn frames(mut wire: &[u8]) -> Vec<(bool, u8, OpCode, usize)> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let (header, len) = FrameHeader::decode(wire).unwrap().expect("a whole header");
        let payload = header.payload_len as usize;
        out.push((header.fin, header.rsv, header.opcode, payload));
        wire = &wire[len + payload..];
    }
    out
}

fn wire_of(conn: &mut Connection) -> Bytes {
    let out = conn.transmit();
    out.copy_to_bytes(out.remaining())
}

fn with_send_frame_size(size: usize) -> Config {
    let mut config = Config::default();
    config.send_frame_size = size;
    config
}

#[test]
fn a_message_past_the_send_frame_size_leaves_as_fragments_of_it() {
    for client in [false, true] {
        let config = with_send_frame_size(1000);
        let mut sender = if client {
            Connection::client(config, || [9, 8, 7, 6])
        } else {
            Connection::server(config)
        };
        let payload: Vec<u8> = (0..3500u32).map(|i| i as u8).collect();
        sender.send(Message::binary(payload.clone())).unwrap();
        let wire = wire_of(&mut sender);
        let expected = vec![
            (false, 0, OpCode::Binary, 1000),
            (false, 0, OpCode::Continuation, 1000),
            (false, 0, OpCode::Continuation, 1000),
            (true, 0, OpCode::Continuation, 500),
        ];
        assert_eq!(frames(&wire), expected, "client: {client}");
        let mut receiver = if client {
            Connection::server(Config::default())
        } else {
            Connection::client(Config::default(), || [0; 4])
        };
        receiver.handle_read(&wire);
        assert_eq!(receiver.poll_message(), Ok(Some(Message::binary(payload))));
        // A message of exactly the send frame size is one frame.
        sender.send(Message::binary(vec![1; 1000])).unwrap();
        let one = wire_of(&mut sender);
        assert_eq!(frames(&one), [(true, 0, OpCode::Binary, 1000)]);
    }
}

#[test]
fn small_messages_are_fragmented_too_when_the_send_frame_size_is_smaller() {
    // The short path for small messages keeps to the send frame size as well.
    let mut server = Connection::server(with_send_frame_size(10));
    server
        .send(Message::text(
            "a text of twenty-five bytes"[..25].to_owned(),
        ))
        .unwrap();
    let wire = wire_of(&mut server);
    assert_eq!(
        frames(&wire),
        [
            (false, 0, OpCode::Text, 10),
            (false, 0, OpCode::Continuation, 10),
            (true, 0, OpCode::Continuation, 5),
        ]
    );
}

#[test]
fn an_encoded_message_carries_rsv1_on_its_first_fragment_only() {
    let mut server = Connection::server(with_send_frame_size(100));
    server.set_extension(Box::new(Invert { growth: 0 }));
    let text = "é".repeat(125);
    server.send(Message::text(text.clone())).unwrap();
    let wire = wire_of(&mut server);
    assert_eq!(
        frames(&wire),
        [
            (false, FrameHeader::RSV1, OpCode::Text, 100),
            (false, 0, OpCode::Continuation, 100),
            (true, 0, OpCode::Continuation, 50),
        ]
    );
    let mut client = Connection::client(Config::default(), || [0; 4]);
    client.set_extension(Box::new(Invert { growth: 0 }));
    client.handle_read(&wire);
    assert_eq!(client.poll_message(), Ok(Some(Message::text(text))));
}

#[test]
fn by_default_a_single_frame_may_be_as_long_as_the_message_limit() {
    // 20 MiB in one frame, as tungstenite, node's ws and python websockets send it.
    let len = 20 << 20;
    let mut server = Connection::server(Config::default());
    let mut client = Connection::client(with_send_frame_size(usize::MAX), || [1, 2, 3, 4]);
    client.send(Message::binary(vec![5; len])).unwrap();
    let wire = wire_of(&mut client);
    assert_eq!(frames(&wire).len(), 1);
    server.handle_read(&wire);
    let message = server.poll_message().unwrap().expect("the whole message");
    assert_eq!(message.as_payload().len(), len);
    // One byte past the message limit fails with 1009 as soon as the header arrives.
    let mut config = Config::default();
    config.max_message_size = 1000;
    let mut server = Connection::server(config);
    server.handle_read(&[0x82, 0xfe, 0x03, 0xe9, 1, 2, 3, 4]);
    assert_eq!(
        server.poll_message(),
        Err(ProtocolError::MessageTooLarge { max: 1000 })
    );
}

#[test]
fn a_frame_of_an_encoded_message_is_bounded_by_the_longest_encoding_at_the_limit() {
    let mut config = Config::default();
    config.max_message_size = 1000;
    // Encoding may add 10 bytes: a 1010-byte encoded frame can still hold a message that
    // fits, a 1011-byte one cannot.
    let header = |len: u16| {
        let mut h = vec![0xc2, 0xfe];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&[0; 4]);
        h
    };
    let mut server = Connection::server(config.clone());
    server.set_extension(Box::new(Invert { growth: 10 }));
    server.handle_read(&header(1010));
    assert_eq!(server.poll_message(), Ok(None), "waits for the payload");
    let mut server = Connection::server(config.clone());
    server.set_extension(Box::new(Invert { growth: 10 }));
    server.handle_read(&header(1011));
    assert_eq!(
        server.poll_message(),
        Err(ProtocolError::MessageTooLarge { max: 1000 })
    );
    // A frame limit, where one is set, is the bound instead.
    config.max_frame_size = Some(500);
    let mut server = Connection::server(config);
    server.set_extension(Box::new(Invert { growth: 10 }));
    server.handle_read(&header(501));
    assert_eq!(
        server.poll_message(),
        Err(ProtocolError::FrameTooLarge { max: 500 })
    );
}
