//! permessage-deflate end to end in memory: negotiation in both roles, and two connections
//! exchanging compressed messages, with every failure and its close code.

use bytes::{Buf, Bytes, BytesMut};
use swell_deflate::{DeflateConfig, NegotiationError, Params, accept, accept_response};
use swell_frame::{
    CloseCode, Config, Connection, Message, MessageExtension, OpCode, ProtocolError, State,
};
use swell_handshake::Extension;

fn ext(params: &[(&str, Option<&str>)]) -> Extension {
    params
        .iter()
        .fold(Extension::new("permessage-deflate"), |e, (n, v)| {
            e.with_param(*n, v.map(str::to_owned))
        })
}

fn params(extension: &Extension) -> Params {
    Params::parse(extension).unwrap()
}

#[test]
fn the_server_accepts_the_first_acceptable_offer() {
    let config = DeflateConfig::default();
    let offers = [
        ext(&[("x_unknown", None)]),
        ext(&[("server_max_window_bits", Some("7"))]),
        ext(&[
            ("server_no_context_takeover", None),
            ("server_max_window_bits", Some("9")),
        ]),
        ext(&[]),
    ];
    let (response, _) = accept(&offers, &config).unwrap();
    let p = params(&response);
    assert!(p.server_no_context_takeover);
    assert_eq!(p.server_max_window_bits, Some(9));
    assert_eq!(p.client_max_window_bits, None);
    // Nothing acceptable: declined, not failed.
    assert!(accept(&offers[..2], &config).is_none());
    assert!(accept(&[Extension::new("x-webkit-deflate-frame")], &config).is_none());
}

#[test]
fn the_server_limits_what_it_may_limit() {
    let mut config = DeflateConfig::default();
    config.client_max_window_bits = 10;
    config.server_max_window_bits = 12;
    config.client_no_context_takeover = true;
    // The client supports client_max_window_bits: the server may ask for 10.
    let (response, _) = accept(&[ext(&[("client_max_window_bits", None)])], &config).unwrap();
    let p = params(&response);
    assert_eq!(p.client_max_window_bits, Some(Some(10)));
    assert_eq!(p.server_max_window_bits, Some(12));
    assert!(p.client_no_context_takeover);
    // Without it, the response must not carry it.
    let (response, _) = accept(&[ext(&[])], &config).unwrap();
    assert_eq!(params(&response).client_max_window_bits, None);
    // A client that already limits itself below our wish is left alone.
    let (response, _) = accept(&[ext(&[("client_max_window_bits", Some("9"))])], &config).unwrap();
    assert_eq!(params(&response).client_max_window_bits, None);
    // A smaller server window asked of us is granted.
    let (response, _) = accept(&[ext(&[("server_max_window_bits", Some("8"))])], &config).unwrap();
    assert_eq!(params(&response).server_max_window_bits, Some(8));
}

#[test]
fn the_client_checks_the_response_against_its_offers() {
    let plain = DeflateConfig::default();
    let mut strict = DeflateConfig::default();
    strict.server_no_context_takeover = true;
    strict.server_max_window_bits = 10;
    let r = |p: &[(&str, Option<&str>)]| accept_response(&[ext(p)], &[strict.clone()]);
    assert!(
        r(&[
            ("server_no_context_takeover", None),
            ("server_max_window_bits", Some("10"))
        ])
        .is_ok()
    );
    assert!(
        r(&[
            ("server_no_context_takeover", None),
            ("server_max_window_bits", Some("9"))
        ])
        .is_ok()
    );
    assert_eq!(
        r(&[
            ("server_no_context_takeover", None),
            ("server_max_window_bits", Some("11"))
        ])
        .err(),
        Some(NegotiationError::NotOffered)
    );
    assert_eq!(
        r(&[("server_max_window_bits", Some("10"))]).err(),
        Some(NegotiationError::NotOffered)
    );
    // A later, looser offer can match what the first cannot.
    let both = [strict.clone(), plain.clone()];
    assert!(accept_response(&[ext(&[])], &both).unwrap().is_some());
    // Invalid, repeated and valueless-in-response parameters fail.
    assert!(matches!(
        accept_response(&[ext(&[("mystery", None)])], std::slice::from_ref(&plain)),
        Err(NegotiationError::Invalid(_))
    ));
    assert!(matches!(
        accept_response(
            &[ext(&[("client_max_window_bits", None)])],
            std::slice::from_ref(&plain)
        ),
        Err(NegotiationError::Invalid(_))
    ));
    assert!(matches!(
        accept_response(&[ext(&[]), ext(&[])], std::slice::from_ref(&plain)),
        Err(NegotiationError::Repeated)
    ));
    // No permessage-deflate in the response: declined.
    assert!(accept_response(&[], &[plain]).unwrap().is_none());
}

