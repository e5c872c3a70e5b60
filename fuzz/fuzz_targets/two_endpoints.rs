//! A client and a server wired together in memory, the input choosing the messages, the
//! fragment size, how the byte stream is chopped, Pings, closes and permessage-deflate:
//! every message arrives whole and in order, and a Close arrives with the code that was sent.

#![no_main]

use arbitrary::Arbitrary;
use bytes::{Buf, Bytes};
use libfuzzer_sys::fuzz_target;
use swell_frame::{CloseCode, CloseFrame, Config, Connection, Message, State};
use swell_fuzz::DeflateChoice;

#[derive(Arbitrary, Debug)]
enum Op {
    /// A text message of this many characters (some of them multi-byte).
    Text {
        client: bool,
        len: u16,
        seed: u8,
    },
    Binary {
        client: bool,
        len: u16,
        seed: u8,
    },
    Ping {
        client: bool,
        len: u8,
    },
    /// A Close with a code from the sendable ranges.
    Close {
        client: bool,
        code: u16,
    },
    /// Moves at most this many bytes from one end to the other.
    Deliver {
        to_client: bool,
        max: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    deflate: Option<DeflateChoice>,
    client_frame_size: u16,
    server_frame_size: u16,
    ops: Vec<Op>,
}

/// One end, and what it was sent and received.
struct End {
    conn: Connection,
    sent: Vec<Message>,
    received: Vec<Message>,
    close_sent: Option<CloseCode>,
}

impl End {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            sent: Vec::new(),
            received: Vec::new(),
            close_sent: None,
        }
    }

    fn send(&mut self, message: Message) {
        let data = message.is_data();
        if self.conn.send(message.clone()).is_ok() && data {
            self.sent.push(message);
        }
    }

    /// Starts the closing handshake, if this end is still open (once it received a Close,
    /// it has answered it with that Close's code instead).
    fn close(&mut self, code: CloseCode) {
        if self.conn.state() == State::Open {
            self.conn.close(Some(CloseFrame::new(code, "bye"))).unwrap();
            self.close_sent = Some(code);
        }
    }
}

/// Moves at most `max` bytes from `from` to `to` and lets `to` handle them.
fn deliver(from: &mut End, to: &mut End, max: usize) {
    let out = from.conn.transmit();
    let n = out.remaining().min(max);
    let bytes = out.copy_to_bytes(n);
    to.conn.handle_read(&bytes);
    loop {
        match to.conn.poll_message() {
            Ok(Some(message)) => to.received.push(message),
            Ok(None) => break,
            Err(e) => panic!("{e} between two conforming ends"),
        }
    }
}

fn text(len: u16, seed: u8) -> String {
    let chars = ['a', 'é', '€', '𝄞', char::from(b'a' + seed % 26)];
    (0..usize::from(len))
        .map(|i| chars[(i + usize::from(seed)) % chars.len()])
        .collect()
}

fn sendable(code: u16) -> CloseCode {
    let code = CloseCode::new(code);
    if code.is_sendable() {
        code
    } else {
        CloseCode::NORMAL
    }
}

fuzz_target!(|input: Input| {
    let mut client_config = Config::default();
    client_config.send_frame_size = usize::from(input.client_frame_size);
    let mut server_config = Config::default();
    server_config.send_frame_size = usize::from(input.server_frame_size);
    let mut key = 0u32;
    let client = Connection::client(client_config, move || {
        key = key.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        key.to_be_bytes()
    });
    let mut client = End::new(client);
    let mut server = End::new(Connection::server(server_config));
    if let Some(choice) = input.deflate {
        let (c, s) = choice.sessions();
        client.conn.set_extension(Box::new(c));
        server.conn.set_extension(Box::new(s));
    }
    for op in input.ops {
        match op {
            Op::Text {
                client: c,
                len,
                seed,
            } => {
                let end = if c { &mut client } else { &mut server };
                end.send(Message::text(text(len, seed)));
            }
            Op::Binary {
                client: c,
                len,
                seed,
            } => {
                let end = if c { &mut client } else { &mut server };
                let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
                end.send(Message::binary(data));
            }
            Op::Ping { client: c, len } => {
                let end = if c { &mut client } else { &mut server };
                end.send(Message::Ping(Bytes::from(vec![7; usize::from(len % 126)])));
            }
            Op::Close { client: c, code } => {
                let end = if c { &mut client } else { &mut server };
                end.close(sendable(code));
            }
            Op::Deliver {
                to_client: true,
                max,
            } => {
                deliver(&mut server, &mut client, usize::from(max));
            }
            Op::Deliver {
                to_client: false,
                max,
            } => {
                deliver(&mut client, &mut server, usize::from(max));
            }
        }
    }
    // Everything still queued arrives.
    for _ in 0..4 {
        deliver(&mut client, &mut server, usize::MAX);
        deliver(&mut server, &mut client, usize::MAX);
    }
    for (from, to) in [(&client, &server), (&server, &client)] {
        let data: Vec<&Message> = to.received.iter().filter(|m| m.is_data()).collect();
        assert_eq!(data.len(), from.sent.len(), "every message arrives, once");
        for (got, sent) in data.into_iter().zip(&from.sent) {
            assert_eq!(got, sent, "whole and in order");
        }
        // The Close `to` received carries the code `from` chose, or, if `from` did not start
        // the handshake, the code of `to`'s own Close, echoed.
        let received = to.received.iter().find_map(|m| match m {
            Message::Close(frame) => Some(frame.as_ref().map(|f| f.code)),
            _ => None,
        });
        match (from.close_sent, to.close_sent) {
            (Some(code), _) => assert_eq!(received, Some(Some(code)), "the Close arrives"),
            (None, Some(code)) => assert_eq!(received, Some(Some(code)), "the echo arrives"),
            (None, None) => assert_eq!(received, None),
        }
    }
});
