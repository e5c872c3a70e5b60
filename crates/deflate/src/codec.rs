//! Compressing and inflating messages (RFC 7692 §7.2), with inflation capped by the message
//! limit.

use bytes::BytesMut;
use swell_frame::{DecodeError, MessageExtension};
use zlib_rs::{Deflate as Compressor, DeflateFlush, Inflate, InflateFlush, Status};

use crate::pool::{self, CompressorKind};

/// The empty stored block a sync flush ends with; removed after compressing a message and
/// appended before inflating one (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most output produced per inflate call; bounds how far past the limit a buffer can be
/// grown before the limit is checked.
const MAX_STEP: usize = 1 << 20;

/// A negotiated permessage-deflate session for one end of a connection: its compressor and
/// its decompressor, with the context-takeover rules agreed on. Install it with
/// [`swell_frame::Connection::set_extension`].
///
/// No zlib stream is allocated before it is needed: the compressor is made for the first
/// message compressed, the decompressor for the first compressed message received. Without
/// context takeover in a direction, that direction's stream is not the session's at all: one
/// is lent by the thread's pool for each message and given back reset, so a session between
/// messages holds no zlib state. [`holds_compressor`](Self::holds_compressor) and
/// [`holds_decompressor`](Self::holds_decompressor) tell which it holds now.
pub struct Deflate {
    /// How our compressor is made. `None` when the window agreed for our side is 8 bits,
    /// which zlib cannot produce: every message then goes out uncompressed, which RFC 7692
    /// always allows.
    compressor_kind: Option<CompressorKind>,
    /// Our own compressor, with context takeover, from the first message compressed. Boxed,
    /// as is the decompressor: a session that holds neither stays small.
    compressor: Option<Box<Compressor>>,
    /// No context takeover for our compressor: a pooled one per message.
    compressor_reset: bool,
    /// Our decompressor: with context takeover from the first compressed message on; without,
    /// a pooled one from a message's first frame to its last.
    decompressor: Option<Box<Inflate>>,
    /// No context takeover for the peer's compressor: ours starts anew with each message.
    decompressor_reset: bool,
    /// Messages shorter than this go out uncompressed.
    min_size: usize,
}

impl Deflate {
    /// A session that compresses with a window of 2^`window_bits` bytes at `level`, with
    /// zlib's `mem_level` (1-9).
    pub(crate) fn new(
        level: u32,
        window_bits: u8,
        mem_level: u8,
        our_no_context_takeover: bool,
        peer_no_context_takeover: bool,
        min_size: usize,
    ) -> Self {
        let compressor_kind = (window_bits >= 9).then(|| CompressorKind {
            level: level.min(9) as u8,
            window_bits: window_bits.min(15),
            mem_level: mem_level.clamp(1, 9),
        });
        Self {
            compressor_kind,
            compressor: None,
            compressor_reset: our_no_context_takeover,
            decompressor: None,
            decompressor_reset: peer_no_context_takeover,
            min_size,
        }
    }

    /// Whether outgoing messages are compressed at all (not with an 8-bit window).
    pub fn compresses(&self) -> bool {
        self.compressor_kind.is_some()
    }

    /// Whether the session holds a compressor of its own now: from the first message it
    /// compresses, with context takeover; never, without (each message borrows one).
    pub fn holds_compressor(&self) -> bool {
        self.compressor.is_some()
    }

    /// Whether the session holds a decompressor now: from the first compressed message
    /// received, with context takeover; without, only between the first and the last frame
    /// of a compressed message.
    pub fn holds_decompressor(&self) -> bool {
        self.decompressor.is_some()
    }
}

