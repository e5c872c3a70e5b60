//! The write contract: `send` returns once its bytes are written; `feed` queues, and `recv`
//! writes what is queued before it waits, so a `recv` + `feed` loop answers a burst with one
//! write.

use std::time::Duration;

use swell::{Config, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod common;
use common::{Counters, Counting, accept_by_hand, masked};

/// Sixteen text messages and a Ping, as one read brings them to a server.
fn burst() -> Vec<u8> {
    let mut burst = Vec::new();
    for i in 0..16u8 {
        burst.extend(masked(0x81, format!("message {i}").as_bytes()));
    }
    burst.extend(masked(0x89, b"ping"));
    burst
}

/// The server's answer to [`burst`] when every message is echoed: the echoes, then the Pong.
fn echoed_burst() -> Vec<u8> {
    let mut expected = Vec::new();
    for i in 0..16u8 {
        let text = format!("message {i}");
        expected.extend([0x81, text.len() as u8]);
        expected.extend(text.as_bytes());
    }
    expected.extend(b"\x8a\x04ping");
    expected
}

#[tokio::test]
async fn send_has_written_the_reply_when_it_returns() {
    // The server sends two messages in one write; the client answers the first and then
    // does something else, calling nothing on the connection. The reply must be on the wire.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut stream = accept_by_hand(&listener, b"\x81\x05first\x81\x06second").await;
        let mut reply = [0; 2 + 4 + 5];
        tokio::time::timeout(Duration::from_millis(100), stream.read_exact(&mut reply))
            .await
            .expect("the reply arrives while the client does other work")
            .unwrap();
        let payload: Vec<u8> = (0..5).map(|i| reply[6 + i] ^ reply[2 + i % 4]).collect();
        assert_eq!((reply[0], &payload[..]), (0x81, &b"reply"[..]));
        stream
    });
    let (mut client, _) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    assert_eq!(
        client.recv().await.unwrap().unwrap(),
        Message::text("first")
    );
    client.send("reply").await.unwrap();
    // "Other work": the connection is not touched until the server has checked the reply.
    let mut stream = server.await.unwrap();
    assert_eq!(
        client.recv().await.unwrap().unwrap(),
        Message::text("second")
    );
    stream.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_recv_and_send_loop_writes_every_reply_as_it_is_sent() {
    let (ours, mut theirs) = tokio::io::duplex(1 << 20);
    let counters = Counters::default();
    let io = Counting::new(ours, &counters);
    let mut ws = swell::WebSocket::from_raw(io, swell::Role::Server, Config::default(), &burst());
    for i in 0..16 {
        let message = ws.recv().await.unwrap().unwrap();
        ws.send(message).await.unwrap();
        assert_eq!(counters.writes(), i + 1, "reply {i} is written by its send");
    }
    assert!(matches!(ws.recv().await, Some(Ok(Message::Ping(_)))));
    // The automatic Pong leaves before the next recv waits.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), ws.recv())
            .await
            .is_err()
    );
    assert_eq!(counters.writes(), 17);
    let expected = echoed_burst();
    let mut got = vec![0; expected.len()];
    theirs.read_exact(&mut got).await.unwrap();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_recv_and_feed_loop_answers_one_read_with_one_write() {
    let (ours, mut theirs) = tokio::io::duplex(1 << 20);
    let counters = Counters::default();
    let io = Counting::new(ours, &counters);
    let mut ws = swell::WebSocket::from_raw(io, swell::Role::Server, Config::default(), &burst());
    for _ in 0..16 {
        let message = ws.recv().await.unwrap().unwrap();
        ws.feed(message).await.unwrap();
    }
    assert!(matches!(ws.recv().await, Some(Ok(Message::Ping(_)))));
    assert_eq!(
        counters.writes(),
        0,
        "fed replies wait for the end of the burst"
    );
    // With everything received handed out, the next recv writes every reply, the automatic
    // Pong included, at once before it waits.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), ws.recv())
            .await
            .is_err()
    );
    assert_eq!(counters.writes(), 1);
    let expected = echoed_burst();
    let mut got = vec![0; expected.len()];
    theirs.read_exact(&mut got).await.unwrap();
    assert_eq!(got, expected);
    // `send` writes at once, with whatever was fed before it.
    ws.feed("one").await.unwrap();
    ws.send("two").await.unwrap();
    assert_eq!(counters.writes(), 2);
    let mut got = [0; 10];
    theirs.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"\x81\x03one\x81\x03two");
}
