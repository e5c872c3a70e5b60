//! Two endpoints wired together in memory: every rule of RFC 6455 §5-§7 that fails a
//! connection, with the close code it fails with, and the paths that must not fail.

use bytes::{Buf, Bytes};
use swell_frame::{
    CloseCode, CloseFrame, Config, Connection, Message, OpCode, ProtocolError, SendError, State,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn client() -> Connection {
    Connection::client(Config::default(), || KEY)
}

fn server() -> Connection {
    Connection::server(Config::default())
}

/// Moves everything `from` wants to send into `to`.
fn pump(from: &mut Connection, to: &mut Connection) {
    let out = from.transmit();
    let bytes = out.copy_to_bytes(out.remaining());
    to.handle_read(&bytes);
}

/// All messages `to` can produce right now.
fn drain(to: &mut Connection) -> Vec<Message> {
    let mut got = Vec::new();
    while let Some(message) = to.poll_message().unwrap() {
        got.push(message);
    }
    got
}

/// A raw frame: first byte given whole (FIN, RSV, opcode), masked with `KEY` when `masked`.
fn raw(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&KEY);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Frames a client would send.
fn to_server(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw(b0, payload, true)
}

/// Feeds `bytes` to a fresh server, expects `error`, and checks the Close it queues.
fn server_fails_with(bytes: &[u8], error: ProtocolError, code: CloseCode) {
    let mut server = server();
    server.handle_read(bytes);
    let result = loop {
        match server.poll_message() {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    assert_eq!(result, Err(error.clone()), "input {bytes:02x?}");
    assert_eq!(error.close_code(), code);
    assert_eq!(server.state(), State::Failed);
    // The peer sees a Close with the code.
    let mut client = client();
    pump(&mut server, &mut client);
    match drain(&mut client).as_slice() {
        [Message::Close(Some(frame))] => assert_eq!(frame.code, code),
        other => panic!("expected one Close, got {other:?}"),
    }
    // No further input is processed.
    server.handle_read(&to_server(0x81, b"late"));
    assert_eq!(server.poll_message(), Ok(None));
}

#[test]
fn messages_of_every_length_form_cross_both_ways() {
    for len in [0, 1, 125, 126, 65535, 65536, 1 << 20] {
        let data: Bytes = (0..len).map(|i| (i % 251) as u8).collect();
        let text: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let (mut c, mut s) = (client(), server());
        c.send(Message::binary(data.clone())).unwrap();
        c.send(Message::text(text.clone())).unwrap();
        pump(&mut c, &mut s);
        assert_eq!(
            drain(&mut s),
            [Message::binary(data.clone()), Message::text(text.clone())]
        );
        s.send(Message::binary(data.clone())).unwrap();
        s.send(Message::text(text.clone())).unwrap();
        pump(&mut s, &mut c);
        assert_eq!(drain(&mut c), [Message::binary(data), Message::text(text)]);
    }
}

#[test]
fn a_server_frames_each_length_around_the_short_form_and_the_shared_payloads_exactly() {
    // Around 125 the header grows; below 4096 the payload is copied, from it on shared.
    for len in (0..=130).chain([1000, 4095, 4096, 4097, 65535, 65536]) {
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let text = String::from_utf8(payload.clone()).unwrap();
        let mut s = server();
        s.send(Message::binary(payload.clone())).unwrap();
        s.send(Message::text(text)).unwrap();
        let out = s.transmit();
        let sent = out.copy_to_bytes(out.remaining());
        let mut expected = raw(0x82, &payload, false);
        expected.extend(raw(0x81, &payload, false));
        assert_eq!(sent, expected, "length {len}");
    }
}

#[test]
fn a_server_refuses_messages_while_a_fragmented_one_is_unfinished_or_after_close() {
    let mut s = server();
    s.send_fragment(OpCode::Binary, Bytes::from_static(b"part"), false)
        .unwrap();
    assert_eq!(
        s.send(Message::binary(&b"whole"[..])),
        Err(SendError::UnexpectedFragment)
    );
    s.send_fragment(OpCode::Continuation, Bytes::from_static(b"end"), true)
        .unwrap();
    s.send(Message::text("after")).unwrap();
    s.close(None).unwrap();
    assert_eq!(s.send(Message::text("late")), Err(SendError::Closed));
    let mut c = client();
    pump(&mut s, &mut c);
    assert_eq!(
        drain(&mut c),
        [
            Message::binary(&b"partend"[..]),
            Message::text("after"),
            Message::Close(None)
        ]
    );
}

#[test]
fn input_one_byte_at_a_time_gives_the_same_messages() {
    let mut c = client();
    c.send(Message::text("héllo wörld")).unwrap();
    c.send(Message::Ping(Bytes::from_static(b"p"))).unwrap();
    c.send(Message::binary(vec![7; 300])).unwrap();
    let out = c.transmit();
    let wire = out.copy_to_bytes(out.remaining());
    let mut s = server();
    let mut got = Vec::new();
    for byte in wire.iter() {
        s.handle_read(&[*byte]);
        got.extend(drain(&mut s));
    }
    assert_eq!(
        got,
        [
            Message::text("héllo wörld"),
            Message::Ping(Bytes::from_static(b"p")),
            Message::binary(vec![7; 300]),
        ]
    );
}

/// Frames that arrive whole take a shorter path than frames that arrive in pieces; both must
/// give the same messages and fail at the same frame.
#[test]
fn every_split_of_the_input_gives_the_same_result() {
    let mut good = to_server(0x01, &"fragm".as_bytes()[..4]);
    good.extend(to_server(0x89, b"ping!"));
    good.extend(to_server(0x80, &"fragmént".as_bytes()[4..]));
    good.extend(to_server(0x82, &[1, 2, 3]));
    good.extend(to_server(0x81, "whole".as_bytes()));
    good.extend(to_server(0x88, &[0x03, 0xe8, b'o', b'k']));
    let mut bad = to_server(0x81, "fine".as_bytes());
    bad.extend(to_server(0x01, "ok".as_bytes()));
    bad.extend(to_server(0x80, &[b'a', 0xff, b'b']));
    // A run of small whole messages broken by invalid UTF-8: the ones before it arrive.
    let mut bad_in_run = to_server(0x82, &[1, 2]);
    bad_in_run.extend(to_server(0x81, "ünï".as_bytes()));
    bad_in_run.extend(to_server(0x81, &[b'x', 0xc3]));
    bad_in_run.extend(to_server(0x82, &[3]));
    for wire in [good, bad, bad_in_run] {
        let run = |pieces: &[&[u8]]| {
            let mut s = server();
            let mut got = Vec::new();
            for piece in pieces {
                s.handle_read(piece);
                loop {
                    match s.poll_message() {
                        Ok(Some(message)) => got.push(Ok(message)),
                        Ok(None) => break,
                        Err(e) => {
                            got.push(Err(e));
                            break;
                        }
                    }
                }
            }
            got
        };
        let whole = run(&[&wire]);
        assert!(whole.len() >= 2, "{whole:?}");
        for cut in 0..=wire.len() {
            let (a, b) = wire.split_at(cut);
            assert_eq!(run(&[a, b]), whole, "cut at {cut}");
        }
    }
}

/// The small messages of one read are handed out as views of the read buffer; once they
/// are all out and dropped, nothing else may still hold its allocation, or the next read
/// could not reuse it and an idle connection would keep it.
#[test]
fn handing_out_a_reads_messages_lets_go_of_the_read_buffer() {
    let mut wire = Vec::new();
    for i in 0..4u8 {
        wire.extend(to_server(0x82, &[i; 16]));
    }
    let mut s = server();
    s.handle_read(&wire);
    let got = drain(&mut s);
    assert_eq!(got.len(), 4);
    assert!(!s.is_receiving());
    drop(got);
    let buf = s.read_buf();
    assert!(buf.is_empty());
    // Reclaiming the space the messages were read into works only for a sole owner.
    assert!(
        buf.try_reclaim(wire.len()),
        "something still holds the read buffer"
    );
}

/// Messages already read are handed out before an error in what arrived after them, and
/// while closing too.
#[test]
fn an_error_waits_behind_the_messages_read_before_it() {
    let mut wire = Vec::new();
    for i in 0..3u8 {
        wire.extend(to_server(0x82, &[i; 4]));
    }
    let mut s = server();
    s.handle_read(&wire);
    assert_eq!(s.poll_message(), Ok(Some(Message::binary(vec![0; 4]))));
    s.close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        .unwrap();
    assert_eq!(s.poll_message(), Ok(Some(Message::binary(vec![1; 4]))));
    s.handle_read(&to_server(0x80, b"x"));
    assert_eq!(s.poll_message(), Ok(Some(Message::binary(vec![2; 4]))));
    assert_eq!(s.poll_message(), Err(ProtocolError::UnexpectedContinuation));
    assert_eq!(s.buffered(), 0);
    assert_eq!(s.poll_message(), Ok(None));
}

#[test]
fn fragments_reassemble_with_control_frames_between_them() {
    let mut wire = to_server(0x01, "frag".as_bytes());
    wire.extend(to_server(0x89, b"ping!"));
    wire.extend(to_server(0x00, &"mént".as_bytes()[..2]));
    wire.extend(to_server(0x8A, b"pong"));
    wire.extend(to_server(0x80, &"mént".as_bytes()[2..]));
    let mut s = server();
    s.handle_read(&wire);
    assert_eq!(
        drain(&mut s),
        [
            Message::Ping(Bytes::from_static(b"ping!")),
            Message::Pong(Bytes::from_static(b"pong")),
            Message::text("fragmént"),
        ]
    );
    // The Ping was answered at once.
    let mut c = client();
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), [Message::Pong(Bytes::from_static(b"ping!"))]);
}

#[test]
fn sent_fragments_reassemble() {
    let (mut c, mut s) = (client(), server());
    c.send_fragment(OpCode::Text, Bytes::from_static(b"ab"), false)
        .unwrap();
    c.send(Message::Ping(Bytes::new())).unwrap();
    assert_eq!(
        c.send(Message::text("no")),
        Err(SendError::UnexpectedFragment)
    );
    c.send_fragment(OpCode::Continuation, Bytes::from_static(b"cd"), true)
        .unwrap();
    assert_eq!(
        c.send_fragment(OpCode::Continuation, Bytes::new(), true),
        Err(SendError::UnexpectedFragment)
    );
    pump(&mut c, &mut s);
    assert_eq!(
        drain(&mut s),
        [Message::Ping(Bytes::new()), Message::text("abcd")]
    );
}

#[test]
fn messages_still_arrive_while_closing() {
    let (mut c, mut s) = (client(), server());
    s.close(None).unwrap();
    assert_eq!(s.state(), State::Closing);
    // Sent before the client saw the server's Close: small, larger, then invalid text.
    c.send(Message::text("small")).unwrap();
    c.send(Message::binary(vec![7; 300])).unwrap();
    pump(&mut c, &mut s);
    assert_eq!(
        drain(&mut s),
        [Message::text("small"), Message::binary(vec![7; 300])]
    );
    s.handle_read(&to_server(0x81, b"a\xbb"));
    assert_eq!(s.poll_message(), Err(ProtocolError::InvalidUtf8));
    assert_eq!(s.state(), State::Failed);
}

#[test]
fn close_handshake_started_by_the_client() {
    let (mut c, mut s) = (client(), server());
    c.close(Some(CloseFrame::new(CloseCode::new(4000), "bye")))
        .unwrap();
    assert_eq!(c.state(), State::Closing);
    assert_eq!(c.send(Message::text("late")), Err(SendError::Closed));
    pump(&mut c, &mut s);
    assert_eq!(
        drain(&mut s),
        [Message::Close(Some(CloseFrame::new(
            CloseCode::new(4000),
            "bye"
        )))]
    );
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.send(Message::text("late")), Err(SendError::Closed));
    pump(&mut s, &mut c);
    match drain(&mut c).as_slice() {
        [Message::Close(Some(frame))] => assert_eq!(frame.code, CloseCode::new(4000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.state(), State::Closed);
    assert!(c.transmit().is_empty());
}

#[test]
fn messages_still_arrive_after_we_sent_close() {
    let (mut c, mut s) = (client(), server());
    s.close(None).unwrap();
    c.send(Message::text("in flight")).unwrap();
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), [Message::text("in flight")]);
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), [Message::Close(None)]);
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), [Message::Close(None)]);
    assert_eq!((c.state(), s.state()), (State::Closed, State::Closed));
    // No Pong after our Close.
    assert!(s.transmit().is_empty());
}