/// Inflates `input` into `out`, failing once `out` would pass `max_len`.
fn inflate(
    decompressor: &mut Inflate,
    mut input: &[u8],
    out: &mut BytesMut,
    max_len: usize,
) -> Result<(), DecodeError> {
    loop {
        let len = out.len();
        if len > max_len {
            return Err(DecodeError::TooLarge);
        }
        // One byte of room past the limit tells "exactly full" from "too large" (and a limit
        // of `usize::MAX`, no limit, must not overflow).
        let room = len
            .clamp(4096, MAX_STEP)
            .min((max_len - len).saturating_add(1));
        out.resize(len + room, 0);
        let (in_before, out_before) = (decompressor.total_in(), decompressor.total_out());
        let status = decompressor.decompress(input, &mut out[len..], InflateFlush::SyncFlush);
        let consumed = (decompressor.total_in() - in_before) as usize;
        let produced = (decompressor.total_out() - out_before) as usize;
        out.truncate(len + produced);
        input = &input[consumed..];
        match status {
            Err(_) => return Err(DecodeError::Invalid),
            Ok(Status::StreamEnd) => {
                // A block with BFINAL set ends the DEFLATE stream (RFC 7692 §7.2.3.4);
                // whatever follows starts a new one.
                decompressor.reset(false);
            }
            Ok(_) => {}
        }
        if out.len() > max_len {
            return Err(DecodeError::TooLarge);
        }
        if input.is_empty() && produced < room {
            return Ok(());
        }
        if consumed == 0 && produced == 0 && !matches!(status, Ok(Status::StreamEnd)) {
            // No progress with input left and room to write: the data is broken.
            return Err(DecodeError::Invalid);
        }
    }
}

/// Compresses `payload` into `out` with a sync flush, giving up as soon as `out` is longer
/// than `give_up_past`. `Err` leaves the compressor's state undefined: reset it.
fn compress(
    compressor: &mut Compressor,
    payload: &[u8],
    out: &mut BytesMut,
    give_up_past: usize,
) -> Result<(), ()> {
    let mut input = payload;
    loop {
        let len = out.len();
        // `len <= give_up_past` here: one byte of room past it tells "too long" apart.
        let room = (input.len() / 2 + 64).min(give_up_past + 1 - len);
        out.resize(len + room, 0);
        let (in_before, out_before) = (compressor.total_in(), compressor.total_out());
        let status = compressor.compress(input, &mut out[len..], DeflateFlush::SyncFlush);
        let consumed = (compressor.total_in() - in_before) as usize;
        let produced = (compressor.total_out() - out_before) as usize;
        out.truncate(len + produced);
        input = &input[consumed..];
        if status.is_err() || out.len() > give_up_past {
            return Err(());
        }
        // The flush is complete once it leaves output space unused.
        if input.is_empty() && produced < room {
            return Ok(());
        }
    }
}

/// Compresses one message into `out`, tail removed; `false` (and `out` empty) if the result
/// is not smaller than `payload`, which then goes out as it is.
fn compress_message(compressor: &mut Compressor, payload: &[u8], out: &mut BytesMut) -> bool {
    // Worth sending compressed only if smaller than the payload (RFC 7692 §6 lets any
    // message go uncompressed): with the tail that is removed below, at most
    // `payload.len() - 1 + 4` bytes, and compressing stops as soon as it makes more.
    let compressed = compress(compressor, payload, out, payload.len() + TAIL.len() - 1);
    if compressed.is_ok() && out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    if compressed.is_err() || out.len() >= payload.len() {
        // The compressor's window now holds this message, but the peer's decompressor never
        // sees it: a message sent uncompressed bypasses it. With context takeover, the next
        // message could then refer back to bytes the peer does not have. So the compressor
        // forgets everything: after a reset its output refers only to what it compresses
        // from then on, which the peer inflates whatever its window holds. (Without context
        // takeover it is reset after every message anyway.)
        if compressed.is_err() {
            drain(compressor);
        }
        compressor.reset();
        out.clear();
        return false;
    }
    true
}

