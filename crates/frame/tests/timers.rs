//! The connection's deadlines on simulated time: keepalive Pings, dead-peer detection, the
//! idle timeout and the bound on the closing handshake. Time is whatever the test passes in.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use swell_frame::{CloseCode, CloseFrame, Config, Connection, Message, OpCode, State, Timeout};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A client and a server whose clocks start at `t0`.
fn pair(config: Config, t0: Instant) -> (Connection, Connection) {
    let mut client = Connection::client(config.clone(), || KEY);
    let mut server = Connection::server(config);
    assert_eq!(
        client.poll_timeout(),
        None,
        "no clock runs before the first instant"
    );
    assert_eq!(client.handle_timeout(t0), None);
    assert_eq!(server.handle_timeout(t0), None);
    (client, server)
}

/// Moves everything `from` queued into `to`, as arriving at `now`.
fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
    let out = from.transmit();
    let bytes = out.copy_to_bytes(out.remaining());
    to.handle_read(&bytes);
    to.handle_received(now);
}

fn drain(to: &mut Connection) -> Vec<Message> {
    let mut got = Vec::new();
    while let Some(message) = to.poll_message().unwrap() {
        got.push(message);
    }
    got
}

/// The frames `from` queued, as (opcode, payload) read by a peer of the other role.
fn queued(from: &mut Connection) -> Vec<(OpCode, Bytes)> {
    let out = from.transmit();
    let mut bytes = out.copy_to_bytes(out.remaining());
    let mut frames = Vec::new();
    while let Some((header, len)) = swell_frame::FrameHeader::decode(&bytes).unwrap() {
        bytes.advance(len);
        let mut payload = bytes.split_to(header.payload_len as usize).to_vec();
        if let Some(key) = header.mask {
            swell_frame::apply_mask(&mut payload, key);
        }
        frames.push((header.opcode, Bytes::from(payload)));
    }
    frames
}

/// Drops what `from` queued, as a transport that loses it would.
fn discard(from: &mut Connection) {
    let out = from.transmit();
    out.advance(out.remaining());
}

fn close_code(payload: &[u8]) -> CloseCode {
    CloseCode::new(u16::from_be_bytes([payload[0], payload[1]]))
}

#[test]
fn a_ping_leaves_after_the_interval_and_not_before() {
    let t0 = Instant::now();
    let (_, mut server) = pair(Config::default(), t0);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(20.0)));
    assert_eq!(server.handle_timeout(t0 + secs(19.999)), None);
    assert!(server.transmit().is_empty(), "no Ping before the interval");
    assert_eq!(server.handle_timeout(t0 + secs(20.0)), None);
    let frames = queued(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, OpCode::Ping);
    // Now the Pong is awaited: the next deadline is the ping timeout.
    assert_eq!(server.poll_timeout(), Some(t0 + secs(40.0)));
}

#[test]
fn bytes_from_the_peer_push_the_ping_back() {
    let t0 = Instant::now();
    let (mut client, mut server) = pair(Config::default(), t0);
    client.send(Message::text("still here")).unwrap();
    pump(&mut client, &mut server, t0 + secs(10.0));
    assert_eq!(drain(&mut server), [Message::text("still here")]);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(30.0)));
    // A timer armed for the old deadline fires early: nothing happens.
    assert_eq!(server.handle_timeout(t0 + secs(20.0)), None);
    assert!(server.transmit().is_empty());
    assert_eq!(server.poll_timeout(), Some(t0 + secs(30.0)));
    server.handle_timeout(t0 + secs(30.0));
    assert_eq!(queued(&mut server)[0].0, OpCode::Ping);
}

#[test]
fn a_missing_pong_fails_with_1011_at_interval_plus_timeout() {
    let t0 = Instant::now();
    let (_, mut server) = pair(Config::default(), t0);
    server.handle_timeout(t0 + secs(20.0));
    assert_eq!(server.handle_timeout(t0 + secs(39.999)), None);
    assert_eq!(server.state(), State::Open);
    assert_eq!(
        server.handle_timeout(t0 + secs(40.0)),
        Some(Timeout::Keepalive)
    );
    assert_eq!(server.state(), State::Failed);
    let frames = queued(&mut server);
    assert_eq!(frames[0].0, OpCode::Ping);
    assert_eq!(frames[1].0, OpCode::Close);
    assert_eq!(close_code(&frames[1].1), CloseCode::INTERNAL_ERROR);
    // No linger for a peer that answers nothing: the end is due at once.
    assert_eq!(server.poll_timeout(), Some(t0 + secs(40.0)));
    assert_eq!(server.handle_timeout(t0 + secs(40.0)), Some(Timeout::Close));
    assert_eq!(server.poll_timeout(), None);
}

