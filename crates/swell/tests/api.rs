//! The API a tungstenite user reaches for: `Bytes`, `FusedStream`, `into_inner`, the
//! negotiated permessage-deflate parameters, builders that say when they are dropped.

use futures_util::stream::FusedStream;
use swell::{Bytes, Config, DeflateConfig, Message, Role, WebSocket};
use tokio::net::TcpListener;

#[tokio::test]
async fn the_negotiated_deflate_parameters_are_readable_on_both_ends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_config =
        Config::default().deflate(DeflateConfig::default().server_no_context_takeover(true));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        swell::accept_with(stream, server_config, |_| Ok(swell::Accept::new()))
            .await
            .unwrap()
    });
    let client_config =
        Config::default().deflate(DeflateConfig::default().client_max_window_bits(12));
    let (client, _) = swell::ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(client_config)
        .connect()
        .await
        .unwrap();
    let server = server.await.unwrap();
    for ws in [client.deflate(), server.deflate()] {
        let params = ws.expect("deflate was negotiated");
        assert!(params.server_no_context_takeover);
        assert!(!params.client_no_context_takeover);
    }
    // Without deflate, there is nothing to read.
    let (a, _b) = tokio::io::duplex(64);
    assert!(
        WebSocket::from_raw(a, Role::Server, Config::default(), &[])
            .deflate()
            .is_none()
    );
}

#[tokio::test]
async fn the_stream_is_fused_and_the_transport_can_be_taken_back() {
    let (a, b) = tokio::io::duplex(4096);
    let mut client = WebSocket::from_raw(a, Role::Client, Config::default(), &[]);
    let mut server = WebSocket::from_raw(b, Role::Server, Config::default(), &[]);
    let payload = Bytes::from_static(b"shared, not copied");
    client.send(Message::binary(payload.clone())).await.unwrap();
    assert_eq!(
        server.recv().await.unwrap().unwrap(),
        Message::Binary(payload)
    );
    assert!(!server.is_terminated());
    let closing = tokio::spawn(async move { client.close(None).await.map(|_| client) });
    while server.recv().await.is_some() {}
    assert!(server.is_terminated());
    assert!(server.recv().await.is_none());
    let client = closing.await.unwrap().unwrap();
    assert!(client.is_terminated());
    let _stream: tokio::io::DuplexStream = client.into_inner();
}

#[tokio::test]
async fn the_accept_decision_may_await() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..2 {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(swell::accept_with_async(
                stream,
                Config::default(),
                |request| async move {
                    // As a look-up in a database would.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    if request
                        .headers()
                        .get("authorization")
                        .is_some_and(|v| v == "Bearer ok")
                    {
                        Ok(swell::Accept::new())
                    } else {
                        let mut response = http::Response::new("unknown token\n".to_owned());
                        *response.status_mut() = http::StatusCode::UNAUTHORIZED;
                        Err(response)
                    }
                },
            ));
        }
    });
    let url = format!("ws://{addr}/");
    let error = swell::connect(&url).await.unwrap_err();
    assert_eq!(
        error.response().map(|r| r.status()),
        Some(http::StatusCode::UNAUTHORIZED)
    );
    let (mut ws, _) = swell::ClientBuilder::new(&url)
        .unwrap()
        .header(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer ok"),
        )
        .connect()
        .await
        .unwrap();
    ws.close(None).await.unwrap();
}
