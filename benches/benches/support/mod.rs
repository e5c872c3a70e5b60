//! Input shared by the criterion benchmarks.

use swell_frame::{FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};

/// The mask key of every client frame the benchmarks encode.
pub(crate) const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// `count` masked client frames of `size` bytes each, back to back, as a server reads them.
pub(crate) fn client_frames(opcode: OpCode, size: usize, count: usize) -> Vec<u8> {
    let payload = vec![b'x'; size];
    let mut out = Vec::with_capacity(count * (size + MAX_HEADER_LEN));
    for _ in 0..count {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(KEY),
            payload_len: size as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        out.extend_from_slice(&head[..n]);
        let start = out.len();
        out.extend_from_slice(&payload);
        apply_mask(&mut out[start..], KEY);
    }
    out
}
