//! Keepalive, dead-peer detection and the idle timeout over real streams, on tokio's paused
//! clock: the deadlines of the core, driven by the facade's one timer.

mod common;

use std::time::Duration;

use common::masked;
use swell::{CloseCode, Config, Error, Message, Role, WebSocket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

/// Reads one frame of at most 125 bytes as the peer of `role` would: (first byte, payload).
async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> (u8, Vec<u8>) {
    let mut head = [0; 2];
    stream.read_exact(&mut head).await.unwrap();
    let len = usize::from(head[1] & 0x7F);
    assert!(len < 126, "a short frame");
    let key = if head[1] & 0x80 != 0 {
        let mut key = [0; 4];
        stream.read_exact(&mut key).await.unwrap();
        Some(key)
    } else {
        None
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await.unwrap();
    if let Some(key) = key {
        swell::frame::apply_mask(&mut payload, key);
    }
    (head[0], payload)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn server(config: Config) -> (WebSocket<DuplexStream>, DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(64 << 10);
    (WebSocket::from_raw(ours, Role::Server, config, &[]), theirs)
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_pinged_after_the_interval_and_its_pong_stays_inside() {
    let (mut ws, mut peer) = server(Config::default());
    let started = Instant::now();
    let app = tokio::spawn(async move {
        let got = ws.recv().await;
        (got, ws)
    });
    let (b0, payload) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x89, "a Ping");
    let at = started.elapsed();
    assert!(
        at >= secs(20) && at < secs(21),
        "after the interval: {at:?}"
    );
    // Answered: the Pong is not the application's, and nothing fails at 40 s.
    peer.write_all(&masked(0x8A, &payload)).await.unwrap();
    let (b0, again) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x89, "the next Ping, not a Close");
    assert_ne!(again, payload, "each Ping has its own payload");
    assert!(started.elapsed() >= secs(40));
    peer.write_all(&masked(0x81, b"done")).await.unwrap();
    let (got, ws) = app.await.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::text("done"));
    assert_eq!(
        ws.latency(),
        Some(Duration::ZERO),
        "answered at once on a paused clock"
    );
}

#[tokio::test(start_paused = true)]
async fn bytes_from_the_peer_push_the_ping_back() {
    let (mut ws, mut peer) = server(Config::default());
    let started = Instant::now();
    let app = tokio::spawn(async move { while let Some(Ok(_)) = ws.recv().await {} });
    tokio::time::sleep(secs(15)).await;
    peer.write_all(&masked(0x82, b"x")).await.unwrap();
    let (b0, _) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x89);
    let at = started.elapsed();
    assert!(
        at >= secs(35) && at < secs(36),
        "20 s after the last bytes: {at:?}"
    );
    app.abort();
}