#[test]
fn local_misuse_is_refused() {
    let mut c = client();
    assert_eq!(
        c.send(Message::Ping(vec![0; 126].into())),
        Err(SendError::ControlFrameTooLong)
    );
    assert_eq!(
        c.close(Some(CloseFrame::new(CloseCode::NO_STATUS, ""))),
        Err(SendError::InvalidCloseCode(1005))
    );
    let long = "x".repeat(124);
    assert_eq!(
        c.close(Some(CloseFrame::new(CloseCode::NORMAL, long))),
        Err(SendError::ControlFrameTooLong)
    );
    assert_eq!(c.state(), State::Open);
}

#[test]
fn protocol_errors_fail_with_1002() {
    let pe = CloseCode::PROTOCOL_ERROR;
    for rsv in [0x40, 0x20, 0x10] {
        server_fails_with(
            &to_server(0x81 | rsv, b"x"),
            ProtocolError::ReservedBits,
            pe,
        );
    }
    for op in [3u8, 7, 0xB, 0xF] {
        server_fails_with(
            &to_server(0x80 | op, b""),
            ProtocolError::ReservedOpcode(op),
            pe,
        );
    }
    server_fails_with(
        &to_server(0x09, b""),
        ProtocolError::FragmentedControlFrame,
        pe,
    );
    server_fails_with(
        &to_server(0x89, &[0; 126]),
        ProtocolError::ControlFrameTooLong,
        pe,
    );
    server_fails_with(
        &to_server(0x80, b"x"),
        ProtocolError::UnexpectedContinuation,
        pe,
    );
    let mut two_starts = to_server(0x01, b"a");
    two_starts.extend(to_server(0x81, b"b"));
    server_fails_with(&two_starts, ProtocolError::ExpectedContinuation, pe);
    server_fails_with(&raw(0x81, b"hi", false), ProtocolError::UnmaskedFrame, pe);
    server_fails_with(
        &to_server(0x88, &[3]),
        ProtocolError::InvalidClosePayload,
        pe,
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        server_fails_with(
            &to_server(0x88, &code.to_be_bytes()),
            ProtocolError::InvalidCloseCode(code),
            pe,
        );
    }
    let mut top_bit = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1];
    top_bit.extend_from_slice(&KEY);
    server_fails_with(&top_bit, ProtocolError::InvalidLength, pe);
    // A control frame between fragments does not excuse a bad one.
    let mut between = to_server(0x02, b"a");
    between.extend(to_server(0x09, b"p"));
    server_fails_with(&between, ProtocolError::FragmentedControlFrame, pe);
}

