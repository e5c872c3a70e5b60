//! The client agent for the Autobahn|Testsuite's fuzzing server: runs every case, echoing
//! each text and binary message, then asks the suite to write its reports.
//!
//! ```text
//! cargo run --release -p swell --example autobahn_client -- ws://127.0.0.1:9002 swell
//! ```

use swell::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9002".into());
    let agent = args.next().unwrap_or_else(|| "swell".into());

    let (mut ws, _) = swell::connect(&format!("{base}/getCaseCount")).await?;
    let count: u32 = match ws.recv().await.transpose()? {
        Some(Message::Text(text)) => text.parse()?,
        other => return Err(format!("unexpected case count reply: {other:?}").into()),
    };
    ws.close(None).await?;
    eprintln!("{count} cases");

    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url).await {
            eprintln!("case {case}: {e}");
        }
    }

    let (mut ws, _) = swell::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    ws.close(None).await?;
    Ok(())
}

async fn run_case(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config = swell::Config::default().deflate(swell::DeflateConfig::default());
    let (mut ws, _) = swell::ClientBuilder::new(url)?
        .config(config)
        .connect()
        .await?;
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}