/// Lets a compressor that gave up in the middle of a flush write out, into a scratch
/// buffer, the output it still holds, so that it can be reset.
///
/// zlib-rs 0.6.8's reset empties the buffer of output not yet written but keeps its
/// offset into that buffer, which only a fully written buffer brings back to 0: reset with
/// output pending, a compressor loses that much room for good, and a later message that
/// needs the room panics inside zlib-rs ("buf.len() must fit in remaining()"). What it
/// holds is bounded by the part of the message it consumed.
fn drain(compressor: &mut Compressor) {
    let mut scratch = [0; 4096];
    loop {
        let before = compressor.total_out();
        let status = compressor.compress(&[], &mut scratch, DeflateFlush::SyncFlush);
        let produced = (compressor.total_out() - before) as usize;
        if status.is_err() || produced < scratch.len() {
            return;
        }
    }
}

impl MessageExtension for Deflate {
    fn encode(&mut self, payload: &[u8], out: &mut BytesMut) -> bool {
        if payload.len() < self.min_size || payload.is_empty() {
            return false;
        }
        let Some(kind) = self.compressor_kind else {
            return false;
        };
        if self.compressor_reset {
            // Lent for this message; given back reset, so the next borrower, of this
            // connection or another, starts from nothing.
            let mut compressor = pool::take_compressor(kind);
            let compressed = compress_message(&mut compressor, payload, out);
            pool::give_compressor(kind, compressor);
            return compressed;
        }
        let compressor = self
            .compressor
            .get_or_insert_with(|| Box::new(kind.build()));
        compress_message(compressor, payload, out)
    }

