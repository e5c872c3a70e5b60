//! The tokio facade's own work per message: `WebSocket::recv` and `send` (or `feed`) echoing over an
//! in-memory stream, so that no system call is measured. Each read of the stream brings
//! `per_read` small client frames and is preceded by one `Pending`, as a socket with nothing
//! to read would give: the connection goes idle between reads, as it does in ping-pong.
//!
//! ```text
//! cargo bench -p swell-benches --bench facade
//! ```

// criterion_group! and criterion_main! define undocumented functions.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stream::Loop;
use support::client_frames;
use swell::{Config, WebSocket};
use swell_frame::{OpCode, Role};

#[path = "support/stream.rs"]
mod stream;
mod support;

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("facade");
    // With the timer: a connection's keepalive deadline runs on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    for (per_read, feed) in [(1, false), (16, false), (16, true)] {
        let how = if feed { "feed" } else { "send" };
        group.throughput(Throughput::Elements(per_read as u64));
        group.bench_function(format!("echo_16B_{per_read}_per_read_{how}"), |b| {
            let stream = Loop::new(client_frames(OpCode::Binary, 16, per_read));
            let mut ws = WebSocket::from_raw(stream, Role::Server, Config::default(), &[]);
            let mut echoed = 0;
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        for _ in 0..per_read {
                            let message = ws.recv().await.expect("open").expect("valid");
                            if feed {
                                ws.feed(message).await.expect("open");
                            } else {
                                ws.send(message).await.expect("open");
                            }
                        }
                    }
                    echoed += iters as usize * per_read;
                    start.elapsed()
                })
            });
            // Every message was echoed whole: 2 header bytes and 16 of payload, unmasked.
            runtime.block_on(ws.flush()).expect("flush");
            assert_eq!(ws.get_ref().written, echoed * 18);
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = echo
}
criterion_main!(benches);
