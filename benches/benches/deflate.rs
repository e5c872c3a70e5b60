//! permessage-deflate: compressing and inflating JSON messages under each preset of
//! `swell_benches::deflate_presets` (the server compressing, the client inflating).
//!
//! ```text
//! cargo bench -p swell-benches --bench deflate
//! ```

// criterion_group! and criterion_main! define undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use swell_deflate::{Deflate, DeflateConfig};
use swell_frame::MessageExtension;

/// A server and a client session agreed on `config`.
fn pair(config: &DeflateConfig) -> (Deflate, Deflate) {
    let (response, server) = swell_deflate::accept(&[config.offer()], config).expect("agreed");
    let client = swell_deflate::accept_response(&[response], std::slice::from_ref(config))
        .expect("valid response")
        .expect("deflate agreed");
    (server, client)
}

fn deflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    for (mode, config) in swell_benches::deflate_presets() {
        for size in [1024, 16 * 1024, 1 << 20] {
            // Different messages in turn, more than a 32 KiB window holds at 1 KiB: the same
            // one again and again would be found whole in a window kept between messages,
            // which measures nothing real.
            let payloads: Vec<Vec<u8>> = (0..64)
                .map(|v| swell_benches::chat_lines_from(v * 1009, size))
                .collect();
            group.throughput(Throughput::Bytes(size as u64));
            let (mut server, _) = pair(&config);
            let mut out = BytesMut::new();
            let mut turn = 0;
            group.bench_function(BenchmarkId::new(format!("compress_{mode}"), size), |b| {
                b.iter(|| {
                    out.clear();
                    turn += 1;
                    let payload = &payloads[turn % payloads.len()];
                    assert!(server.encode(black_box(payload), &mut out));
                })
            });
            // Inflate four messages the server compressed in sequence, as a peer would.
            let (mut server, _) = pair(&config);
            let compressed: Vec<Vec<u8>> = payloads[..4]
                .iter()
                .map(|payload| {
                    let mut out = BytesMut::new();
                    server.encode(payload, &mut out);
                    out.to_vec()
                })
                .collect();
            group.throughput(Throughput::Bytes(4 * size as u64));
            group.bench_function(BenchmarkId::new(format!("inflate_{mode}"), size), |b| {
                b.iter_batched(
                    || pair(&config).1,
                    |mut fresh| {
                        for message in &compressed {
                            out.clear();
                            fresh
                                .decode(message, true, &mut out, usize::MAX)
                                .expect("valid");
                        }
                    },
                    criterion::BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = deflate
}
criterion_main!(benches);
