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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use swell_hyper::HyperWebSocket;
use tokio::net::TcpListener;

/// How long a client may take to send a request head, from the moment it connects (and for
/// each later request on a kept-alive connection). A client that drips or idles is dropped.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

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
    let mut server = auto::Builder::new(TokioExecutor::new());
    // hyper enforces its header read timeout only with a timer.
    server
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    server.http2().timer(TokioTimer::new());
    loop {
        let (stream, peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let server = server.clone();
        tokio::spawn(async move {
            let requested = Arc::new(AtomicBool::new(false));
            let seen = requested.clone();
            let service = service_fn(move |request| {
                seen.store(true, Ordering::Relaxed);
                handle(request)
            });
            let io = TokioIo::new(stream);
            let connection = server.serve_connection_with_upgrades(io, service);
            // Until the first request arrives, the auto server is still reading the bytes
            // that tell HTTP/1 from HTTP/2, which no hyper timeout bounds: bound it here.
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = tokio::time::sleep(HEAD_TIMEOUT) => {
                    if !requested.load(Ordering::Relaxed) {
                        return; // dropped: the client sent no request in time
                    }
                    connection.await
                }
            };
            if let Err(e) = result {
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