/// A connection failed for a dead peer hands out nothing more, not even the messages that
/// arrived before the silence and were not taken.
#[test]
fn a_failure_drops_the_messages_not_yet_taken() {
    let t0 = Instant::now();
    let (mut client, mut server) = pair(Config::default(), t0);
    for text in ["one", "two", "three"] {
        client.send(Message::text(text)).unwrap();
    }
    pump(&mut client, &mut server, t0);
    assert_eq!(server.poll_message(), Ok(Some(Message::text("one"))));
    assert_eq!(server.buffered(), 2 * 6 + "twothree".len());
    server.handle_timeout(t0 + secs(20.0));
    assert_eq!(
        server.handle_timeout(t0 + secs(40.0)),
        Some(Timeout::Keepalive)
    );
    assert_eq!(server.buffered(), 0);
    assert!(!server.is_receiving());
    assert_eq!(server.poll_message(), Ok(None));
}

#[test]
fn any_bytes_after_the_ping_count_as_an_answer() {
    let t0 = Instant::now();
    let mut config = Config::default();
    config.ping_interval = Some(secs(20.0));
    config.ping_timeout = Some(secs(20.0));

    let (mut client, mut server) = pair(config, t0);
    server.handle_timeout(t0 + secs(20.0));
    discard(&mut server); // the client never sees the Ping
    client.send(Message::binary(vec![1; 3])).unwrap();
    pump(&mut client, &mut server, t0 + secs(25.0));
    drain(&mut server);
    assert_eq!(server.handle_timeout(t0 + secs(40.0)), None);
    assert_eq!(server.state(), State::Open);
    // The next Ping goes an interval after those bytes.
    assert_eq!(server.poll_timeout(), Some(t0 + secs(45.0)));
}

#[test]
fn an_answered_ping_does_not_fail_and_its_pong_stays_inside() {
    let t0 = Instant::now();
    let (mut client, mut server) = pair(Config::default(), t0);
    server.handle_timeout(t0 + secs(20.0));
    pump(&mut server, &mut client, t0 + secs(20.02));
    // The client answers the Ping (and hands it to its application, like any Ping).
    assert!(matches!(drain(&mut client)[..], [Message::Ping(_)]));
    pump(&mut client, &mut server, t0 + secs(20.05));
    assert_eq!(
        drain(&mut server),
        [],
        "our own Pong is not the application's"
    );
    assert_eq!(server.latency(), Some(secs(20.05) - secs(20.0)));
    assert_eq!(server.handle_timeout(t0 + secs(40.0)), None);
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(40.05)));
    // The application's own Pings still get their Pongs delivered.
    server
        .send(Message::Ping(Bytes::from_static(b"app")))
        .unwrap();
    pump(&mut server, &mut client, t0 + secs(41.0));
    drain(&mut client);
    pump(&mut client, &mut server, t0 + secs(41.0));
    assert_eq!(
        drain(&mut server),
        [Message::Pong(Bytes::from_static(b"app"))]
    );
}

#[test]
fn keepalive_can_be_turned_off_or_left_without_a_timeout() {
    let t0 = Instant::now();
    let mut off = Config::default();
    off.ping_interval = None;

    let (_, mut server) = pair(off, t0);
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(server.handle_timeout(t0 + secs(3600.0)), None);
    assert!(server.transmit().is_empty());

    let mut patient = Config::default();
    patient.ping_timeout = None;

    let (_, mut server) = pair(patient, t0);
    for n in 1..=5 {
        let at = t0 + secs(20.0 * f64::from(n));
        assert_eq!(server.poll_timeout(), Some(at));
        assert_eq!(server.handle_timeout(at), None);
        assert_eq!(queued(&mut server)[0].0, OpCode::Ping, "Ping {n}");
    }
    assert_eq!(server.state(), State::Open);
}

