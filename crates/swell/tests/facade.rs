//! The facade's behaviour on real sockets (and in-memory pipes where time must be
//! simulated): handshake rejections, bytes behind the handshake, failures reaching the peer
//! with their code, the closing handshake, time limits, backpressure and split halves.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderName, HeaderValue};
use swell::{Accept, AcceptError, CloseCode, CloseFrame, Config, ConnectError, Error, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::{KEY, accept_by_hand, masked, read_head};

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// A listener and a task that accepts one connection with `config` and hands it over.
async fn server_with<F>(
    config: Config,
    callback: F,
) -> (
    String,
    tokio::task::JoinHandle<Result<swell::WebSocket<TcpStream>, AcceptError>>,
)
where
    F: FnOnce(&http::Request<()>) -> Result<Accept, http::Response<String>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        swell::accept_with(stream, config, callback).await
    });
    (addr.to_string(), task)
}

async fn server() -> (
    String,
    tokio::task::JoinHandle<Result<swell::WebSocket<TcpStream>, AcceptError>>,
) {
    server_with(Config::default(), |_| Ok(Accept::new())).await
}

/// Reads until the peer closes, with a time bound so a bug cannot hang the suite.
async fn read_to_end(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the peer closes the connection")
        .unwrap();
    out
}

/// Connects a raw client and completes the handshake by hand.
async fn raw_client(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(REQUEST.as_bytes()).await.unwrap();
    let (head, rest) = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(rest.is_empty());
    stream
}

async fn rejected(raw: &str) -> (String, AcceptError) {
    let (addr, task) = server().await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let response = String::from_utf8(read_to_end(&mut stream).await).unwrap();
    // The server lingers until we close.
    drop(stream);
    (response, task.await.unwrap().unwrap_err())
}

#[tokio::test]
async fn a_refusal_lingers_until_the_client_closes() {
    let (addr, task) = server().await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    // The server has shut down its side but still reads, so that what the client sends
    // after its request does not make closing the socket reset the connection under the
    // refusal before the client reads it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !task.is_finished(),
        "the server waits for the client to close"
    );
    stream.write_all(&[b'x'; 100]).await.unwrap();
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .await
        .expect("a clean end, no reset");
    drop(stream);
    let result = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the server finishes once the client closes")
        .unwrap();
    assert!(
        matches!(
            result,
            Err(AcceptError::Request(
                swell::handshake::RequestError::NotUpgrade
            ))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_plain_http_request_gets_426() {
    let (response, error) = rejected("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{response}"
    );
    assert!(response.contains("upgrade: websocket\r\n"), "{response}");
    assert!(matches!(
        error,
        AcceptError::Request(swell::handshake::RequestError::NotUpgrade)
    ));
}

#[tokio::test]
async fn an_old_websocket_version_gets_426_naming_13() {
    let (response, _) = rejected(&REQUEST.replace("Version: 13", "Version: 8")).await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(
        response.contains("sec-websocket-version: 13\r\n"),
        "{response}"
    );
}

#[tokio::test]
async fn a_bad_key_gets_400_and_an_oversized_head_431() {
    let (response, _) = rejected(&REQUEST.replace("dGhlIHNhbXBsZSBub25jZQ==", "short")).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let (response, error) = rejected(&huge).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    assert!(matches!(
        error,
        AcceptError::Request(swell::handshake::RequestError::HeadTooLarge)
    ));
}

#[tokio::test]
async fn the_callback_picks_a_protocol_and_adds_headers() {
    let (addr, task) = server_with(Config::default(), |request| {
        assert_eq!(request.uri().path(), "/chat");
        let offered = swell::offered_protocols(request);
        assert_eq!(offered, ["v1", "chat"]);
        Ok(Accept::new()
            .protocol("chat")
            .header(
                HeaderName::from_static("x-served-by"),
                HeaderValue::from_static("swell"),
            )
            // The handshake's own headers cannot be overridden.
            .header(http::header::UPGRADE, HeaderValue::from_static("h2c")))
    })
    .await;
    let (mut ws, response) = swell::ClientBuilder::new(&format!("ws://{addr}/chat"))
        .unwrap()
        .protocol("v1")
        .protocol("chat")
        .connect()
        .await
        .unwrap();
    assert_eq!(ws.protocol(), Some("chat"));
    assert_eq!(response.headers()["x-served-by"], "swell");
    assert_eq!(response.headers()["upgrade"], "websocket");
    let mut server = task.await.unwrap().unwrap();
    assert_eq!(server.protocol(), Some("chat"));
    ws.send("hi").await.unwrap();
    assert_eq!(server.recv().await.unwrap().unwrap(), Message::text("hi"));
}

#[tokio::test]
async fn the_callback_can_reject() {
    let (addr, task) = server_with(Config::default(), |_| {
        let mut response = http::Response::new("go away\n".to_owned());
        *response.status_mut() = StatusCode::FORBIDDEN;
        Err(response)
    })
    .await;
    let error = swell::connect(&format!("ws://{addr}/")).await.unwrap_err();
    // The client keeps what the server said: status, headers and body.
    let response = error.response().expect("a refusal");
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["content-length"], "8");
    assert_eq!(&response.body()[..], b"go away\n");
    assert_eq!(
        error.to_string(),
        "the server refused the upgrade with 403 Forbidden: go away"
    );
    assert!(matches!(task.await.unwrap(), Err(AcceptError::Rejected(s)) if s == 403));
}

#[tokio::test]
async fn a_protocol_that_was_not_offered_is_a_server_error() {
    let (addr, task) = server_with(Config::default(), |_| Ok(Accept::new().protocol("nope"))).await;
    let error = swell::connect(&format!("ws://{addr}/")).await.unwrap_err();
    assert!(
        matches!(&error, ConnectError::Refused(r) if r.status() == 500),
        "{error:?}"
    );
    assert!(matches!(
        task.await.unwrap(),
        Err(AcceptError::ProtocolNotOffered)
    ));
}

#[tokio::test]
async fn frames_sent_right_behind_the_request_are_not_lost() {
    let (addr, task) = server().await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    // Request and two frames in one write, as an "eagerly optimistic" client does.
    let mut wire = REQUEST.as_bytes().to_vec();
    wire.extend(masked(0x81, b"first"));
    wire.extend(masked(0x82, b"second"));
    stream.write_all(&wire).await.unwrap();
    let mut ws = task.await.unwrap().unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("first"));
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::binary(Bytes::from_static(b"second"))
    );
}

