//! Each server's own work per message, for counting instructions: a server in a spawned task
//! echoes client frames over an in-memory stream. Each read brings `PER_READ` frames and is
//! preceded by one `Pending`, as a drained socket gives, so the connection goes idle between
//! reads as it does over TCP. No system call is made but the runtime's own.
//!
//! The servers are the echo benchmark's loops over this stream: `swell` (`recv` + `feed`),
//! `swell-send` (`recv` + `send`), `swell-send-no-keepalive` (the same with keepalive off,
//! to show the timer's share), `tokio-tungstenite`, `fastwebsockets` and `tokio-websockets`
//! (each as `src/bin/echo/servers.rs` runs it, on the stream rather than after an HTTP
//! upgrade), and `raw` (bytes back as they come: the harness's and tokio's own share).
//!
//! Instructions are repeatable where wall time on a shared VM is not. Run it twice under
//! callgrind and divide the difference by the messages the second run added:
//!
//! ```text
//! cargo build --release -p swell-benches --example echo_loop
//! valgrind --tool=callgrind target/release/examples/echo_loop 2000 16 swell binary
//! valgrind --tool=callgrind target/release/examples/echo_loop 4000 16 swell binary
//! # (instructions of the second - of the first) / (2000 * 16)
//! ```
//!
//! Arguments: reads, frames per read, the server, `binary` or `text`, and optionally the
//! payload size in bytes (16 unless given).

use std::future::Future;

use futures_util::{SinkExt, StreamExt};
use stream::Loop;
use support::client_frames;
use swell::frame::{OpCode, Role};
use swell::{Config, WebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../benches/support/stream.rs"]
mod stream;
#[path = "../benches/support/mod.rs"]
mod support;

const USAGE: &str = "usage: echo_loop READS PER_READ SERVER binary|text [SIZE]
servers: swell swell-send swell-send-no-keepalive tokio-tungstenite fastwebsockets
         tokio-websockets raw";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (reads, per_read, server, kind, size) = match &args[..] {
        [reads, per_read, server, kind] => (reads, per_read, server, kind, "16"),
        [reads, per_read, server, kind, size] => (reads, per_read, server, kind, &size[..]),
        _ => panic!("{USAGE}"),
    };
    let reads: usize = reads.parse().expect(USAGE);
    let per_read: usize = per_read.parse().expect(USAGE);
    let size: usize = size.parse().expect(USAGE);
    let opcode = match kind.as_str() {
        "binary" => OpCode::Binary,
        "text" => OpCode::Text,
        _ => panic!("{USAGE}"),
    };
    let input = client_frames(opcode, size, per_read);
    let input_len = input.len();
    let stream = Loop::new(input);
    let messages = reads * per_read;
    let written = match server.as_str() {
        "swell" => run(swell(stream, messages, false, Config::default())),
        "swell-send" => run(swell(stream, messages, true, Config::default())),
        "swell-send-no-keepalive" => {
            let config = Config::default().ping_interval(None);
            run(swell(stream, messages, true, config))
        }
        "tokio-tungstenite" => run(tungstenite(stream, messages)),
        "fastwebsockets" => run(fastwebsockets(stream, messages)),
        "tokio-websockets" => run(tokio_websockets(stream, messages)),
        "raw" => run(raw(stream, reads, input_len)),
        _ => panic!("{USAGE}"),
    };
    // Every message was echoed whole: unmasked with its header, or as it came for `raw`.
    let expected = match server.as_str() {
        "raw" => reads * input_len,
        _ => messages * (size + header_len(size)),
    };
    assert_eq!(written, expected, "bytes echoed");
}

/// The length of a server frame's header for a payload of `size` bytes.
fn header_len(size: usize) -> usize {
    match size {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// Runs `server` in a spawned task, as a server runs each connection (a `block_on` future is
/// woken through another waker, which changes what swell's timer does on each wait), and
/// returns the bytes it wrote.
fn run(server: impl Future<Output = usize> + Send + 'static) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    runtime.block_on(async move { tokio::spawn(server).await.expect("the echo task") })
}

async fn swell(stream: Loop, messages: usize, send: bool, config: Config) -> usize {
    let mut ws = WebSocket::from_raw(stream, Role::Server, config, &[]);
    for _ in 0..messages {
        let message = ws.recv().await.expect("open").expect("valid");
        if send {
            ws.send(message).await.expect("open");
        } else {
            ws.feed(message).await.expect("open");
        }
    }
    ws.flush().await.expect("flush");
    ws.get_ref().written
}

async fn tungstenite(stream: Loop, messages: usize) -> usize {
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    for _ in 0..messages {
        let message = ws.next().await.expect("open").expect("valid");
        ws.send(message).await.expect("open");
    }
    ws.get_ref().written
}

async fn fastwebsockets(stream: Loop, messages: usize) -> usize {
    use fastwebsockets::{FragmentCollector, Role};
    let mut ws = FragmentCollector::new(fastwebsockets::WebSocket::after_handshake(
        stream,
        Role::Server,
    ));
    for _ in 0..messages {
        let frame = ws.read_frame().await.expect("valid");
        ws.write_frame(frame).await.expect("open");
    }
    ws.into_inner().written
}

async fn tokio_websockets(stream: Loop, messages: usize) -> usize {
    let mut ws = tokio_websockets::ServerBuilder::new().serve(stream);
    for _ in 0..messages {
        let message = ws.next().await.expect("open").expect("valid");
        ws.send(message).await.expect("open");
    }
    ws.get_ref().written
}

async fn raw(mut stream: Loop, reads: usize, input_len: usize) -> usize {
    let mut buf = vec![0; 64 * 1024];
    let mut echoed = 0;
    while echoed < reads * input_len {
        let n = stream.read(&mut buf).await.expect("read");
        stream.write_all(&buf[..n]).await.expect("write");
        echoed += n;
    }
    stream.written
}
