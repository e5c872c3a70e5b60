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

use hyper::service::service_fn;
use tokio::net::TcpListener;

#[path = "support/echo.rs"]
mod echo;
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
            if let Err(e) = serve::connection(&server, stream, service_fn(echo::handle)).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