#[test]
fn the_idle_timeout_closes_with_1001() {
    let t0 = Instant::now();
    let mut config = Config::default();
    config.ping_interval = None;
    config.idle_timeout = Some(secs(60.0));

    let (mut client, mut server) = pair(config, t0);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(60.0)));
    // A message received counts from when it arrived.
    client.send(Message::text("hi")).unwrap();
    pump(&mut client, &mut server, t0 + secs(30.0));
    drain(&mut server);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(90.0)));
    // Pings do not count.
    client.send(Message::Ping(Bytes::new())).unwrap();
    pump(&mut client, &mut server, t0 + secs(50.0));
    drain(&mut server);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(90.0)));
    // A message sent counts from the next instant passed in.
    discard(&mut server);
    server.send(Message::text("back")).unwrap();
    server.handle_timeout(t0 + secs(70.0));
    assert_eq!(server.poll_timeout(), Some(t0 + secs(130.0)));
    discard(&mut server);

    assert_eq!(server.handle_timeout(t0 + secs(129.9)), None);
    assert_eq!(server.handle_timeout(t0 + secs(130.0)), Some(Timeout::Idle));
    assert_eq!(server.state(), State::Closing);
    let frames = queued(&mut server);
    assert_eq!(frames[0].0, OpCode::Close);
    assert_eq!(close_code(&frames[0].1), CloseCode::GOING_AWAY);
    // The peer's answer ends the handshake as usual, within the close timeout.
    assert_eq!(server.poll_timeout(), Some(t0 + secs(135.0)));
    assert_eq!(
        server.handle_timeout(t0 + secs(135.0)),
        Some(Timeout::Close)
    );
}

#[test]
fn a_close_we_start_is_bounded_from_when_the_time_is_next_known() {
    let t0 = Instant::now();
    let (_, mut server) = pair(Config::default(), t0);
    server.handle_timeout(t0 + secs(3.0));
    server
        .close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        .unwrap();
    // The close call knows no time: the deadline asks for it at once.
    let asked = server.poll_timeout().unwrap();
    assert!(asked <= t0 + secs(3.0));
    assert_eq!(server.handle_timeout(t0 + secs(4.0)), None);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(9.0)));
    // No keepalive while closing.
    assert_eq!(server.handle_timeout(t0 + secs(8.9)), None);
    assert_eq!(queued(&mut server).len(), 1, "only the Close");
    assert_eq!(server.handle_timeout(t0 + secs(9.0)), Some(Timeout::Close));
}

#[test]
fn a_received_close_and_a_failure_are_bounded_by_the_close_timeout() {
    let t0 = Instant::now();
    // The peer's Close.
    let (mut client, mut server) = pair(Config::default(), t0);
    client.close(None).unwrap();
    pump(&mut client, &mut server, t0 + secs(1.0));
    assert!(matches!(drain(&mut server)[..], [Message::Close(None)]));
    assert_eq!(server.state(), State::Closed);
    server.handle_timeout(t0 + secs(1.0));
    assert_eq!(server.poll_timeout(), Some(t0 + secs(6.0)));
    assert_eq!(server.handle_timeout(t0 + secs(6.0)), Some(Timeout::Close));

    // A protocol error: the linger after it is bounded the same way.
    let (_, mut server) = pair(Config::default(), t0);
    server.handle_read(&[0x83, 0x80, 0, 0, 0, 0]); // reserved opcode
    server.handle_received(t0 + secs(2.0));
    assert!(server.poll_message().is_err());
    assert_eq!(server.state(), State::Failed);
    server.handle_timeout(t0 + secs(2.5));
    assert_eq!(server.poll_timeout(), Some(t0 + secs(7.5)));
    assert_eq!(server.handle_timeout(t0 + secs(7.0)), None);
    assert_eq!(server.handle_timeout(t0 + secs(7.5)), Some(Timeout::Close));
}

#[test]
fn a_pong_that_is_not_ours_is_delivered() {
    let t0 = Instant::now();
    let (mut client, mut server) = pair(Config::default(), t0);
    // Looks like ours, but with a sequence number we never sent.
    client
        .send(Message::Pong(Bytes::from_static(b"swell\0\0\0\x09")))
        .unwrap();
    pump(&mut client, &mut server, t0 + secs(1.0));
    assert_eq!(
        drain(&mut server),
        [Message::Pong(Bytes::from_static(b"swell\0\0\0\x09"))]
    );
}

#[test]
fn durations_too_long_to_add_are_deadlines_that_never_come() {
    let t0 = Instant::now();
    let mut config = Config::default();
    config.ping_interval = Some(Duration::MAX);
    config.idle_timeout = Some(Duration::MAX);
    config.close_timeout = Duration::MAX;
    let (_, mut server) = pair(config, t0);
    assert!(server.poll_timeout().unwrap() > t0 + secs(3.0e9));
    assert_eq!(server.handle_timeout(t0 + secs(1.0e9)), None);
    server.close(None).unwrap();
    assert_eq!(server.handle_timeout(t0 + secs(1.0e9)), None);
    assert!(server.poll_timeout().unwrap() > t0 + secs(3.0e9));
}