#[test]
fn a_client_fails_on_masked_frames() {
    let mut c = client();
    c.handle_read(&raw(0x81, b"hi", true));
    assert_eq!(c.poll_message(), Err(ProtocolError::MaskedFrame));
    let mut s = server();
    pump(&mut c, &mut s);
    match drain(&mut s).as_slice() {
        [Message::Close(Some(frame))] => assert_eq!(frame.code, CloseCode::PROTOCOL_ERROR),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unmasked_frames_pass_only_when_allowed() {
    let mut config = Config::default();
    config.danger_accept_unmasked_frames = true;
    let mut s = Connection::server(config);
    s.handle_read(&raw(0x81, b"hi", false));
    assert_eq!(drain(&mut s), [Message::text("hi")]);
}

#[test]
fn invalid_utf8_fails_with_1007() {
    let ip = CloseCode::INVALID_PAYLOAD;
    server_fails_with(
        &to_server(0x81, b"\xce\xba\xe1\xbd"),
        ProtocolError::InvalidUtf8,
        ip,
    );
    server_fails_with(&to_server(0x81, b"ok\xff"), ProtocolError::InvalidUtf8, ip);
    // Masked, these bytes read "VA": valid UTF-8 if the payload were unmasked twice.
    server_fails_with(&to_server(0x81, b"a\xbb"), ProtocolError::InvalidUtf8, ip);
    let mut frags = to_server(0x01, "κ".as_bytes());
    frags.extend(to_server(0x80, b"\xed\xa0\x80"));
    server_fails_with(&frags, ProtocolError::InvalidUtf8, ip);
    server_fails_with(
        &to_server(0x88, b"\x03\xe8\xff\xfe"),
        ProtocolError::InvalidCloseReason,
        ip,
    );
}

#[test]
fn invalid_utf8_fails_before_the_rest_of_the_frame_arrives() {
    let payload = [b"valid ".as_slice(), b"\xf4\x90\x80\x80", &[b'x'; 100]].concat();
    let wire = to_server(0x81, &payload);
    let mut s = server();
    // Header, mask key and the first 10 payload bytes (the invalid sequence among them).
    s.handle_read(&wire[..2 + 4 + 10]);
    assert_eq!(s.poll_message(), Err(ProtocolError::InvalidUtf8));
    // The same inside a later fragment of a message, read by read.
    let mut s = server();
    s.handle_read(&to_server(0x01, b"first "));
    assert_eq!(s.poll_message(), Ok(None));
    let second = to_server(0x00, &payload);
    s.handle_read(&second[..2 + 4 + 6]);
    assert_eq!(s.poll_message(), Ok(None));
    s.handle_read(&second[12..14]);
    assert_eq!(s.poll_message(), Err(ProtocolError::InvalidUtf8));
}

/// Whole frames with 7- and 16-bit lengths in one read, as the read path gathers them: each
/// message whole and in order, and what breaks a rule found in the run, not skipped.
#[test]
fn a_read_of_whole_frames_of_both_short_length_forms_gives_each_message() {
    let lens = [5, 126, 1000, 125, 65535, 0, 4096];
    let payload = |len: usize, i: usize| -> Vec<u8> {
        (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect()
    };
    let mut wire = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        wire.extend(to_server(
            if i % 2 == 0 { 0x82 } else { 0x81 },
            &payload(len, i),
        ));
    }
    // A 16-bit length written where 7 bits would do is still a valid frame.
    let mut long_form = vec![0x82, 0x80 | 126, 0, 3];
    long_form.extend_from_slice(&KEY);
    long_form.extend(b"abc".iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    wire.extend(&long_form);
    let mut s = server();
    s.handle_read(&wire);
    let mut expected: Vec<Message> = lens
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let data = payload(len, i);
            if i % 2 == 0 {
                Message::binary(data)
            } else {
                Message::text(String::from_utf8(data).unwrap())
            }
        })
        .collect();
    expected.push(Message::binary(b"abc".to_vec()));
    assert_eq!(drain(&mut s), expected);

    // Invalid UTF-8 in a 16-bit text frame behind a valid message.
    let mut wire = to_server(0x82, &[1; 200]);
    let mut bad = vec![b'x'; 300];
    bad[150] = 0xff;
    wire.extend(to_server(0x81, &bad));
    let mut s = server();
    s.handle_read(&wire);
    assert_eq!(s.poll_message(), Ok(Some(Message::binary(vec![1; 200]))));
    assert_eq!(s.poll_message(), Err(ProtocolError::InvalidUtf8));

    // A 16-bit frame over the message limit, behind one within it.
    let mut config = Config::default();
    config.max_message_size = 1000;
    let mut wire = to_server(0x82, &[2; 1000]);
    wire.extend(to_server(0x82, &[3; 1001]));
    let mut s = Connection::server(config);
    s.handle_read(&wire);
    assert_eq!(s.poll_message(), Ok(Some(Message::binary(vec![2; 1000]))));
    assert_eq!(
        s.poll_message(),
        Err(ProtocolError::MessageTooLarge { max: 1000 })
    );
}

#[test]
fn limits_fail_with_1009_before_the_payload_arrives() {
    let mut config = Config::default();
    config.max_frame_size = Some(100);
    config.max_message_size = 150;
    let mut s = Connection::server(config.clone());
    // Only the header of a 101-byte frame.
    s.handle_read(&to_server(0x82, &[0; 101])[..8]);
    assert_eq!(
        s.poll_message(),
        Err(ProtocolError::FrameTooLarge { max: 100 })
    );
    assert_eq!(
        ProtocolError::FrameTooLarge { max: 100 }.close_code(),
        CloseCode::MESSAGE_TOO_BIG
    );

    let mut s = Connection::server(config.clone());
    s.handle_read(&to_server(0x02, &[0; 100]));
    s.handle_read(&to_server(0x00, &[0; 50]));
    assert_eq!(s.poll_message(), Ok(None));
    s.handle_read(&to_server(0x80, &[0; 1])[..6]);
    assert_eq!(
        s.poll_message(),
        Err(ProtocolError::MessageTooLarge { max: 150 })
    );

    // A header declaring an enormous frame allocates nothing by that length.
    let mut s = server();
    let mut huge = vec![0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    huge.extend_from_slice(&KEY);
    s.handle_read(&huge);
    assert!(matches!(
        s.poll_message(),
        Err(ProtocolError::MessageTooLarge { .. })
    ));
    assert_eq!(s.read_buf().capacity(), 0);
}

#[test]
fn close_without_code_and_with_reason_are_answered() {
    let mut s = server();
    s.handle_read(&to_server(0x88, b""));
    assert_eq!(drain(&mut s), [Message::Close(None)]);
    let mut c = client();
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), [Message::Close(None)]);

    let mut s = server();
    s.handle_read(&to_server(0x88, b"\x03\xe8r\xc3\xa9ason"));
    assert_eq!(
        drain(&mut s),
        [Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            "réason"
        )))]
    );
    // Input after the Close is ignored.
    s.handle_read(&to_server(0x81, b"after"));
    assert_eq!(s.poll_message(), Ok(None));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary input never panics, and after an error nothing more is produced.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                       cut in 0usize..512) {
            let mut config = Config::default();
            config.max_frame_size = Some(256);
            config.max_message_size = 300;
            for mut conn in [Connection::server(config.clone()), Connection::client(config.clone(), || KEY)] {
                let cut = cut.min(bytes.len());
                for piece in [&bytes[..cut], &bytes[cut..]] {
                    conn.handle_read(piece);
                    loop {
                        match conn.poll_message() {
                            Ok(Some(_)) => continue,
                            Ok(None) => break,
                            Err(_) => {
                                prop_assert_eq!(conn.state(), State::Failed);
                                prop_assert_eq!(conn.poll_message(), Ok(None));
                                break;
                            }
                        }
                    }
                }
                prop_assert!(conn.read_buf().len() <= bytes.len());
            }
        }

        /// Whatever a client sends arrives unchanged, however the bytes are split.
        #[test]
        fn messages_round_trip_through_any_split(
            messages in proptest::collection::vec(
                prop_oneof![
                    ".{0,40}".prop_map(Message::text),
                    proptest::collection::vec(any::<u8>(), 0..300).prop_map(Message::binary),
                    proptest::collection::vec(any::<u8>(), 0..125)
                        .prop_map(|p| Message::Pong(p.into())),
                ],
                0..8,
            ),
            chunk in 1usize..64,
        ) {
            let mut c = client();
            let mut s = server();
            for m in &messages {
                c.send(m.clone()).unwrap();
            }
            let out = c.transmit();
            let wire = out.copy_to_bytes(out.remaining());
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                s.handle_read(piece);
                got.extend(drain(&mut s));
            }
            prop_assert_eq!(got, messages);
        }
    }
}
