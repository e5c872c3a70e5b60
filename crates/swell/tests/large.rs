//! Messages up to the message limit get through with the default settings on both sides,
//! in both directions, with and without permessage-deflate: swell with swell, and swell
//! with tokio-tungstenite (which sends every message as one frame and accepts frames of up
//! to 16 MiB).

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use swell::{Config, DeflateConfig, Message};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;

/// Just past tungstenite's frame limit, and near our message limit.
const SIZES: [usize; 2] = [(16 << 20) + 1, 60 << 20];

/// Bytes no compressor can shrink, from a xorshift generator.
fn random(len: usize) -> Bytes {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ len as u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out.into()
}

/// Text of exactly `len` bytes, with two-byte characters mixed in, that compresses well.
fn text(len: usize) -> String {
    let unit = "a WebSocket message, déjà vu, ";
    let mut s = unit.repeat(len / unit.len() + 1);
    let mut cut = len;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    while s.len() < len {
        s.push('.');
    }
    s
}

fn messages() -> Vec<Message> {
    let mut out = Vec::new();
    for size in SIZES {
        out.push(Message::binary(random(size)));
        out.push(Message::text(text(size)));
    }
    out
}

/// A swell echo server with the default settings (and deflate if asked), on a fresh port.
async fn swell_echo_server(deflate: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let config = config(deflate);
        let mut ws = swell::accept_with(stream, config, |_| Ok(swell::Accept::new()))
            .await
            .unwrap();
        assert_eq!(ws.has_extension(), deflate);
        while let Some(message) = ws.recv().await {
            let message = message.unwrap();
            if message.is_data() {
                ws.send(message).await.unwrap();
            }
        }
    });
    format!("ws://{addr}/")
}

fn config(deflate: bool) -> Config {
    if deflate {
        Config::default().deflate(DeflateConfig::default())
    } else {
        Config::default()
    }
}

fn describe(message: &Message) -> String {
    let kind = if message.is_text() { "text" } else { "binary" };
    format!("{kind} of {} bytes", message.as_payload().len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swell_with_swell_up_to_60_mib_with_and_without_deflate() {
    for deflate in [false, true] {
        let url = swell_echo_server(deflate).await;
        let builder = swell::ClientBuilder::new(&url)
            .unwrap()
            .config(config(deflate));
        let (mut ws, _) = builder.connect().await.unwrap();
        assert_eq!(ws.has_extension(), deflate);
        for message in messages() {
            let what = describe(&message);
            ws.send(message.clone()).await.unwrap();
            let echoed = ws.recv().await.unwrap().unwrap_or_else(|e| {
                panic!("{what}, deflate {deflate}: {e}");
            });
            assert!(echoed == message, "{what}, deflate {deflate}: echo differs");
        }
        ws.close(None).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swell_server_with_a_tungstenite_client_up_to_60_mib() {
    let url = swell_echo_server(false).await;
    {
        let (mut client, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        for message in messages() {
            let what = describe(&message);
            let sent = match &message {
                Message::Text(text) => TMessage::text(text.as_str()),
                other => TMessage::binary(other.as_payload().to_vec()),
            };
            client.send(sent.clone()).await.unwrap();
            let echoed = client.next().await.unwrap().unwrap_or_else(|e| {
                panic!("{what}: {e}");
            });
            assert!(echoed == sent, "{what}: echo differs");
        }
        client.close(None).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swell_client_with_a_tungstenite_server_up_to_60_mib() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    // Our client offers deflate; the server declines it.
    let builder = swell::ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(config(true));
    let (mut ws, _) = builder.connect().await.unwrap();
    assert!(!ws.has_extension());
    for message in messages() {
        let what = describe(&message);
        ws.send(message.clone()).await.unwrap();
        let echoed = ws.recv().await.unwrap().unwrap_or_else(|e| {
            panic!("{what}: {e}");
        });
        assert!(echoed == message, "{what}: echo differs");
    }
    ws.close(None).await.unwrap();
}
