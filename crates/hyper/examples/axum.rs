//! WebSocket in an axum application: a chat-style route at `/ws` that speaks the `echo.v1`
//! subprotocol when the client offers it, beside ordinary routes.
//!
//! ```text
//! cargo run -p swell-hyper --example axum -- 127.0.0.1:3000
//! ```
//!
//! axum serves connections with upgrades enabled, so a handler that takes the whole request
//! can hand it to `swell_hyper::upgrade_with` and return the response it gives.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use swell::{Accept, Config};
use swell_hyper::HyperWebSocket;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let app = Router::new()
        .route("/", get(|| async { "try ws://.../ws\n" }))
        .route("/ws", get(websocket));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("axum listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn websocket(mut request: Request) -> Response {
    let config = Config::default().deflate(swell::DeflateConfig::default());
    let upgraded = swell_hyper::upgrade_with(&mut request, config, |request| {
        let offered = swell::offered_protocols(request);
        Ok(match offered.iter().find(|p| *p == "echo.v1") {
            Some(protocol) => Accept::new().protocol(protocol.clone()),
            None => Accept::new(),
        })
    });
    match upgraded {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                if let Ok(ws) = upgrading.await {
                    let _ = echo(ws).await;
                }
            });
            response.map(Body::new)
        }
        Err(rejection) => rejection.into_http_response().map(Body::new),
    }
}

async fn echo(mut ws: HyperWebSocket) -> Result<(), swell::Error> {
    while let Some(message) = ws.recv().await {
        let message = message?;
        // `feed` queues the reply; `recv` writes every queued reply before it waits for
        // more, so a burst of messages is answered with one write.
        if message.is_data() {
            ws.feed(message).await?;
        }
    }
    Ok(())
}
