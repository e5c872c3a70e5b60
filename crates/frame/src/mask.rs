//! Payload masking (RFC 6455 §5.3), a machine word at a time.

/// XORs `buf` with the 4-byte masking `key`, as if `buf` began at payload offset 0.
///
/// Masking and unmasking are the same operation.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    if buf.len() <= 16 {
        return mask_short(buf, key);
    }
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
    for (byte, k) in lanes.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// Masks at most 16 bytes with two loads and two stores that may overlap: both words are read
/// before either is written, so the bytes they share get the same, correct value twice. Small
/// messages are the common case, and the general loop spends more on its setup than on them.
#[inline]
fn mask_short(buf: &mut [u8], key: [u8; 4]) {
    let len = buf.len();
    let key = u32::from_ne_bytes(key);
    // The key as it lines up with the last `n` bytes, which start at payload offset `len - n`:
    // the key bytes rotated left by that offset, in memory order.
    let tail_key = |n: usize| {
        let bits = 8 * ((len - n) % 4) as u32;
        if cfg!(target_endian = "little") {
            key.rotate_right(bits)
        } else {
            key.rotate_left(bits)
        }
    };
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
    let mut key = key;
    key.rotate_left(offset % 4);
    apply_mask(buf, key);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_the_definition_for_every_length_alignment_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..8 {
            for len in 0..(data.len() - start) {
                for offset in 0..4 {
                    let mut fast = data[start..start + len].to_vec();
                    let mut slow = fast.clone();
                    apply_mask_at(&mut fast, key, offset);
                    naive(&mut slow, key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
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
