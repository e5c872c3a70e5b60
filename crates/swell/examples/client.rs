//! A client: connects to any `ws://` or `wss://` URL, sends each argument as a text
//! message, prints the replies, and closes.
//!
//! ```text
//! cargo run -p swell --example client -- ws://127.0.0.1:9001/ hello world
//! cargo run -p swell --example client -- wss://example.com/socket hello
//! cargo run -p swell --example client -- --proxy socks5h://127.0.0.1:1080 wss://example.com/ hi
//! ```
//!
//! `wss://` trusts what the platform trusts (on Linux, a CA added through `SSL_CERT_FILE`
//! or `SSL_CERT_DIR` too, as for OpenSSL and curl). Without `--proxy`, the proxy the
//! environment names (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`, read as curl
//! reads them) is used.

use swell::{ClientBuilder, CloseCode, CloseFrame, Message, Proxy};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let proxy = match args.iter().position(|a| a == "--proxy") {
        Some(at) if at + 1 < args.len() => {
            let url = args.remove(at + 1);
            args.remove(at);
            Some(Proxy::new(&url)?)
        }
        Some(_) => return Err("--proxy needs a URL".into()),
        None => None,
    };
    let mut args = args.into_iter();
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let builder = ClientBuilder::new(&url)?;
    let builder = match proxy {
        Some(proxy) => builder.proxy(proxy),
        None => builder.proxy_from_env()?,
    };
    let (mut ws, response) = builder.connect().await?;
    eprintln!("connected: {}", response.status());
    for text in args {
        ws.send(Message::text(text)).await?;
        match ws.recv().await.transpose()? {
            Some(Message::Text(reply)) => println!("{reply}"),
            Some(other) => println!("{other:?}"),
            None => break,
        }
    }
    let reply = ws
        .close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
        .await?;
    eprintln!("closed: {reply:?}");
    Ok(())
}
