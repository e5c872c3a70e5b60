//! The frame layer at memory speed: masking, header codec, UTF-8 checking, and the
//! connection core parsing a pre-encoded stream.
//!
//! ```text
//! cargo bench -p swell-benches --bench frame
//! ```

// criterion_group! and criterion_main! define undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::{Buf, Bytes};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use support::{KEY, client_frames};
use swell_frame::{
    Config, Connection, FrameHeader, MAX_HEADER_LEN, Message, OpCode, Utf8Bytes, apply_mask,
};

mod support;

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    let mut buf = vec![0x5au8; (1 << 20) + 8];
    for size in [0, 1, 16, 125, 1024, 16 * 1024, 64 * 1024, 1 << 20] {
        group.throughput(Throughput::Bytes(size as u64));
        // Every alignment of the start within a machine word.
        for align in 0..8 {
            let id = BenchmarkId::new(format!("align{align}"), size);
            group.bench_with_input(id, &size, |b, &size| {
                b.iter(|| apply_mask(black_box(&mut buf[align..align + size]), KEY));
            });
        }
    }
    group.finish();
}

fn header(c: &mut Criterion) {
    let mut group = c.benchmark_group("header");
    for (name, len) in [("7bit", 100u64), ("16bit", 1000), ("64bit", 1 << 20)] {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Binary,
            mask: Some(KEY),
            payload_len: len,
        };
        let mut encoded = [0; MAX_HEADER_LEN];
        let n = header.encode(&mut encoded);
        group.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| FrameHeader::decode(black_box(&encoded[..n])))
        });
        group.bench_function(BenchmarkId::new("encode", name), |b| {
            let mut dst = [0; MAX_HEADER_LEN];
            b.iter(|| black_box(&header).encode(&mut dst))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    let ascii = Bytes::from("a quick brown fox jumps over the lazy dog. ".repeat(24_000));
    let mixed = Bytes::from("ascii, ünïcödé, 日本語, emoji 🦀 — ".repeat(24_000));
    for (name, text) in [("ascii", ascii), ("mixed", mixed)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| Utf8Bytes::try_from(black_box(text.clone())).is_ok())
        });
    }
    group.finish();
}

fn core(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    let cases = [
        ("small_binary", OpCode::Binary, 16, 4096),
        ("small_text", OpCode::Text, 16, 4096),
        ("medium_text", OpCode::Text, 1024, 1024),
        ("large_binary", OpCode::Binary, 1 << 20, 16),
        ("large_text", OpCode::Text, 1 << 20, 16),
    ];
    for (name, opcode, size, count) in cases {
        let input = client_frames(opcode, size, count);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| {
                conn.handle_read(&input);
                let mut n = 0;
                while let Some(message) = conn.poll_message().expect("valid stream") {
                    debug_assert!(!matches!(message, Message::Close(_)));
                    n += 1;
                    black_box(message);
                }
                assert_eq!(n, count);
            })
        });
    }
    // The server's work for one read of 16 small messages, echoed: parse, send each back,
    // and drain the transmit buffer as a write would.
    for (name, opcode) in [
        ("echo16_binary", OpCode::Binary),
        ("echo16_text", OpCode::Text),
    ] {
        let input = client_frames(opcode, 16, 16);
        group.throughput(Throughput::Elements(16));
        group.bench_function(name, |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| {
                conn.handle_read(black_box(&input));
                while let Some(message) = conn.poll_message().expect("valid stream") {
                    conn.send(message).expect("open");
                }
                let transmit = conn.transmit();
                let written = transmit.remaining();
                black_box(transmit.chunk());
                transmit.advance(written);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = masking, header, utf8, core
}
criterion_main!(benches);
