//! An echo server: every text and binary message comes back unchanged.
//!
//! ```text
//! cargo run --release -p swell --example echo_server -- 127.0.0.1:9001
//! ```
//!
//! It is also the server agent the Autobahn|Testsuite runs against (`cargo xtask autobahn`).

use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("echo server listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve(stream).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

async fn serve(stream: TcpStream) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    stream.set_nodelay(true)?;
    let config = swell::Config::default().deflate(swell::DeflateConfig::default());
    let mut ws = swell::accept_with(stream, config, |_| Ok(swell::Accept::new())).await?;
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