/// A client and a server with sessions negotiated from `config`.
fn pair(config: &DeflateConfig, frame: Config) -> (Connection, Connection) {
    let (response, server_session) = accept(&[config.offer()], config).unwrap();
    let client_session = accept_response(&[response], std::slice::from_ref(config))
        .unwrap()
        .unwrap();
    let mut client = Connection::client(frame.clone(), || [7, 7, 7, 7]);
    client.set_extension(Box::new(client_session));
    let mut server = Connection::server(frame);
    server.set_extension(Box::new(server_session));
    (client, server)
}

fn wire(from: &mut Connection) -> Bytes {
    let out = from.transmit();
    out.copy_to_bytes(out.remaining())
}

fn drain(to: &mut Connection) -> Result<Vec<Message>, ProtocolError> {
    let mut got = Vec::new();
    while let Some(message) = to.poll_message()? {
        got.push(message);
    }
    Ok(got)
}

#[test]
fn every_parameter_combination_round_trips_both_ways() {
    let messages: Vec<Message> = vec![
        Message::text("short"),
        Message::text("repetitive ".repeat(500)),
        Message::binary((0..70_000u32).map(|i| (i % 7) as u8).collect::<Vec<u8>>()),
        Message::binary(Vec::<u8>::new()),
        Message::text("é∮𝄞 ".repeat(100)),
        Message::text("repetitive ".repeat(500)),
    ];
    for server_nct in [false, true] {
        for client_nct in [false, true] {
            for bits in [8, 9, 12, 15] {
                let mut config = DeflateConfig::default();
                config.server_no_context_takeover = server_nct;
                config.client_no_context_takeover = client_nct;
                config.server_max_window_bits = bits;
                config.client_max_window_bits = bits;
                config.min_size = 0;
                let (mut c, mut s) = pair(&config, Config::default());
                for m in &messages {
                    c.send(m.clone()).unwrap();
                    s.send(m.clone()).unwrap();
                }
                let to_server = wire(&mut c);
                let to_client = wire(&mut s);
                s.handle_read(&to_server);
                c.handle_read(&to_client);
                assert_eq!(drain(&mut s), Ok(messages.clone()), "server {config:?}");
                assert_eq!(drain(&mut c), Ok(messages.clone()), "client {config:?}");
            }
        }
    }
}

#[test]
fn compressed_messages_are_smaller_and_marked_with_rsv1_only_on_the_first_frame() {
    let (mut c, mut s) = pair(&DeflateConfig::default(), Config::default());
    let text = "compress me ".repeat(1000);
    s.send(Message::text(text.clone())).unwrap();
    let bytes = wire(&mut s);
    assert_eq!(bytes[0], 0xC1, "FIN, RSV1, text");
    assert!(bytes.len() < text.len() / 10);
    // Opting out per message, and below the threshold, RSV1 stays clear.
    s.send_unencoded(Message::text(text.clone())).unwrap();
    assert_eq!(wire(&mut s)[0], 0x81);
    s.send(Message::text("tiny")).unwrap();
    assert_eq!(wire(&mut s)[0], 0x81);
    // Control frames never carry it.
    s.send(Message::Ping(Bytes::from_static(b"p"))).unwrap();
    assert_eq!(wire(&mut s)[0], 0x89);
    c.handle_read(&bytes);
    assert_eq!(drain(&mut c).unwrap(), [Message::text(text)]);
}

/// Frames the way a client would send them, masked with a zero key for readability.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    out.extend_from_slice(payload);
    out
}

fn compressed(text: &[u8]) -> Vec<u8> {
    let mut config = DeflateConfig::default();
    config.min_size = 0;
    let (_, mut session) = accept(&[config.offer()], &config).unwrap();
    let mut out = BytesMut::new();
    assert!(session.encode(text, &mut out));
    out.to_vec()
}

fn server_with_deflate(frame: Config) -> Connection {
    let (_, session) = accept(
        &[DeflateConfig::default().offer()],
        &DeflateConfig::default(),
    )
    .unwrap();
    let mut server = Connection::server(frame);
    server.set_extension(Box::new(session));
    server
}

