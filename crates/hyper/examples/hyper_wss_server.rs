//! A `wss://` echo server on hyper-util's server: TLS by tokio-rustls, then hyper serves
//! the connection and swell-hyper upgrades it. Every text and binary message comes back
//! unchanged.
//!
//! ```text
//! cargo run --release -p swell-hyper --example hyper_wss_server -- 127.0.0.1:9444 --cert chain.pem --key key.pem
//! ```
//!
//! Without `--cert` and `--key` it makes a CA and a certificate for localhost at start, and
//! says where the CA's certificate is (`SSL_CERT_FILE=… cargo run -p swell --example client
//! -- wss://localhost:9444/ hello`).
//!
//! Safe to expose as it is: a failed or slow TLS handshake (10 s at most) ends that
//! connection only, never the listener; a client that sends its request head too slowly is
//! dropped after 10 s; the WebSocket's limits and timeouts are swell's defaults. ALPN offers
//! `h2`, then `http/1.1`: over HTTP/2 the server allows extended CONNECT (RFC 8441), so a
//! browser opens its WebSockets on the connection that carries the page.

use hyper::service::service_fn;
use tokio::net::TcpListener;

#[path = "support/echo.rs"]
mod echo;
#[path = "support/serve.rs"]
mod serve;
#[path = "../../swell/examples/support/tls.rs"]
mod tls;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:9444", String::as_str);
    let acceptor = tls::acceptor(&args, &[b"h2", b"http/1.1"])?;
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "echo server (hyper) listening on wss://{}",
        listener.local_addr()?
    );
    let server = serve::server();
    loop {
        let (tcp, peer) = listener.accept().await?;
        let (server, acceptor) = (server.clone(), acceptor.clone());
        tokio::spawn(async move {
            let stream = match tls::accept(&acceptor, tcp).await {
                Ok(stream) => stream,
                Err(e) => return eprintln!("{peer}: TLS handshake failed: {e}"),
            };
            if let Err(e) = serve::serve(&server, stream, service_fn(echo::handle)).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