#[tokio::test]
async fn frames_sent_right_behind_the_response_are_not_lost() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut stream = accept_by_hand(&listener, b"\x81\x05hello").await;
        read_to_end(&mut stream).await
    });
    let (mut ws, _) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hello"));
}

#[tokio::test]
async fn a_protocol_error_reaches_the_peer_with_1002_and_tcp_closes() {
    let (addr, task) = server().await;
    let mut stream = raw_client(&addr).await;
    let mut ws = task.await.unwrap().unwrap();
    let server = tokio::spawn(async move {
        let result = ws.recv().await.unwrap();
        assert!(ws.recv().await.is_none());
        result
    });
    // Unmasked: clients must mask.
    stream.write_all(b"\x81\x02hi").await.unwrap();
    let bytes = read_to_end(&mut stream).await;
    assert_eq!(bytes[0], 0x88, "a Close frame");
    assert_eq!(u16::from_be_bytes([bytes[2], bytes[3]]), 1002);
    drop(stream);
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::Protocol(swell::ProtocolError::UnmaskedFrame))
    ));
}

#[tokio::test]
async fn after_a_protocol_error_the_server_reads_until_the_client_closes() {
    let (addr, task) = server().await;
    let mut stream = raw_client(&addr).await;
    let mut ws = task.await.unwrap().unwrap();
    let server = tokio::spawn(async move { ws.recv().await.unwrap() });
    // An unmasked frame fails the connection; the client keeps sending behind it.
    stream.write_all(b"\x81\x02hi").await.unwrap();
    stream.write_all(&masked(0x81, b"later")).await.unwrap();
    let mut head = [0; 2];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], 0x88, "a Close frame");
    let mut payload = vec![0; usize::from(head[1])];
    stream.read_exact(&mut payload).await.unwrap();
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);
    // The server has shut down its side but still reads, so that the client's late frames
    // do not make closing the socket reset the connection under its Close frame.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.is_finished(),
        "the server waits for the client to close"
    );
    stream.write_all(&masked(0x82, &[0; 100])).await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).await.unwrap(),
        0,
        "a clean end"
    );
    drop(stream);
    let result = tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server finishes once the client closes")
        .unwrap();
    assert!(matches!(
        result,
        Err(Error::Protocol(swell::ProtocolError::UnmaskedFrame))
    ));
}

#[tokio::test]
async fn invalid_utf8_fails_before_the_frame_is_complete() {
    let (addr, task) = server().await;
    let mut stream = raw_client(&addr).await;
    let mut ws = task.await.unwrap().unwrap();
    let recv = tokio::spawn(async move { ws.recv().await.unwrap() });
    // The header of a 100-byte text frame, then 8 payload bytes holding an invalid sequence;
    // the other 92 are never sent.
    let payload = [b"abcd".as_slice(), b"\xf4\x90\x80\x80"].concat();
    let mut wire = vec![0x81, 0x80 | 100];
    wire.extend_from_slice(&KEY);
    wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    stream.write_all(&wire).await.unwrap();
    let bytes = read_to_end(&mut stream).await;
    assert_eq!(u16::from_be_bytes([bytes[2], bytes[3]]), 1007);
    // The server lingers until the client closes too.
    drop(stream);
    assert!(matches!(
        recv.await.unwrap(),
        Err(Error::Protocol(swell::ProtocolError::InvalidUtf8))
    ));
}

