//! An echo server on hyper-util's server (HTTP/1 and HTTP/2 on one port), upgrading to
//! WebSocket through hyper: every text and binary message comes back unchanged.
//!
//! ```text
//! cargo run --release -p swell-hyper --example hyper_echo_server -- 127.0.0.1:9011
//! ```
//!
//! Safe to expose as it is: a client that sends its request head too slowly, or nothing at
//! all, is dropped after 10 s; the WebSocket's own limits and timeouts are swell's defaults.
//!
//! It is also the hyper server agent that the Autobahn|Testsuite runs against
//! (`cargo xtask autobahn`), beside swell's own.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use swell_hyper::HyperWebSocket;
use tokio::net::TcpListener;

#[path = "support/serve.rs"]
mod serve;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9011".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "echo server (hyper) listening on ws://{}",
        listener.local_addr()?
    );
    let server = serve::server();
    loop {
        let (stream, peer) = listener.accept().await?;
        let server = server.clone();
        tokio::spawn(async move {
            if let Err(e) = serve::connection(&server, stream, service_fn(handle)).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Upgrades WebSocket requests; anything else gets a short explanation.
async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !swell_hyper::is_upgrade_request(&request) {
        let mut response = Response::new(Full::from("WebSocket echo; connect with ws://\n"));
        *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
        return Ok(response);
    }
    let config = swell::Config::default().deflate(swell::DeflateConfig::default());
    match swell_hyper::upgrade(&mut request, config) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                match upgrading.await {
                    Ok(ws) => {
                        if let Err(e) = echo(ws).await {
                            eprintln!("connection failed: {e}");
                        }
                    }
                    Err(e) => eprintln!("upgrade failed: {e}"),
                }
            });
            Ok(response)
        }
        Err(rejection) => Ok(rejection.into_http_response()),
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
