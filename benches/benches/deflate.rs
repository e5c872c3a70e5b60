//! permessage-deflate: compressing and inflating messages with context takeover (the
//! default) and without.
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

/// JSON-like text, compressible as real messages are.
fn message(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 64);
    let mut i = 0u64;
    while out.len() < size {
        let line = format!(
            r#"{{"id":{i},"user":"user{}","price":{}.{:02}}},"#,
            i % 97,
            i * 7 % 1000,
            i % 100
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(size);
    out
}

fn deflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    let configs = [
        ("takeover", DeflateConfig::default()),
        ("no_takeover", {
            let mut config = DeflateConfig::default();
            config.server_no_context_takeover = true;
            config.client_no_context_takeover = true;
            config
        }),
    ];
    for (mode, config) in configs {
        for size in [1024, 16 * 1024, 1 << 20] {
            let payload = message(size);
            group.throughput(Throughput::Bytes(size as u64));
            let (mut server, _) = pair(&config);
            let mut out = BytesMut::new();
            group.bench_function(BenchmarkId::new(format!("compress_{mode}"), size), |b| {
                b.iter(|| {
                    out.clear();
                    assert!(server.encode(black_box(&payload), &mut out));
                })
            });
            // Inflate four messages the server compressed in sequence, as a peer would.
            let (mut server, _) = pair(&config);
            let compressed: Vec<Vec<u8>> = (0..4)
                .map(|_| {
                    let mut out = BytesMut::new();
                    server.encode(&payload, &mut out);
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
