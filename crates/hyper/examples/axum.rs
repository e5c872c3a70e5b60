//! A chat room in axum: every text message a client sends goes to every connected client.
//! The WebSocket route takes `swell_hyper::axum::WebSocketUpgrade`, shaped like axum's own
//! extractor, and serves both HTTP/1.1 upgrades and HTTP/2 WebSockets (RFC 8441), with
//! permessage-deflate.
//!
//! ```text
//! cargo run -p swell-hyper --features axum --example axum -- 127.0.0.1:3000
//! cargo run -p swell --example client -- ws://127.0.0.1:3000/chat hello
//! ```
//!
//! Safe to expose as it is: at most 1,000 clients at once (more get 503), messages of at
//! most 64 KiB (larger ones close the sender's connection with 1009), only text is relayed,
//! and a client too slow to take the room's messages is dropped rather than buffered for;
//! connections are served with hyper's timer and a head timeout, so that a client that
//! drips its request is dropped, and swell's keepalive finds dead peers.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use hyper_util::service::TowerToHyperService;
use swell::{DeflateConfig, Message};
use swell_hyper::HyperWebSocket;
use swell_hyper::axum::WebSocketUpgrade;
use tokio::sync::{Semaphore, broadcast};

#[path = "support/serve.rs"]
mod serve;

/// The most clients in the room at once.
const MAX_CLIENTS: usize = 1000;
/// The largest message a client may send.
const MAX_MESSAGE: usize = 64 * 1024;
/// How many of the room's messages may wait for a slow client before it is dropped.
const BACKLOG: usize = 256;

#[derive(Clone)]
struct Room {
    messages: broadcast::Sender<Message>,
    seats: Arc<Semaphore>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let room = Room {
        messages: broadcast::channel(BACKLOG).0,
        seats: Arc::new(Semaphore::new(MAX_CLIENTS)),
    };
    let app = Router::new()
        .route(
            "/",
            get(|| async { "a chat room: connect to ws://.../chat\n" }),
        )
        // `any`: an HTTP/2 WebSocket arrives as CONNECT, an HTTP/1.1 one as GET.
        .route("/chat", any(chat))
        .with_state(room);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "chat room listening on ws://{}/chat",
        listener.local_addr()?
    );
    // Not `axum::serve`: it gives hyper no timer, so hyper enforces no header read timeout
    // and a client that drips its request holds the connection forever.
    let server = serve::server();
    loop {
        let (stream, peer) = listener.accept().await?;
        let (server, app) = (server.clone(), app.clone());
        tokio::spawn(async move {
            let service = TowerToHyperService::new(app);
            if let Err(e) = serve::connection(&server, stream, service).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn chat(State(room): State<Room>, ws: WebSocketUpgrade) -> Response {
    let Ok(seat) = room.seats.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the room is full\n").into_response();
    };
    ws.deflate(DeflateConfig::default())
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |ws| async move {
            if let Err(e) = member(ws, &room).await {
                eprintln!("a member left: {e}");
            }
            drop(seat);
        })
}

/// Relays what `ws` says to the room and what the room says to `ws`, until either ends.
async fn member(ws: HyperWebSocket, room: &Room) -> Result<(), swell::Error> {
    let (mut read, mut write) = ws.split();
    let mut heard = room.messages.subscribe();
    let speaker = room.messages.clone();
    let listening = tokio::spawn(async move {
        // A member that falls `BACKLOG` messages behind is dropped (`Lagged` ends the loop).
        while let Ok(message) = heard.recv().await {
            if write.send(message).await.is_err() {
                break;
            }
        }
        let _ = write.close(None).await;
    });
    while let Some(message) = read.recv().await {
        if let Message::Text(text) = message? {
            let _ = speaker.send(Message::Text(text));
        }
    }
    listening.abort();
    Ok(())
}
