//! Payload masking (RFC 6455 §5.3), a machine word at a time.

/// XORs `buf` with the 4-byte masking `key`, as if `buf` began at payload offset 0.
///
/// Masking and unmasking are the same operation.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    // Short payloads, the common case, are masked where the call is; the loop is a call.
    if buf.len() <= 16 {
        mask_short(buf, key);
    } else {
        mask_long(buf, key);
    }
}

#[inline(never)]
fn mask_long(buf: &mut [u8], key: [u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= AVX2_FROM && std::is_x86_feature_detected!("avx2") {
        // SAFETY: `mask_words_avx2` only asks that the CPU supports AVX2, checked just above.
        #[allow(unsafe_code)]
        return unsafe { mask_words_avx2(buf, key) };
    }
    mask_words(buf, key);
}

/// Payloads from this long are masked with AVX2 where the CPU has it: twice the bytes per
/// instruction of the SSE2 every x86-64 has, ~1.8× the speed at 16 KiB and still ahead at
/// 1 KiB (criterion `mask`). Shorter payloads are mostly the unaligned head and the tail.
#[cfg(target_arch = "x86_64")]
const AVX2_FROM: usize = 256;

/// [`mask_words`] compiled for AVX2. The body is the same safe code; only the instructions
/// the compiler may choose differ.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn mask_words_avx2(buf: &mut [u8], key: [u8; 4]) {
    // A 32-byte access that straddles two cache lines costs two, which halves the speed. A
    // payload starts after its frame header, so it rarely starts aligned: mask up to 31
    // bytes first, and the rest from an aligned address with the key rotated to match.
    let head = buf.as_ptr().align_offset(32).min(buf.len());
    let (head, body) = buf.split_at_mut(head);
    let (first, second) = head.split_at_mut(head.len().min(16));
    mask_short(first, key);
    mask_short(second, key_at(key, first.len()));
    mask_words(body, key_at(key, head.len()));
}

/// Masks any length, a machine word at a time.
#[inline(always)]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    // Eight 64-bit lanes per step: the loop body is plain XOR of fixed-size arrays, which the
    // compiler turns into vector instructions without any `unsafe` here.
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut blocks = buf.chunks_exact_mut(64);
    for block in &mut blocks {
        for lane in block.chunks_exact_mut(8) {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(lane);
            lane.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
        }
    }
    let rest = blocks.into_remainder();
    let mut lanes = rest.chunks_exact_mut(8);
    for lane in &mut lanes {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(lane);
        lane.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // Every block and lane above is a multiple of 4 bytes long, so the tail starts at key[0].
    mask_short(lanes.into_remainder(), key);
}

/// Masks at most 16 bytes with two loads and two stores that may overlap: both words are read
/// before either is written, so the bytes they share get the same, correct value twice. Small
/// messages are the common case, and the general loop spends more on its setup than on them.
#[inline]
fn mask_short(buf: &mut [u8], key_bytes: [u8; 4]) {
    let len = buf.len();
    let key = u32::from_ne_bytes(key_bytes);
    // The key as it lines up with the last `n` bytes, which start at payload offset `len - n`.
    let tail_key = |n: usize| u32::from_ne_bytes(key_at(key_bytes, len - n));
    let wide = |key: u32| u64::from(key) << 32 | u64::from(key);
    if len >= 8 {
        let head = u64::from_ne_bytes(buf[..8].try_into().expect("8 bytes"));
        let tail = u64::from_ne_bytes(buf[len - 8..].try_into().expect("8 bytes"));
        buf[..8].copy_from_slice(&(head ^ wide(key)).to_ne_bytes());
        buf[len - 8..].copy_from_slice(&(tail ^ wide(tail_key(8))).to_ne_bytes());
    } else if len >= 4 {
        let head = u32::from_ne_bytes(buf[..4].try_into().expect("4 bytes"));
        let tail = u32::from_ne_bytes(buf[len - 4..].try_into().expect("4 bytes"));
        buf[..4].copy_from_slice(&(head ^ key).to_ne_bytes());
        buf[len - 4..].copy_from_slice(&(tail ^ tail_key(4)).to_ne_bytes());
    } else {
        for (byte, k) in buf.iter_mut().zip(key.to_ne_bytes()) {
            *byte ^= k;
        }
    }
}

/// XORs `buf` with `key`, where `buf` starts `offset` bytes into the payload. Used to unmask a
/// payload that arrives in pieces.
pub fn apply_mask_at(buf: &mut [u8], key: [u8; 4], offset: usize) {
    apply_mask(buf, key_at(key, offset));
}

/// The key as it lines up with payload offset `offset`: its bytes rotated left by
/// `offset % 4`. One register rotate; the array's own `rotate_left` is a call.
#[inline]
fn key_at(key: [u8; 4], offset: usize) -> [u8; 4] {
    let bits = 8 * (offset % 4) as u32;
    let key = u32::from_ne_bytes(key);
    // Byte 0 is the low byte on little-endian machines, the high byte on big-endian ones.
    let rotated = if cfg!(target_endian = "little") {
        key.rotate_right(bits)
    } else {
        key.rotate_left(bits)
    };
    rotated.to_ne_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    /// Masks `len` bytes starting `start` bytes into a buffer, in place, for every start
    /// within 40 bytes (every alignment to 32 bytes and more), every length in `lens` and
    /// every payload offset, and checks each against the definition.
    fn check_in_place(lens: std::ops::Range<usize>, mask: impl Fn(&mut [u8], [u8; 4], usize)) {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..lens.end as u32 + 40)
            .map(|i| (i * 7 + 3) as u8)
            .collect();
        for start in 0..40 {
            for len in lens.clone() {
                for offset in 0..4 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    mask(&mut fast[start..start + len], key, offset);
                    naive(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn matches_the_definition_for_every_length_alignment_and_offset() {
        // Past `AVX2_FROM`, so that both paths are taken on a machine with AVX2.
        check_in_place(0..400, apply_mask_at);
    }

    #[test]
    fn the_portable_loop_matches_the_definition() {
        check_in_place(0..400, |buf, key, offset| {
            mask_words(buf, key_at(key, offset))
        });
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_loop_matches_the_definition() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        check_in_place(0..400, |buf, key, offset| {
            // SAFETY: the CPU supports AVX2, checked above.
            #[allow(unsafe_code)]
            unsafe {
                mask_words_avx2(buf, key_at(key, offset))
            }
        });
    }

    #[test]
    fn rfc_6455_section_5_7_masked_hello() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let key = [9, 8, 7, 6];
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key);
        for cut in [1, 3, 4, 5, 63, 64, 65, 999] {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask_at(a, key, 0);
            apply_mask_at(b, key, cut);
            assert_eq!(pieces, whole, "cut {cut}");
        }
    }
}