#[tokio::test]
async fn the_server_answers_a_close_and_closes_tcp() {
    let (addr, task) = server().await;
    let mut stream = raw_client(&addr).await;
    let mut ws = task.await.unwrap().unwrap();
    stream
        .write_all(&masked(0x88, b"\x0f\xa0bye"))
        .await
        .unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Close(Some(CloseFrame::new(CloseCode::new(4000), "bye")))
    );
    assert!(ws.recv().await.is_none());
    assert_eq!(read_to_end(&mut stream).await, b"\x88\x05\x0f\xa0bye");
}

/// Asserts that the client neither sends nor closes anything for a while: it leaves closing
/// TCP to the server (RFC 6455 §7.1.1).
async fn assert_client_keeps_tcp_open(stream: &mut TcpStream) {
    let mut byte = [0; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "the client closed TCP before the server: {early:?}"
    );
}

#[tokio::test]
async fn the_client_waits_for_the_server_to_close_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (answered_tx, answered_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        // A hand-written server that answers the Close but keeps TCP open for a while.
        let mut stream = accept_by_hand(&listener, &[]).await;
        let mut close = [0; 6];
        stream.read_exact(&mut close).await.unwrap();
        assert_eq!(close[0], 0x88);
        stream.write_all(b"\x88\x00").await.unwrap();
        answered_tx.send(()).unwrap();
        assert_client_keeps_tcp_open(&mut stream).await;
        drop(stream);
    });
    let (mut client, _) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    let closing = tokio::spawn(async move { client.close(None).await });
    answered_rx.await.unwrap();
    assert!(!closing.is_finished());
    server.await.unwrap();
    // Once the server closed TCP, the client's close completes.
    assert_eq!(closing.await.unwrap().unwrap(), None);
}

