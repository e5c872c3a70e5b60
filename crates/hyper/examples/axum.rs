//! WebSocket in an axum application: a chat-style route at `/ws` that speaks the `echo.v1`
//! subprotocol when the client offers it, beside ordinary routes.
//!
//! ```text
//! cargo run -p swell-hyper --example axum -- 127.0.0.1:3000
//! ```
//!
//! Connections are served with upgrades enabled, so a handler that takes the whole request
//! can hand it to `swell_hyper::upgrade_with` and return the response it gives; and with
//! hyper's timer and a head timeout, so that a client that drips its request is dropped.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use hyper_util::service::TowerToHyperService;
use swell::{Accept, Config};
use swell_hyper::HyperWebSocket;

#[path = "support/serve.rs"]
mod serve;

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