fn fails_with(server: &mut Connection, bytes: &[u8], error: ProtocolError) {
    server.handle_read(bytes);
    assert_eq!(drain(server), Err(error.clone()));
    assert_eq!(server.state(), State::Failed);
    let mut client = Connection::client(Config::default(), || [0; 4]);
    client.handle_read(&wire(server));
    match drain(&mut client).unwrap().as_slice() {
        [Message::Close(Some(close))] => assert_eq!(close.code, error.close_code()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsv1_is_refused_where_it_does_not_belong() {
    let payload = compressed(b"Hello Hello Hello Hello Hello Hello");
    // On a Ping, and on a continuation frame.
    fails_with(
        &mut server_with_deflate(Config::default()),
        &frame(0xC9, b""),
        ProtocolError::MisplacedRsv1,
    );
    let mut bytes = frame(0x41, &payload[..4]);
    bytes.extend(frame(0xC0, &payload[4..]));
    fails_with(
        &mut server_with_deflate(Config::default()),
        &bytes,
        ProtocolError::MisplacedRsv1,
    );
    // Without a negotiated extension, anywhere.
    fails_with(
        &mut Connection::server(Config::default()),
        &frame(0xC1, &payload),
        ProtocolError::ReservedBits,
    );
    // RSV2 and RSV3 stay reserved even with it.
    fails_with(
        &mut server_with_deflate(Config::default()),
        &frame(0xA1, b"x"),
        ProtocolError::ReservedBits,
    );
    assert_eq!(
        ProtocolError::ReservedBits.close_code(),
        CloseCode::PROTOCOL_ERROR
    );
    assert_eq!(
        ProtocolError::MisplacedRsv1.close_code(),
        CloseCode::PROTOCOL_ERROR
    );
}

#[test]
fn a_fragmented_compressed_message_with_a_ping_between_its_frames() {
    let text = "fragmented and compressed ".repeat(3);
    let payload = compressed(text.as_bytes());
    let mut bytes = frame(0x41, &payload[..5]);
    bytes.extend(frame(0x89, b"ping"));
    bytes.extend(frame(0x00, &payload[5..10]));
    bytes.extend(frame(0x80, &payload[10..]));
    let mut server = server_with_deflate(Config::default());
    server.handle_read(&bytes);
    assert_eq!(
        drain(&mut server).unwrap(),
        [
            Message::Ping(Bytes::from_static(b"ping")),
            Message::text(text)
        ]
    );
}

#[test]
fn undecodable_data_fails_with_1007() {
    fails_with(
        &mut server_with_deflate(Config::default()),
        &frame(0xC1, &[0xff, 0xff, 0xff, 0xff]),
        ProtocolError::InvalidExtensionData,
    );
    assert_eq!(
        ProtocolError::InvalidExtensionData.close_code(),
        CloseCode::INVALID_PAYLOAD
    );
}

#[test]
fn invalid_utf8_in_compressed_text_fails_with_1007_at_the_frame_that_holds_it() {
    let payload = compressed(b"valid start, valid start, valid start \xf4\x90\x80\x80 and more");
    // The first frame inflates to the invalid sequence; the message never completes.
    let mut server = server_with_deflate(Config::default());
    server.handle_read(&frame(0x41, &payload));
    assert_eq!(drain(&mut server), Err(ProtocolError::InvalidUtf8));
}

#[test]
fn a_small_message_that_inflates_past_the_limit_fails_with_1009_in_bounded_memory() {
    // 8 MiB of zeros in about 8 KiB on the wire, against a 64 KiB message limit.
    let mut config = Config::default();
    config.max_message_size = 64 * 1024;
    let mut deflate = DeflateConfig::default();
    deflate.min_size = 0;
    let (mut client, mut server) = pair(&deflate, config);
    client.send(Message::binary(vec![0u8; 8 << 20])).unwrap();
    let bytes = wire(&mut client);
    assert!(bytes.len() < 16 * 1024, "{}", bytes.len());
    server.handle_read(&bytes);
    let error = ProtocolError::MessageTooLarge { max: 64 * 1024 };
    assert_eq!(drain(&mut server), Err(error.clone()));
    assert_eq!(error.close_code(), CloseCode::MESSAGE_TOO_BIG);
    // The connection let go of everything it held for the message.
    assert_eq!(server.read_buf().capacity(), 0);
    assert!(!server.is_receiving());
}

#[test]
fn send_fragment_goes_out_unencoded() {
    let (mut c, mut s) = pair(&DeflateConfig::default(), Config::default());
    c.send_fragment(OpCode::Text, Bytes::from("x".repeat(100)), false)
        .unwrap();
    c.send_fragment(OpCode::Continuation, Bytes::from("y".repeat(100)), true)
        .unwrap();
    let bytes = wire(&mut c);
    assert_eq!(bytes[0], 0x01, "no RSV1");
    s.handle_read(&bytes);
    assert_eq!(
        drain(&mut s).unwrap(),
        [Message::text("x".repeat(100) + &"y".repeat(100))]
    );
}

#[test]
fn presets_offer_and_answer_as_documented() {
    // What Chromium offers.
    let browser = ext(&[("client_max_window_bits", None)]);
    // As a client, the default offers the same: it asks the server for nothing.
    assert_eq!(DeflateConfig::default().offer(), browser);
    let answer =
        |config: &DeflateConfig| params(&accept(std::slice::from_ref(&browser), config).unwrap().0);
    // The default server shares its compressor: no context takeover for what it sends,
    // said in its answer though not offered (RFC 7692 §7.1.1.1); the client keeps context.
    let p = answer(&DeflateConfig::default());
    assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
    // No context either way: the server asks it of the client too (§7.1.1.2).
    let p = answer(&DeflateConfig::no_context_takeover());
    assert!(p.server_no_context_takeover && p.client_no_context_takeover);
    // Context both ways.
    let p = answer(&DeflateConfig::context_takeover());
    assert!(!p.server_no_context_takeover && !p.client_no_context_takeover);
    // A sized compressor says its window.
    let sized = DeflateConfig::context_takeover()
        .server_max_window_bits(12)
        .mem_level(5);
    assert_eq!(answer(&sized).server_max_window_bits, Some(12));
}