#[tokio::test]
async fn a_client_that_fails_the_connection_waits_for_the_server_to_close_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut stream = accept_by_hand(&listener, &[]).await;
        // Masked: servers must not mask. Another frame follows it.
        stream.write_all(&masked(0x81, b"hi")).await.unwrap();
        stream.write_all(b"\x82\x05later").await.unwrap();
        let mut head = [0; 2];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(head[0], 0x88, "a Close frame");
        let mut rest = vec![0; 4 + usize::from(head[1] & 0x7f)];
        stream.read_exact(&mut rest).await.unwrap();
        let code = u16::from_be_bytes([rest[4] ^ rest[0], rest[5] ^ rest[1]]);
        assert_eq!(code, 1002);
        assert_client_keeps_tcp_open(&mut stream).await;
        stream.write_all(b"\x88\x02\x03\xea").await.unwrap();
        drop(stream);
    });
    let (mut client, _) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), client.recv())
        .await
        .expect("the client finishes once the server closes TCP")
        .unwrap();
    assert!(
        matches!(
            result,
            Err(Error::Protocol(swell::ProtocolError::MaskedFrame))
        ),
        "{result:?}"
    );
    // The server's assertions ran before it closed TCP.
    server.await.unwrap();
    assert!(client.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn close_times_out_when_the_peer_never_answers() {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let config = Config::default().close_timeout(Duration::from_secs(3));
    let mut ws = swell::WebSocket::from_raw(ours, swell::Role::Server, config, &[]);
    let started = tokio::time::Instant::now();
    let result = ws.close(None).await;
    assert!(matches!(result, Err(Error::CloseTimeout)), "{result:?}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    // The Close was sent all the same.
    let mut frame = [0; 2];
    theirs.read_exact(&mut frame).await.unwrap();
    assert_eq!(frame, [0x88, 0x00]);
}

#[tokio::test(start_paused = true)]
async fn a_close_sent_uncompressed_is_written_and_timed_like_any_close() {
    let (ours, mut theirs) = tokio::io::duplex(4096);
    let config = Config::default().close_timeout(Duration::from_secs(3));
    // A message waits to be received: a data message would stay queued behind it.
    let waiting = masked(0x81, b"hi");
    let mut ws = swell::WebSocket::from_raw(ours, swell::Role::Server, config, &waiting);
    ws.send_uncompressed(Message::Close(None)).await.unwrap();
    let mut frame = [0; 2];
    tokio::time::timeout(Duration::from_secs(1), theirs.read_exact(&mut frame))
        .await
        .expect("the Close is written at once")
        .unwrap();
    assert_eq!(frame, [0x88, 0x00]);
    let started = tokio::time::Instant::now();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
    let result = tokio::time::timeout(Duration::from_secs(10), ws.recv())
        .await
        .expect("the close timeout ends the wait");
    assert!(
        matches!(result, Some(Err(Error::CloseTimeout))),
        "{result:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_times_out_the_handshake() {
    let (ours, _theirs) = tokio::io::duplex(4096);
    let config = Config::default().handshake_timeout(Duration::from_secs(2));
    let result = swell::accept_with(ours, config, |_| Ok(Accept::new())).await;
    assert!(matches!(result, Err(AcceptError::Timeout)));
}

#[tokio::test(start_paused = true)]
async fn sending_waits_when_the_peer_stops_reading() {
    let (ours, _theirs) = tokio::io::duplex(16 * 1024);
    let limit = 64 * 1024;
    let config = Config::default().write_buffer_limit(limit);
    let mut ws = swell::WebSocket::from_raw(ours, swell::Role::Server, config, &[]);
    let message = Message::binary(vec![0; 1024]);
    let mut queued = 0;
    while tokio::time::timeout(Duration::from_secs(1), ws.feed(message.clone()))
        .await
        .is_ok()
    {
        queued += 1;
        assert!(queued < 1000, "the write buffer grows without bound");
    }
    // What is buffered is the limit plus what the pipe holds, give or take a message.
    let buffered = queued * (1024 + 4);
    assert!(buffered <= limit + 16 * 1024 + 1028, "{buffered}");
    assert!(buffered >= limit, "{buffered}");
}

#[tokio::test]
async fn the_peer_going_away_without_a_close_is_an_error() {
    let (addr, task) = server().await;
    let stream = raw_client(&addr).await;
    let mut ws = task.await.unwrap().unwrap();
    drop(stream);
    match ws.recv().await {
        Some(Err(Error::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
        other => panic!("{other:?}"),
    }
    assert!(ws.recv().await.is_none());
}

#[tokio::test]
async fn split_halves_work_from_two_tasks() {
    let (addr, task) = server().await;
    let (client, _) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    let server = task.await.unwrap().unwrap();
    let (mut read, mut write) = server.split();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let reader = tokio::spawn(async move {
        while let Some(message) = read.recv().await {
            let message = message.unwrap();
            let close = message.is_close();
            tx.send(message).await.unwrap();
            if close {
                break;
            }
        }
        read
    });
    let (mut client_read, mut client_write) = client.split();
    // The server's read half answers a ping while its write half sits idle.
    client_write
        .send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert_eq!(
        client_read.recv().await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"p"))
    );
    assert_eq!(
        rx.recv().await.unwrap(),
        Message::Ping(Bytes::from_static(b"p"))
    );
    // The server's write half sends while its read half waits for input.
    write.send("from the write half").await.unwrap();
    assert_eq!(
        client_read.recv().await.unwrap().unwrap(),
        Message::text("from the write half")
    );
    client_write
        .close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        .await
        .unwrap();
    assert!(rx.recv().await.unwrap().is_close());
    let read = reader.await.unwrap();
    let server = read.reunite(write).expect("the halves belong together");
    assert_eq!(server.state(), swell::State::Closed);
    assert!(client_read.recv().await.unwrap().unwrap().is_close());
}

#[tokio::test]
async fn urls_that_cannot_be_connected_to() {
    // Without TLS, wss:// says so (with it, tests/tls.rs connects).
    #[cfg(not(feature = "tls"))]
    assert!(matches!(
        swell::connect("wss://localhost/").await,
        Err(ConnectError::TlsRequired)
    ));
    assert!(matches!(
        swell::connect("ftp://localhost/").await,
        Err(ConnectError::Uri(_))
    ));
    assert!(matches!(
        swell::connect("not a url").await,
        Err(ConnectError::Uri(_))
    ));
    assert!(matches!(
        swell::connect("ws://[::1/").await,
        Err(ConnectError::Url(_))
    ));
}

#[tokio::test]
async fn a_client_over_any_stream() {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let mut ws = swell::accept(server_io).await.unwrap();
        let message = ws.recv().await.unwrap().unwrap();
        ws.send(message).await.unwrap();
        ws.recv().await
    });
    let (mut ws, _) = swell::ClientBuilder::new("ws://in-memory/")
        .unwrap()
        .handshake(client_io)
        .await
        .unwrap();
    ws.send("over a pipe").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text("over a pipe")
    );
    assert_eq!(ws.close(None).await.unwrap(), None);
    assert!(matches!(
        server.await.unwrap(),
        Some(Ok(Message::Close(None)))
    ));
}

fn _assert_send<S: AsyncRead + AsyncWrite + Unpin + Send>(ws: swell::WebSocket<S>) -> impl Send {
    ws
}