    /// DEFLATE's worst case is stored blocks, 5 bytes per 64 KiB; zlib's own bound adds a
    /// little more per block and a constant. This is generous on both counts, so that any
    /// encoder's output for a message at the limit is admitted.
    fn max_encoded_len(&self, len: usize) -> usize {
        len.saturating_add(len >> 10).saturating_add(1024)
    }

    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_len: usize,
    ) -> Result<(), DecodeError> {
        let decompressor = self.decompressor.get_or_insert_with(|| {
            if self.decompressor_reset {
                pool::take_decompressor()
            } else {
                Box::new(pool::new_decompressor())
            }
        });
        let mut result = inflate(decompressor, payload, out, max_len);
        if result.is_ok() && fin {
            result = inflate(decompressor, &TAIL, out, max_len);
        }
        let message_ended = fin || result.is_err();
        if self.decompressor_reset && message_ended {
            if let Some(decompressor) = self.decompressor.take() {
                pool::give_decompressor(decompressor);
            }
        } else if result.is_err() {
            // The connection fails; leave no half-inflated state behind.
            decompressor.reset(false);
        }
        result
    }
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("compressor", &self.compressor_kind)
            .field("holds_compressor", &self.compressor.is_some())
            .field("compressor_reset", &self.compressor_reset)
            .field("holds_decompressor", &self.decompressor.is_some())
            .field("decompressor_reset", &self.decompressor_reset)
            .field("min_size", &self.min_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(no_context_takeover: bool) -> Deflate {
        Deflate::new(6, 15, 8, no_context_takeover, no_context_takeover, 0)
    }

    fn decode(d: &mut Deflate, payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let mut out = BytesMut::new();
        d.decode(payload, true, &mut out, 1 << 20)?;
        Ok(out.to_vec())
    }

    /// What the compressor makes of `payload`, tail removed, whether or not it is smaller:
    /// `encode` would send the RFC's short examples uncompressed.
    fn compressed(d: &mut Deflate, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        let kind = d.compressor_kind.unwrap();
        let mut compressor = d
            .compressor
            .take()
            .unwrap_or_else(|| Box::new(kind.build()));
        compress(&mut compressor, payload, &mut out, usize::MAX - 1).unwrap();
        assert!(out.ends_with(&TAIL));
        if !d.compressor_reset {
            d.compressor = Some(compressor);
        }
        out[..out.len() - TAIL.len()].to_vec()
    }

    /// Bytes no compressor can shrink, from a xorshift generator.
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    }

    #[test]
    fn rfc_7692_section_7_2_3_1_hello() {
        let mut d = session(false);
        let out = compressed(&mut d, b"Hello");
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(decode(&mut session(false), &out).unwrap(), b"Hello");
        // Seven bytes for five: sent as it is.
        assert!(!session(false).encode(b"Hello", &mut BytesMut::new()));
    }

    #[test]
    fn rfc_7692_section_7_2_3_2_sharing_the_window() {
        // With context takeover the second "Hello" refers back to the first.
        let mut d = session(false);
        let first = compressed(&mut d, b"Hello");
        let second = compressed(&mut d, b"Hello");
        assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut peer = session(false);
        assert_eq!(decode(&mut peer, &first).unwrap(), b"Hello");
        assert_eq!(decode(&mut peer, &second).unwrap(), b"Hello");
        // Without, both are the same bytes.
        let mut d = session(true);
        assert_eq!(compressed(&mut d, b"Hello"), compressed(&mut d, b"Hello"));
    }

    #[test]
    fn a_message_that_does_not_shrink_goes_uncompressed() {
        let random = noise(100_000, 7);
        let mut out = BytesMut::new();
        assert!(!session(false).encode(&random, &mut out));
        assert!(out.is_empty());
        assert!(!session(false).encode(b"", &mut out));
        assert!(session(false).encode(&[b'a'; 100], &mut out));
        assert!(out.len() < 100);
    }

    /// A compressor that gave up on a message (its output would not have been smaller)
    /// compresses the next one whole. With zlib-rs 0.6.8 this panicked before the compressor
    /// drained what it held before its reset (found by the `two_endpoints` fuzz target).
    #[test]
    fn a_compressor_that_gave_up_compresses_the_next_message() {
        let kind = CompressorKind {
            level: 1,
            window_bits: 9,
            mem_level: 1,
        };
        let pattern = |len: usize, mul: u8| -> Vec<u8> {
            (0..len).map(|i| (i as u8).wrapping_mul(mul)).collect()
        };
        let mut reader = session(true);
        for mut compressor in [Box::new(kind.build()), pool::take_compressor(kind)] {
            for (len, mul) in [(1264, 55), (1042, 133), (3000, 7), (1264, 55), (2000, 1)] {
                let payload = pattern(len, mul);
                let mut out = BytesMut::new();
                if compress_message(&mut compressor, &payload, &mut out) {
                    assert_eq!(decode(&mut reader, &out).unwrap(), payload, "len {len}");
                }
                compressor.reset();
            }
            let noise = noise(50_000, 3);
            let mut out = BytesMut::new();
            assert!(!compress_message(&mut compressor, &noise, &mut out));
            let text = pattern(5000, 0).repeat(4);
            assert!(compress_message(&mut compressor, &text, &mut out));
            assert_eq!(decode(&mut reader, &out).unwrap(), text);
        }
    }

    #[test]
    fn a_message_sent_uncompressed_leaves_no_trace_in_the_window() {
        // With context takeover: `first` goes uncompressed, so the peer never sees it, and
        // `second` repeats half of it twice. Had the compressor kept `first` in its window,
        // `second` would refer back to bytes the peer does not have.
        let first = noise(10_000, 11);
        let second = [&first[..5000], &first[..5000]].concat();
        let (mut d, mut peer) = (session(false), session(false));
        let mut out = BytesMut::new();
        assert!(!d.encode(&first, &mut out));
        assert!(d.encode(&second, &mut out), "the repeat compresses");
        assert!(out.len() < 6000, "{}", out.len());
        assert_eq!(decode(&mut peer, &out).unwrap(), second);
        // And the two stay in step for what follows.
        let mut next = BytesMut::new();
        assert!(d.encode(&second, &mut next));
        assert_eq!(decode(&mut peer, &next).unwrap(), second);
    }

    #[test]
    fn rfc_7692_section_7_2_3_3_to_6_other_block_forms() {
        // 7.2.3.3: a stored (uncompressed) block.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(decode(&mut session(false), &stored).unwrap(), b"Hello");
        // 7.2.3.4: a block with BFINAL set; the stream ends and the next message starts anew.
        let mut d = session(false);
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(decode(&mut d, &bfinal).unwrap(), b"Hello");
        assert_eq!(decode(&mut d, &bfinal).unwrap(), b"Hello");
        // 7.2.3.5: two DEFLATE blocks in one message.
        let two = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        assert_eq!(decode(&mut session(false), &two).unwrap(), b"Hello");
        // 7.2.3.6: an empty message.
        assert_eq!(decode(&mut session(false), &[0x00]).unwrap(), b"");
        // Empty messages, also right after another message with context takeover.
        let (mut d, mut peer) = (session(false), session(false));
        for payload in [&b""[..], b"Hello", b"", b"", b"Hello"] {
            // Another peer's empty message is the RFC's empty block; ours goes uncompressed.
            let out = if payload.is_empty() {
                vec![0x00]
            } else {
                compressed(&mut d, payload)
            };
            assert_eq!(decode(&mut peer, &out).unwrap(), payload);
        }
    }

    #[test]
    fn inflation_stops_at_the_limit_whatever_the_ratio() {
        // 16 MiB of zeros compress to about 16 KiB.
        let zeros = vec![0u8; 16 << 20];
        let mut compressed = BytesMut::new();
        assert!(session(false).encode(&zeros, &mut compressed));
        assert!(compressed.len() < 64 * 1024, "{}", compressed.len());
        let mut out = BytesMut::new();
        let limit = 100_000;
        let result = session(false).decode(&compressed, true, &mut out, limit);
        assert_eq!(result, Err(DecodeError::TooLarge));
        // Inflation stopped at the limit: never more than one byte past it was produced, and
        // the buffer never grew to the size the data would have reached.
        assert!(out.len() <= limit + 1);
        assert!(out.capacity() < 4 * limit, "{}", out.capacity());
        // Exactly at the limit is fine.
        let mut out = BytesMut::new();
        let mut small = BytesMut::new();
        session(false).encode(&zeros[..limit], &mut small);
        assert_eq!(session(false).decode(&small, true, &mut out, limit), Ok(()));
        assert_eq!(out.len(), limit);
    }

    #[test]
    fn no_limit_is_a_limit_of_usize_max() {
        let mut compressed = BytesMut::new();
        assert!(session(false).encode(&[7; 10_000], &mut compressed));
        let mut out = BytesMut::new();
        let result = session(false).decode(&compressed, true, &mut out, usize::MAX);
        assert_eq!(result, Ok(()));
        assert_eq!(&out[..], [7; 10_000]);
    }

    #[test]
    fn corrupt_data_is_invalid() {
        let mut out = BytesMut::new();
        assert_eq!(
            session(false).decode(&[0xff, 0xff, 0xff, 0xff], true, &mut out, 1 << 20),
            Err(DecodeError::Invalid)
        );
    }

    #[test]
    fn window_8_and_small_messages_go_out_uncompressed() {
        let mut d = Deflate::new(6, 8, 8, false, false, 0);
        assert!(!d.compresses());
        let mut out = BytesMut::new();
        assert!(!d.encode(b"Hello Hello Hello", &mut out));
        assert!(out.is_empty());
        let mut d = Deflate::new(6, 15, 8, false, false, 10);
        assert!(!d.encode(b"short", &mut out));
        assert!(d.encode(b"long enough to compress, compress, compress", &mut out));
    }

    #[test]
    fn frames_of_a_message_decode_piece_by_piece() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(50);
        let mut compressed = BytesMut::new();
        session(false).encode(text.as_bytes(), &mut compressed);
        for cut in [0, 1, compressed.len() / 2, compressed.len()] {
            let mut d = session(false);
            let mut out = BytesMut::new();
            d.decode(&compressed[..cut], false, &mut out, 1 << 20)
                .unwrap();
            d.decode(&compressed[cut..], true, &mut out, 1 << 20)
                .unwrap();
            assert_eq!(out, text.as_bytes(), "cut {cut}");
        }
    }

    /// A chat line: compressible, and much more so when the window holds the one before.
    fn line() -> Vec<u8> {
        br#"{"type":"message","room":"lobby","user":"ada","text":"see you at the standup"}"#
            .repeat(3)
    }

    #[test]
    fn nothing_is_allocated_before_it_is_needed() {
        let mut d = Deflate::new(6, 15, 8, false, false, 32);
        assert!(!d.holds_compressor() && !d.holds_decompressor());
        // Messages below the size worth compressing need no compressor.
        assert!(!d.encode(b"short", &mut BytesMut::new()));
        assert!(!d.holds_compressor());
        let mut out = BytesMut::new();
        assert!(d.encode(&line(), &mut out));
        assert!(d.holds_compressor() && !d.holds_decompressor());
        assert_eq!(decode(&mut d, &out).unwrap(), line());
        assert!(d.holds_decompressor());
    }

    #[test]
    fn without_context_takeover_a_session_holds_no_stream_between_messages() {
        let (mut d, mut peer) = (session(true), session(true));
        let mut out = BytesMut::new();
        assert!(d.encode(&line(), &mut out));
        assert!(!d.holds_compressor());
        // A decompressor is held from a message's first frame to its last.
        let mut message = BytesMut::new();
        let half = out.len() / 2;
        peer.decode(&out[..half], false, &mut message, 1 << 20)
            .unwrap();
        assert!(peer.holds_decompressor());
        peer.decode(&out[half..], true, &mut message, 1 << 20)
            .unwrap();
        assert_eq!(message, line());
        assert!(!peer.holds_decompressor());
        // And one that fails gives it back too.
        let broken = peer.decode(&[0xff; 8], true, &mut BytesMut::new(), 1 << 20);
        assert_eq!(broken, Err(DecodeError::Invalid));
        assert!(!peer.holds_decompressor());
    }

    #[test]
    fn a_pooled_stream_carries_nothing_from_one_connection_to_the_next() {
        // A thread of its own: its pool starts empty, whatever ran before on the test's.
        std::thread::spawn(pooled_streams_carry_nothing)
            .join()
            .unwrap();
    }

    fn pooled_streams_carry_nothing() {
        // Two connections on one thread, both without context takeover, interleaving
        // messages through the thread's pool.
        let (mut a, mut b) = (session(true), session(true));
        let fresh = compressed(&mut session(true), &line());
        let mut first = BytesMut::new();
        assert!(a.encode(&line(), &mut first));
        let mut second = BytesMut::new();
        assert!(b.encode(&line(), &mut second));
        // Had the pool lent `b` the compressor `a` had just used, without a reset, `second`
        // would be a short reference back to `a`'s message.
        assert_eq!(first, fresh);
        assert_eq!(second, fresh);
        assert_eq!(pool::pooled().0, 1, "one compressor, lent twice");

        // The same for decompressors: `a` inflates a message, then `b` gets one that refers
        // back to it, which only a decompressor that kept `a`'s message could inflate.
        let mut keeping = session(false);
        let opening = compressed(&mut keeping, &line());
        let reference = compressed(&mut keeping, &line());
        assert!(reference.len() < opening.len() / 4, "{}", reference.len());
        assert_eq!(decode(&mut a, &opening).unwrap(), line());
        assert_eq!(pool::pooled().1, 1);
        let mut out = BytesMut::new();
        assert_eq!(
            b.decode(&reference, true, &mut out, 1 << 20),
            Err(DecodeError::Invalid)
        );
        // And a message split over frames, with another connection's message between them.
        let mut split = BytesMut::new();
        a.decode(&opening[..5], false, &mut split, 1 << 20).unwrap();
        assert_eq!(decode(&mut b, &opening).unwrap(), line());
        a.decode(&opening[5..], true, &mut split, 1 << 20).unwrap();
        assert_eq!(split, line());
    }
}
