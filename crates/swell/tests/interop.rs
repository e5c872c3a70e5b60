//! Interop with a real third-party implementation, tokio-tungstenite: our server with its
//! client, and our client with its server, over loopback TCP.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use swell::{CloseCode, CloseFrame, Message};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;

mod common;

use common::{binary_of, text_of};

const SIZES: [usize; 6] = [0, 125, 126, 65535, 65536, 16 << 20];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_with_a_tungstenite_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = swell::accept(stream).await.unwrap();
        let mut pings = Vec::new();
        let mut close = None;
        while let Some(message) = ws.recv().await {
            match message.unwrap() {
                m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await.unwrap(),
                Message::Ping(payload) => pings.push(payload),
                Message::Close(frame) => close = frame,
                Message::Pong(_) => {}
            }
        }
        (pings, close)
    });

    let (mut client, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    for size in SIZES {
        let text = text_of(size);
        client.send(TMessage::text(text.clone())).await.unwrap();
        match client.next().await.unwrap().unwrap() {
            TMessage::Text(got) => assert_eq!(got.as_str(), text, "text of {size}"),
            other => panic!("expected text, got {other:?}"),
        }
        let data = binary_of(size);
        client.send(TMessage::binary(data.clone())).await.unwrap();
        match client.next().await.unwrap().unwrap() {
            TMessage::Binary(got) => assert_eq!(got, data, "binary of {size}"),
            other => panic!("expected binary, got {other:?}"),
        }
    }
    client
        .send(TMessage::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    match client.next().await.unwrap().unwrap() {
        TMessage::Pong(payload) => assert_eq!(payload, "are you there"),
        other => panic!("expected pong, got {other:?}"),
    }
    client
        .close(Some(TCloseFrame {
            code: TCloseCode::from(4000),
            reason: "done here".into(),
        }))
        .await
        .unwrap();
    match client.next().await {
        Some(Ok(TMessage::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4000);
            assert_eq!(frame.reason.as_str(), "done here");
        }
        other => panic!("expected the close to come back, got {other:?}"),
    }
    let (pings, close) = server.await.unwrap();
    assert_eq!(pings, [Bytes::from_static(b"are you there")]);
    assert_eq!(
        close,
        Some(CloseFrame::new(CloseCode::new(4000), "done here"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_with_a_tungstenite_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let mut close = None;
        while let Some(message) = ws.next().await {
            match message.unwrap() {
                m @ (TMessage::Text(_) | TMessage::Binary(_)) => ws.send(m).await.unwrap(),
                TMessage::Close(frame) => close = frame,
                _ => {}
            }
        }
        close.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))
    });

    let (mut ws, response) = swell::connect(&format!("ws://{addr}/")).await.unwrap();
    assert_eq!(response.status(), 101);
    for size in SIZES {
        let text = text_of(size);
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text(text),
            "text of {size}"
        );
        let data = binary_of(size);
        ws.send(Message::binary(data.clone())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(data),
            "binary of {size}"
        );
    }
    ws.send(Message::Ping(Bytes::from_static(b"ping")))
        .await
        .unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"ping"))
    );
    let reply = ws
        .close(Some(CloseFrame::new(CloseCode::new(4000), "done here")))
        .await
        .unwrap();
    let reply = reply.expect("the server answers with a code");
    assert_eq!(reply.code, CloseCode::new(4000));
    assert_eq!(server.await.unwrap(), Some((4000, "done here".to_owned())));
    // The connection is over.
    assert!(ws.recv().await.is_none());
    assert!(matches!(
        ws.send("late").await,
        Err(swell::Error::Send(swell::SendError::Closed))
    ));
}
