//! zlib streams: how each is made, and the per-thread pools that lend them to sessions
//! without context takeover.
//!
//! A stream without context takeover starts every message from nothing, so it need not
//! belong to a connection at all: a session borrows one from its thread's pool for one
//! message and gives it back, reset, so that an idle connection holds no zlib state. A
//! compressor is borrowed within one `encode` call, which compresses a whole message; a
//! decompressor from a message's first frame to its last, since frames arrive one by one.
//!
//! Nothing of one message survives in a pooled stream: it is reset before it goes back, and
//! a reset stream's output refers only to input given to it after the reset (for a
//! compressor), and it accepts only data that refers to what it produced since (for a
//! decompressor).

use std::cell::RefCell;

use zlib_rs::{Deflate as Compressor, DeflateConfig as ZlibConfig, Inflate};

/// What makes one compressor different from another: a pooled compressor serves only
/// sessions that agreed on the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CompressorKind {
    /// 0-9.
    pub(crate) level: u8,
    /// 9-15: zlib cannot make raw DEFLATE with a 256-byte window.
    pub(crate) window_bits: u8,
    /// 1-9.
    pub(crate) mem_level: u8,
}

impl CompressorKind {
    /// A new raw-DEFLATE compressor; this allocates all its memory.
    pub(crate) fn build(self) -> Compressor {
        Compressor::new_with_config(ZlibConfig {
            level: i32::from(self.level),
            // Negative: raw DEFLATE, no zlib header (RFC 7692 §7.2.1).
            window_bits: -i32::from(self.window_bits),
            mem_level: i32::from(self.mem_level),
            ..ZlibConfig::default()
        })
    }
}

/// A new raw-DEFLATE decompressor with a 15-bit window, which inflates data made with any
/// smaller window. (zlib-rs gives every decompressor a 32 KiB window whatever it is told.)
pub(crate) fn new_decompressor() -> Inflate {
    Inflate::new(false, 15)
}

/// Compressors a thread keeps: one is lent per `encode` call, so a thread needs one for
/// each kind its sessions use at once; the rest are freed.
const KEEP_COMPRESSORS: usize = 4;

/// Decompressors a thread keeps: one is out for each connection that is between the first
/// and the last frame of a compressed message. More are made as needed; past this many, the
/// ones given back are freed.
const KEEP_DECOMPRESSORS: usize = 8;

/// Streams are boxed, in the pool as in a session, so that lending one moves a pointer
/// rather than the stream (and a session that holds none stays small).
struct Pool {
    compressors: Vec<(CompressorKind, Box<Compressor>)>,
    #[allow(
        clippy::vec_box,
        reason = "sessions hold their streams boxed; lent as they are"
    )]
    decompressors: Vec<Box<Inflate>>,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            compressors: Vec::new(),
            decompressors: Vec::new(),
        })
    };
}

/// A compressor of `kind` from the pool, or a new one.
pub(crate) fn take_compressor(kind: CompressorKind) -> Box<Compressor> {
    let pooled = POOL
        .try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let found = pool.compressors.iter().position(|(k, _)| *k == kind)?;
            Some(pool.compressors.swap_remove(found).1)
        })
        .ok()
        .flatten();
    pooled.unwrap_or_else(|| Box::new(kind.build()))
}

/// Resets `compressor` and gives it back to the pool (or frees it, if the pool is full or
/// the thread is ending).
pub(crate) fn give_compressor(kind: CompressorKind, mut compressor: Box<Compressor>) {
    compressor.reset();
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.compressors.len() < KEEP_COMPRESSORS {
            pool.compressors.push((kind, compressor));
        }
    });
}

/// A decompressor from the pool, or a new one.
pub(crate) fn take_decompressor() -> Box<Inflate> {
    let pooled = POOL
        .try_with(|pool| pool.borrow_mut().decompressors.pop())
        .ok()
        .flatten();
    pooled.unwrap_or_else(|| Box::new(new_decompressor()))
}

/// Resets `decompressor` and gives it back to the pool (or frees it).
pub(crate) fn give_decompressor(mut decompressor: Box<Inflate>) {
    decompressor.reset(false);
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.decompressors.len() < KEEP_DECOMPRESSORS {
            pool.decompressors.push(decompressor);
        }
    });
}

/// Streams in this thread's pool: (compressors, decompressors). For tests.
#[cfg(test)]
pub(crate) fn pooled() -> (usize, usize) {
    POOL.with_borrow(|pool| (pool.compressors.len(), pool.decompressors.len()))
}
