//! permessage-deflate through the facade: negotiated in the handshake, compressing on the
//! wire, declined cleanly, and a client refusing a response its offers do not allow.

use swell::{Accept, Config, ConnectError, DeflateConfig, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::{Counters, Counting};

async fn echo_server(config: Config) -> (String, Counters, tokio::task::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let written = Counters::default();
    let counters = written.clone();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let stream = Counting::new(stream, &counters);
        let mut ws = swell::accept_with(stream, config, |_| Ok(Accept::new()))
            .await
            .unwrap();
        let negotiated = ws.has_extension();
        while let Some(message) = ws.recv().await {
            let message = message.unwrap();
            if message.is_data() {
                ws.send(message).await.unwrap();
            }
        }
        negotiated
    });
    (addr, written, task)
}

fn deflate() -> Config {
    Config::default().deflate(DeflateConfig::default())
}

#[tokio::test]
async fn both_sides_compress_when_both_enable_it() {
    let (addr, written, server) = echo_server(deflate()).await;
    let (mut ws, response) = swell::ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(deflate())
        .connect()
        .await
        .unwrap();
    assert!(ws.has_extension());
    assert!(
        response.headers()["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .starts_with("permessage-deflate")
    );
    let text = "all work and no play makes jack a dull boy. ".repeat(10_000);
    for _ in 0..3 {
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text(text.clone())
        );
    }
    // The per-message opt-out still arrives intact.
    ws.send_uncompressed(Message::text(text.clone()))
        .await
        .unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text(text.clone())
    );
    ws.close(None).await.unwrap();
    assert!(server.await.unwrap());
    // Three compressed echoes and one uncompressed: far less than four copies of the text.
    let total = written.bytes();
    assert!(
        total < text.len() * 2,
        "{total} bytes written for {} bytes of text",
        4 * text.len()
    );
}

#[tokio::test]
async fn one_side_without_it_means_no_compression_and_no_failure() {
    // The server does not enable it: the client's offer is declined.
    let (addr, _, server) = echo_server(Config::default()).await;
    let (mut ws, response) = swell::ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(deflate())
        .connect()
        .await
        .unwrap();
    assert!(!ws.has_extension());
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    ws.send("plain").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("plain"));
    ws.close(None).await.unwrap();
    assert!(!server.await.unwrap());

    // The client does not offer it.
    let (addr, _, server) = echo_server(deflate()).await;
    let (mut ws, _) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    assert!(!ws.has_extension());
    ws.send("plain").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("plain"));
    ws.close(None).await.unwrap();
    assert!(!server.await.unwrap());
}

#[tokio::test]
async fn a_response_the_offer_does_not_allow_fails_the_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            stream.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("sec-websocket-key: "))
            .unwrap();
        let accept = swell::handshake::accept_key(key.as_bytes());
        // An unknown parameter: RFC 7692 §5 says the client fails the connection.
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate; mystery\r\n\r\n",
            accept.to_str().unwrap()
        );
        stream.write_all(response.as_bytes()).await.unwrap();
        let _ = stream.read(&mut [0; 16]).await;
    });
    let result = swell::ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(deflate())
        .connect()
        .await;
    assert!(
        matches!(result, Err(ConnectError::Deflate(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn inflation_past_the_message_limit_closes_with_1009() {
    let (addr, _, _server) = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (stream, _): (TcpStream, _) = listener.accept().await.unwrap();
            let config = deflate().max_message_size(64 * 1024);
            let mut ws = swell::accept_with(stream, config, |_| Ok(Accept::new()))
                .await
                .unwrap();
            ws.recv().await
        });
        (addr, (), task)
    };
    let (mut ws, _) = swell::ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(deflate())
        .connect()
        .await
        .unwrap();
    // 16 MiB of zeros: about 16 KiB on the wire.
    ws.send(Message::binary(vec![0u8; 16 << 20])).await.unwrap();
    match ws.recv().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, swell::CloseCode::MESSAGE_TOO_BIG)
        }
        other => panic!("expected a 1009 Close, got {other:?}"),
    }
    let server = _server.await.unwrap();
    assert!(matches!(
        server,
        Some(Err(swell::Error::Protocol(
            swell::ProtocolError::MessageTooLarge { .. }
        )))
    ));
}

/// The `i`th of a stream of distinct, compressible messages.
fn chat(client: usize, i: usize) -> String {
    format!(
        r#"{{"client":{client},"id":{i},"text":"message {i} of a chat stream, from client {client}"}}"#
    )
    .repeat(1 + i % 3)
}

/// Accepts `n` connections with `config`, echoing each on a task of its own.
async fn echo_many(config: Config, n: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        for _ in 0..n {
            let (stream, _) = listener.accept().await.unwrap();
            let config = config.clone();
            tokio::spawn(async move {
                let mut ws = swell::accept_with(stream, config, |_| Ok(Accept::new()))
                    .await
                    .unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn connections_on_one_thread_interleave_messages_through_the_shared_streams() {
    // One thread (a current-thread runtime) for every server and client session, so that
    // the streams lent without context takeover pass from connection to connection, in
    // both directions, message after message.
    for preset in [
        DeflateConfig::default(),
        DeflateConfig::no_context_takeover(),
        DeflateConfig::context_takeover(),
    ] {
        let config = Config::default().deflate(preset.clone());
        let addr = echo_many(config.clone(), 4).await;
        let mut clients = Vec::new();
        for _ in 0..4 {
            let (ws, _) = swell::ClientBuilder::new(&format!("ws://{addr}/"))
                .unwrap()
                .config(config.clone())
                .connect()
                .await
                .unwrap();
            assert!(ws.has_extension());
            clients.push(ws);
        }
        for i in 0..30 {
            for (c, ws) in clients.iter_mut().enumerate() {
                ws.send(Message::text(chat(c, i))).await.unwrap();
            }
            for (c, ws) in clients.iter_mut().enumerate() {
                let echo = ws.recv().await.unwrap().unwrap();
                assert_eq!(echo, Message::text(chat(c, i)), "{preset:?}");
            }
        }
    }
}
