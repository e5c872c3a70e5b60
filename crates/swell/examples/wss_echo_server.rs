//! A `wss://` echo server: TLS by tokio-rustls, then [`swell::accept_with`] over the TLS
//! stream. Every text and binary message comes back unchanged.
//!
//! ```text
//! cargo run --release -p swell --example wss_echo_server -- 127.0.0.1:9443 --cert chain.pem --key key.pem
//! ```
//!
//! Without `--cert` and `--key` it makes a CA and a certificate for localhost at start, and
//! says where the CA's certificate is, so that a client can trust it:
//!
//! ```text
//! SSL_CERT_FILE=/tmp/swell-example-ca.pem cargo run -p swell --example client -- wss://localhost:9443/ hello
//! ```
//!
//! Safe to expose as it is: each connection is its own task, and a failed or slow TLS
//! handshake (10 s at most) ends that connection only, never the listener; the WebSocket
//! handshake, limits and timeouts are swell's defaults.

use tokio::net::TcpListener;

#[path = "support/tls.rs"]
mod tls;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:9443", String::as_str);
    let acceptor = tls::acceptor(&args, &[b"http/1.1"])?;
    let listener = TcpListener::bind(addr).await?;
    eprintln!("echo server listening on wss://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let stream = match tls::accept(&acceptor, tcp).await {
                Ok(stream) => stream,
                Err(e) => return eprintln!("{peer}: TLS handshake failed: {e}"),
            };
            if let Err(e) = echo(stream).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn echo<S>(stream: S) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let config = swell::Config::default().deflate(swell::DeflateConfig::default());
    let mut ws = swell::accept_with(stream, config, |_| Ok(swell::Accept::new())).await?;
    while let Some(message) = ws.recv().await {
        let message = message?;
        // `feed` queues the reply; `recv` writes every queued reply before it waits.
        if message.is_data() {
            ws.feed(message).await?;
        }
    }
    Ok(())
}
