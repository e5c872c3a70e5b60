//! A client: connects, sends each argument as a text message, prints the replies, and
//! closes.
//!
//! ```text
//! cargo run -p swell --example client -- ws://127.0.0.1:9001/ hello world
//! ```

use swell::{CloseCode, CloseFrame, Message};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let (mut ws, response) = swell::connect(&url).await?;
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
