//! Bytes on the wire for a JSON chat stream under each permessage-deflate preset, both
//! directions, as a browser negotiates with a swell server.
//!
//! ```text
//! cargo run --release -p swell-benches --bin deflate_presets
//! ```
//!
//! The client offers what Chromium offers (`permessage-deflate; client_max_window_bits`)
//! and keeps its context unless the server's answer says otherwise; the server answers with
//! the preset. Each side then compresses the same stream, on fresh sessions for each: 1,000
//! chat messages (~70 bytes of JSON each, `swell_benches::chat_message`), then 1,000 batches
//! of 14 of them (~1 KiB each); the counts are message payloads on the wire,
//! compressed or, where compressing would not shrink one, as it is. Frame headers (2 bytes
//! per message either way) are left out. The memory each preset costs a server is measured
//! by the echo benchmark (`--servers swell,swell-deflate-…`), not here.

use bytes::BytesMut;
use swell_deflate::{Deflate, DeflateConfig};
use swell_frame::MessageExtension;

const MESSAGES: usize = 1000;

/// The `i`th message of a stream of `batch` chat messages each.
fn message(batch: usize, i: usize) -> String {
    (i * batch..(i + 1) * batch)
        .map(swell_benches::chat_message)
        .collect()
}

/// The bytes `session` puts on the wire for the stream.
fn wire_bytes(session: &mut Deflate, batch: usize) -> usize {
    (0..MESSAGES)
        .map(|i| {
            let message = message(batch, i);
            let mut out = BytesMut::new();
            if session.encode(message.as_bytes(), &mut out) {
                out.len()
            } else {
                message.len()
            }
        })
        .sum()
}

fn main() {
    for batch in [1, 14] {
        table(batch);
    }
}

fn table(batch: usize) {
    let browser = DeflateConfig::context_takeover();
    let payload: usize = (0..MESSAGES).map(|i| message(batch, i).len()).sum();
    let each = payload / MESSAGES;
    println!("{MESSAGES} messages of ~{each} bytes, {payload} bytes of JSON each way\n");
    println!("| preset | server to client | ratio | client to server | ratio | agreed |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for (name, preset) in swell_benches::deflate_presets() {
        let (response, mut server) =
            swell_deflate::accept(&[browser.offer()], &preset).expect("the offer is accepted");
        let mut client = swell_deflate::accept_response(
            std::slice::from_ref(&response),
            std::slice::from_ref(&browser),
        )
        .expect("a valid answer")
        .expect("deflate agreed");
        let down = wire_bytes(&mut server, batch);
        let up = wire_bytes(&mut client, batch);
        println!(
            "| {name} | {down} | {:.2} | {up} | {:.2} | `{response}` |",
            down as f64 / payload as f64,
            up as f64 / payload as f64,
        );
    }
    println!();
}
