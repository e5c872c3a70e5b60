//! The whole receive path of a `Connection`, both roles, with and without permessage-deflate,
//! on any bytes chopped into reads of any size, with time passing between them: no panic, no
//! deadline that leaves the driver spinning, and memory bounded by the configured limits
//! (inflation included) whatever the input claims.
//!
//! The bytes are well-formed frames the input describes (any opcode, bits, fragments, and
//! compressed payloads of up to 256 KiB of one repeated byte: bombs), followed by raw bytes.

#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::Buf;
use flate2::{Compress, Compression, FlushCompress};
use libfuzzer_sys::fuzz_target;
use swell_frame::{Config, Connection, FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};
use swell_fuzz::{Counting, DeflateChoice, allocated};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A frame to send, masked as the receiving role requires.
#[derive(Arbitrary, Debug)]
struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: Payload,
}

#[derive(Arbitrary, Debug)]
enum Payload {
    Raw(Vec<u8>),
    /// `blocks` × 4 KiB (up to 256 KiB, the largest message limit here) of `byte`, deflated
    /// as RFC 7692 sends a message: a bomb of 100:1 or more.
    Deflated {
        byte: u8,
        blocks: u8,
    },
}

impl Frame {
    fn put(&self, masked: bool, wire: &mut Vec<u8>) {
        let payload = match &self.payload {
            Payload::Raw(bytes) => bytes.clone(),
            Payload::Deflated { byte, blocks } => deflated(*byte, usize::from(*blocks % 65)),
        };
        let header = FrameHeader {
            fin: self.fin,
            rsv: self.rsv & 0b111,
            opcode: OpCode::from_u8(self.opcode & 0xF).unwrap_or(OpCode::Binary),
            mask: masked.then_some([0x0f, 0x1e, 0x2d, 0x3c]),
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        wire.extend_from_slice(&head[..n]);
        let start = wire.len();
        wire.extend_from_slice(&payload);
        if let Some(key) = header.mask {
            apply_mask(&mut wire[start..], key);
        }
    }
}

/// `blocks` × 4 KiB of `byte` as raw DEFLATE, the flush's tail removed (RFC 7692 §7.2.1).
/// Made cheaply: 4 KiB compressed once with a full flush is a byte-aligned piece that refers
/// to nothing before it, so copies of it in a row are a valid stream of copies of the data.
fn deflated(byte: u8, blocks: usize) -> Vec<u8> {
    if blocks == 0 {
        return vec![0x00];
    }
    let mut compress = Compress::new(Compression::fast(), false);
    let mut piece = Vec::with_capacity(256);
    compress
        .compress_vec(&[byte; 4096], &mut piece, FlushCompress::Full)
        .expect("compressing into a vector");
    assert!(
        piece.ends_with(&[0, 0, 0xff, 0xff]),
        "a full flush ends the piece"
    );
    let mut out = piece.repeat(blocks);
    out.truncate(out.len() - 4);
    out
}

#[derive(Arbitrary, Debug)]
struct Input {
    client: bool,
    deflate: Option<DeflateChoice>,
    /// The message limit, in KiB (1..=256).
    max_message_kib: u8,
    /// A frame limit, in bytes, if any.
    max_frame: Option<u16>,
    /// Read sizes, used in turn.
    reads: Vec<u16>,
    /// Milliseconds passing before each read.
    steps: Vec<u16>,
    frames: Vec<Frame>,
    bytes: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let mut config = Config::default();
    config.max_message_size = (usize::from(input.max_message_kib) % 256 + 1) << 10;
    config.max_frame_size = input.max_frame.map(usize::from);
    config.ping_interval = Some(Duration::from_secs(1));
    config.ping_timeout = Some(Duration::from_secs(1));
    config.idle_timeout = Some(Duration::from_secs(3));
    let limit = config.max_message_size;
    let mut conn = if input.client {
        Connection::client(config, || [1, 2, 3, 4])
    } else {
        Connection::server(config)
    };
    if let Some(choice) = input.deflate {
        let (client, server) = choice.sessions();
        let session = if input.client { client } else { server };
        conn.set_extension(Box::new(session));
    }
    let mut now = Instant::now();
    conn.handle_timeout(now);
    // Measured from here, once zlib's streams exist: the buffers the limits allow (a frame of
    // a compressed message may be a little longer than the message limit, and joining grows
    // in steps) and the input, which may be held whole as one frame.
    let mut wire = Vec::new();
    for frame in &input.frames {
        frame.put(!input.client, &mut wire);
    }
    wire.extend_from_slice(&input.bytes);
    let before = allocated();
    let bound = 4 * limit + 2 * wire.len() + (64 << 10);
    let mut rest = &wire[..];
    let mut turn = 0;
    while !rest.is_empty() && conn.wants_read() {
        let read = input.reads.get(turn % input.reads.len().max(1)).copied();
        let n = usize::from(read.unwrap_or(u16::MAX)).clamp(1, rest.len());
        let step = input.steps.get(turn % input.steps.len().max(1)).copied();
        now += Duration::from_millis(u64::from(step.unwrap_or(0)));
        turn += 1;
        conn.handle_read(&rest[..n]);
        conn.handle_received(now);
        rest = &rest[n..];
        while let Ok(Some(message)) = conn.poll_message() {
            drop(message);
        }
        // Deadlines acted on leave none behind that has already passed, so a driver that
        // sleeps until `poll_timeout` never spins: a few reports at most (a keepalive
        // failure, then the end), then the next deadline is in the future.
        let mut reports = 0;
        while conn.handle_timeout(now).is_some() {
            reports += 1;
            assert!(reports < 3, "handle_timeout keeps reporting at {now:?}");
        }
        if let Some(next) = conn.poll_timeout() {
            assert!(next > now, "a deadline passed and stayed");
        }
        let out = conn.transmit();
        out.advance(out.remaining());
        let grown = allocated().saturating_sub(before);
        assert!(
            grown <= bound,
            "{grown} bytes allocated for a {limit}-byte limit"
        );
    }
});