/// Checks that the Ping leaves after the default interval, as the peer sees it, with `ws`
/// awaited by the test's own task for up to a minute after `wait` did something to it first.
async fn ping_leaves_after_the_interval(
    mut ws: WebSocket<DuplexStream>,
    mut peer: DuplexStream,
    wait: impl AsyncFnOnce(&mut WebSocket<DuplexStream>),
) {
    let started = Instant::now();
    wait(&mut ws).await;
    let peer = tokio::spawn(async move {
        let (b0, _) = read_frame(&mut peer).await;
        assert_eq!(b0, 0x89, "a Ping");
        started.elapsed()
    });
    let _ = tokio::time::timeout(secs(60), ws.recv()).await;
    // Once `recv` is no longer awaited no Ping can leave: one not sent by then never will be.
    let at = match tokio::time::timeout(secs(1), peer).await {
        Ok(at) => at.unwrap(),
        Err(_) => panic!("no Ping left within a minute"),
    };
    assert!(
        at >= secs(20) && at < secs(21),
        "after the interval: {at:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_ping_leaves_in_time_when_another_task_awaited_recv_before() {
    let (ws, peer) = server(Config::default());
    ping_leaves_after_the_interval(ws, peer, async |ws| {
        // Polled once with a waker that wakes nothing, then dropped: the timer has to learn
        // the waker of the task that awaits `recv` next.
        let mut recv = std::pin::pin!(ws.recv());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_ping_leaves_in_time_when_recv_was_first_polled_out_of_coop_budget() {
    let (ws, peer) = server(Config::default());
    ping_leaves_after_the_interval(ws, peer, async |ws| {
        // Each message taken from a channel spends a unit of the task's budget: with none
        // left, tokio's timer neither registers nor arms itself on that poll.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..1000 {
            tx.send(()).unwrap();
        }
        std::future::poll_fn(|cx| {
            while rx.poll_recv(cx).is_ready() {}
            assert!(!tokio::task::coop::has_budget_remaining());
            let mut recv = std::pin::pin!(ws.recv());
            assert!(recv.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
    })
    .await;
}

/// The peer reads nothing more and answers nothing: the server still has a large message
/// for it that does not fit the stream, and its Ping waits behind that.
#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_and_answering_is_detected_and_closed() {
    let (ours, mut peer) = tokio::io::duplex(1024);
    let mut ws = WebSocket::from_raw(ours, Role::Server, Config::default(), &[]);
    let started = Instant::now();
    ws.feed(Message::binary(vec![7; 8192])).await.unwrap();
    let got = ws.recv().await;
    assert!(matches!(got, Some(Err(Error::KeepaliveTimeout))), "{got:?}");
    let at = started.elapsed();
    assert!(
        at >= secs(40) && at < secs(41),
        "interval + timeout: {at:?}"
    );
    assert!(ws.recv().await.is_none());
    // The transport was shut down: the peer reads what was written, then the end.
    let mut rest = Vec::new();
    tokio::time::timeout(secs(1), peer.read_to_end(&mut rest))
        .await
        .expect("the server closed its side")
        .unwrap();
    assert_eq!(
        rest.len(),
        1024,
        "only what fitted the stream was ever written"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_gets_a_ping_then_1011_then_the_end() {
    let (mut ws, mut peer) = server(Config::default());
    let started = Instant::now();
    let app = tokio::spawn(async move {
        let got = ws.recv().await;
        (got, ws.recv().await.is_none())
    });
    let (b0, _) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x89);
    let (b0, payload) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x88, "a Close");
    assert_eq!(
        u16::from_be_bytes([payload[0], payload[1]]),
        CloseCode::INTERNAL_ERROR.as_u16()
    );
    let at = started.elapsed();
    assert!(at >= secs(40) && at < secs(41), "{at:?}");
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    let (got, ended) = app.await.unwrap();
    assert!(matches!(got, Some(Err(Error::KeepaliveTimeout))), "{got:?}");
    assert!(ended);
}

#[tokio::test(start_paused = true)]
async fn a_client_detects_a_server_that_vanished() {
    let (ours, mut peer) = tokio::io::duplex(64 << 10);
    let config = Config::default()
        .ping_interval(secs(5))
        .ping_timeout(secs(3));
    let mut ws = WebSocket::from_raw(ours, Role::Client, config, &[]);
    let started = Instant::now();
    let got = ws.recv().await;
    assert!(matches!(got, Some(Err(Error::KeepaliveTimeout))), "{got:?}");
    let at = started.elapsed();
    assert!(at >= secs(8) && at < secs(9), "{at:?}");
    let (b0, _) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x89, "the client's Ping, masked");
    let (b0, _) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x88);
}

#[tokio::test(start_paused = true)]
async fn keepalive_runs_in_a_read_half_while_the_write_half_is_idle() {
    let (ws, mut peer) = server(Config::default());
    let (mut read, _write) = ws.split();
    let started = Instant::now();
    let app = tokio::spawn(async move { read.recv().await });
    let (b0, _) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x89);
    let got = app.await.unwrap();
    assert!(matches!(got, Some(Err(Error::KeepaliveTimeout))), "{got:?}");
    let at = started.elapsed();
    assert!(at >= secs(40) && at < secs(41), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn keepalive_turned_off_sends_nothing() {
    let (mut ws, mut peer) = server(Config::default().ping_interval(None));
    let waited = tokio::time::timeout(secs(3600), ws.recv()).await;
    assert!(waited.is_err(), "still waiting after an hour");
    let mut byte = [0; 1];
    let read = tokio::time::timeout(secs(1), peer.read(&mut byte)).await;
    assert!(read.is_err(), "nothing was written");
}

#[tokio::test(start_paused = true)]
async fn the_idle_timeout_closes_with_1001() {
    let config = Config::default().ping_interval(None).idle_timeout(secs(30));
    let (mut ws, mut peer) = server(config);
    let started = Instant::now();
    let app = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(item) = ws.recv().await {
            got.push(item.unwrap());
        }
        got
    });
    tokio::time::sleep(secs(10)).await;
    peer.write_all(&masked(0x81, b"hi")).await.unwrap();
    // Pings do not keep an idle connection open.
    tokio::time::sleep(secs(10)).await;
    peer.write_all(&masked(0x89, b"")).await.unwrap();
    let (b0, _) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x8A, "the Pong");
    let (b0, payload) = read_frame(&mut peer).await;
    assert_eq!(b0, 0x88);
    assert_eq!(
        u16::from_be_bytes([payload[0], payload[1]]),
        CloseCode::GOING_AWAY.as_u16()
    );
    let at = started.elapsed();
    assert!(
        at >= secs(40) && at < secs(41),
        "30 s after the message: {at:?}"
    );
    peer.write_all(&masked(0x88, &payload[..2])).await.unwrap();
    let got = app.await.unwrap();
    assert_eq!(got[0], Message::text("hi"));
    assert!(matches!(got[1], Message::Ping(_)));
    let Message::Close(Some(frame)) = &got[2] else {
        panic!("{got:?}");
    };
    assert_eq!(frame.code, CloseCode::GOING_AWAY);
}

/// Over TCP: the client's application stops reading and answering (its socket stays open,
/// the kernel still takes the bytes). The server notices and closes the TCP connection.
#[tokio::test(start_paused = true)]
async fn over_tcp_a_client_that_stopped_answering_is_closed_by_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = swell::accept(stream).await.unwrap();
        let started = Instant::now();
        let got = ws.recv().await;
        (got, started.elapsed(), ws.recv().await.is_none())
    });
    let (ws, _) = swell::connect(&url).await.unwrap();
    let mut stream = ws.into_inner();
    let (got, at, ended) = server.await.unwrap();
    assert!(matches!(got, Some(Err(Error::KeepaliveTimeout))), "{got:?}");
    assert!(at >= secs(40) && at < secs(41), "{at:?}");
    assert!(ended);
    let (b0, _) = read_frame(&mut stream).await;
    assert_eq!(b0, 0x89);
    let (b0, _) = read_frame(&mut stream).await;
    assert_eq!(b0, 0x88);
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "then the end of the stream");
}
