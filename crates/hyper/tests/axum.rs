//! The axum extractor over both HTTP versions: an axum `Router` served by hyper-util's auto
//! server (HTTP/1.1 with upgrades, HTTP/2 with extended CONNECT), a handler that takes
//! `swell_hyper::axum::WebSocketUpgrade` as it would take axum's own, and swell clients on
//! each version; rejections are responses.

#![cfg(feature = "axum")]

use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use http::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use swell::{ClientBuilder, DeflateConfig, Message};
use swell_hyper::Http2Connection;
use swell_hyper::axum::WebSocketUpgrade;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("finished in time")
}

/// Echoes every data message, speaking `chat.v2` or `chat.v1` when offered, with deflate.
async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.protocols(["chat.v2", "chat.v1"])
        .deflate(DeflateConfig::default())
        .max_message_size(1 << 20)
        .on_upgrade(|mut socket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                if message.is_data() && socket.send(message).await.is_err() {
                    break;
                }
            }
        })
}

async fn app_server() -> String {
    let app = Router::new().route("/ws", any(handler));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let app = app.clone();
            tokio::spawn(async move {
                let mut server = auto::Builder::new(TokioExecutor::new());
                server.http2().enable_connect_protocol();
                let service = TowerToHyperService::new(app);
                let _ = server
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// Exchanges messages over `ws` and checks what the handler negotiated.
async fn exchange<S>(mut ws: swell::WebSocket<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    assert_eq!(
        ws.protocol(),
        Some("chat.v1"),
        "the client's first that we speak"
    );
    assert!(ws.deflate().is_some());
    for message in [
        Message::text("hello"),
        Message::binary(vec![3; 100_000]),
        Message::text(""),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), message);
    }
    // The handler's limit holds: 1 MiB + 1 is refused with 1009.
    ws.send(Message::binary(vec![0; (1 << 20) + 1]))
        .await
        .unwrap();
    match ws.recv().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, swell::CloseCode::MESSAGE_TOO_BIG)
        }
        other => panic!("expected a Close with 1009, got {other:?}"),
    }
}

fn client(url: &str) -> ClientBuilder {
    ClientBuilder::new(url)
        .unwrap()
        .protocol("chat.v1")
        .protocol("chat.v2")
        .config(swell::Config::default().deflate(DeflateConfig::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_over_http_1_1() {
    let addr = app_server().await;
    let (ws, response) = bounded(client(&format!("ws://{addr}/ws")).connect())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    bounded(exchange(ws)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_over_http_2() {
    let addr = app_server().await;
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let connection = bounded(Http2Connection::new(tcp)).await.unwrap();
    let (ws, response) = bounded(connection.open(client(&format!("ws://{addr}/ws"))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    bounded(exchange(ws)).await;
}

/// A request that is no WebSocket request is refused with swell's status and reason, as a
/// response axum returned.
#[tokio::test]
async fn rejections_are_responses() {
    let addr = app_server().await;
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    bounded(tcp.read_to_string(&mut answer)).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("expected a WebSocket upgrade"), "{answer}");

    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = vec![0; 1024];
    let n = bounded(tcp.read(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );
}
