//! The facade's own work per message, for counting instructions: a server `WebSocket` in a
//! spawned task echoes small client frames over an in-memory stream. Each read brings
//! `PER_READ` frames and is preceded by one `Pending`, as a drained socket gives, so the
//! connection goes idle between reads as it does over TCP. No system call is made.
//!
//! Instructions are repeatable where wall time on a shared VM is not. Run it twice under
//! callgrind and divide the difference by the messages the second run added:
//!
//! ```text
//! cargo build --release -p swell-benches --example echo_loop
//! valgrind --tool=callgrind target/release/examples/echo_loop 2000 16 feed binary
//! valgrind --tool=callgrind target/release/examples/echo_loop 4000 16 feed binary
//! # (instructions of the second - of the first) / (2000 * 16)
//! ```
//!
//! Arguments: reads, frames per read, `feed` or `send` (the loop), `binary` or `text`.

use stream::Loop;
use support::client_frames;
use swell::frame::{OpCode, Role};
use swell::{Config, WebSocket};

#[path = "../benches/support/stream.rs"]
mod stream;
#[path = "../benches/support/mod.rs"]
mod support;

/// The payload of every frame, in bytes.
const SIZE: usize = 16;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: echo_loop READS PER_READ feed|send binary|text";
    let [reads, per_read, how, kind] = &args[..] else {
        panic!("{usage}");
    };
    let reads: usize = reads.parse().expect(usage);
    let per_read: usize = per_read.parse().expect(usage);
    let send = match how.as_str() {
        "feed" => false,
        "send" => true,
        _ => panic!("{usage}"),
    };
    let opcode = match kind.as_str() {
        "binary" => OpCode::Binary,
        "text" => OpCode::Text,
        _ => panic!("{usage}"),
    };
    let stream = Loop::new(client_frames(opcode, SIZE, per_read));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    // In a spawned task, as a server runs each connection: a `block_on` future is woken
    // through another waker, which changes what the connection's timer does on each wait.
    let written = runtime.block_on(async move {
        let task = tokio::spawn(async move {
            let mut ws = WebSocket::from_raw(stream, Role::Server, Config::default(), &[]);
            for _ in 0..reads * per_read {
                let message = ws.recv().await.expect("open").expect("valid");
                if send {
                    ws.send(message).await.expect("open");
                } else {
                    ws.feed(message).await.expect("open");
                }
            }
            ws.flush().await.expect("flush");
            ws.get_ref().written
        });
        task.await.expect("the echo task")
    });
    // Every message was echoed whole: 2 header bytes and the payload, unmasked.
    assert_eq!(written, reads * per_read * (2 + SIZE));
}
