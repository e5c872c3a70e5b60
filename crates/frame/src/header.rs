//! The frame header (RFC 6455 §5.2): decoding from and encoding into plain byte slices.

use bytes::BytesMut;

use crate::error::ProtocolError;

/// The longest header: 2 fixed bytes, 8 bytes of extended length, 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A frame's opcode. Reserved opcodes are rejected while decoding, so every value here is one
/// RFC 6455 defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: starts or answers the closing handshake.
    Close,
    /// 0x9: asks the peer for a Pong.
    Ping,
    /// 0xA: answers a Ping, or serves as a unidirectional heartbeat.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit wire value, or `None` for the reserved values 0x3-0x7 and 0xB-0xF.
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong are control frames (RFC 6455 §5.5).
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whether this is the final frame of a message.
    pub fin: bool,
    /// The three reserved bits as a number: RSV1 is `0b100`, RSV2 `0b010`, RSV3 `0b001`.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every frame a client sends.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// RSV1, the bit permessage-deflate uses.
    pub const RSV1: u8 = 0b100;

    /// Decodes a header from the start of `src`.
    ///
    /// Returns `Ok(None)` when `src` does not yet hold the whole header, and the header with
    /// its length in bytes otherwise.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::ReservedOpcode`] for an opcode RFC 6455 reserves, and
    /// [`ProtocolError::InvalidLength`] for a 64-bit length with its most significant bit set
    /// (§5.2). Every other rule depends on the connection and is checked there.
    pub fn decode(src: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [b0, b1, ..] = *src else {
            return Ok(None);
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0F))?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut len) = match b1 & 0x7F {
            126 => {
                let Some(ext) = src.get(2..4) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([ext[0], ext[1]])), 4)
            }
            127 => {
                let Some(ext) = src.get(2..10) else {
                    return Ok(None);
                };
                let mut bytes = [0; 8];
                bytes.copy_from_slice(ext);
                let n = u64::from_be_bytes(bytes);
                if n >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                (n, 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            let Some(key) = src.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let header = Self {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0b111,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// Encodes the header into `dst` and returns how many bytes it took. Lengths use the
    /// shortest form, as §5.2 requires.
    pub fn encode(&self, dst: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let mut out = &mut dst[..];
        self.put(&mut out);
        MAX_HEADER_LEN - out.len()
    }

    /// Appends the encoded header to `dst`.
    ///
    /// Each field is stored whole from a register; a header assembled byte by byte on the
    /// stack and then copied would stall the copy's load on the byte stores before it.
    #[inline]
    pub(crate) fn put(&self, dst: &mut impl HeaderDst) {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.payload_len {
            n @ 0..=125 => dst.put_array([b0, mask_bit | n as u8]),
            n @ 126..=0xFFFF => {
                dst.put_array([b0, mask_bit | 126]);
                dst.put_array((n as u16).to_be_bytes());
            }
            n => {
                dst.put_array([b0, mask_bit | 127]);
                dst.put_array(n.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            dst.put_array(key);
        }
    }
}

/// Where [`FrameHeader::put`] writes: appends of a size known where they are written, so
/// each becomes one store. (`BytesMut`'s `BufMut::put_slice` is not inlined across crates,
/// which turned every two-byte field into a call to `memcpy`.)
pub(crate) trait HeaderDst {
    fn put_array<const N: usize>(&mut self, bytes: [u8; N]);
}

impl HeaderDst for BytesMut {
    #[inline]
    fn put_array<const N: usize>(&mut self, bytes: [u8; N]) {
        self.extend_from_slice(&bytes);
    }
}

impl HeaderDst for &mut [u8] {
    #[inline]
    fn put_array<const N: usize>(&mut self, bytes: [u8; N]) {
        let (head, rest) = std::mem::take(self).split_at_mut(N);
        head.copy_from_slice(&bytes);
        *self = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, payload_len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len,
        }
    }

    #[test]
    fn rfc_6455_section_5_7_examples() {
        // A single-frame unmasked text message "Hello".
        let (h, n) = FrameHeader::decode(&[0x81, 0x05, 0x48, 0x65])
            .unwrap()
            .unwrap();
        assert_eq!((h, n), (header(OpCode::Text, 5, None), 2));
        // A single-frame masked text message.
        let (h, n) = FrameHeader::decode(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f])
            .unwrap()
            .unwrap();
        assert_eq!(
            (h, n),
            (header(OpCode::Text, 5, Some([0x37, 0xfa, 0x21, 0x3d])), 6)
        );
        // A fragmented unmasked text message: first frame.
        let (h, _) = FrameHeader::decode(&[0x01, 0x03]).unwrap().unwrap();
        assert!(!h.fin);
        // 256 bytes binary message in a single unmasked frame.
        let (h, n) = FrameHeader::decode(&[0x82, 0x7E, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h, n), (header(OpCode::Binary, 256, None), 4));
        // 64KiB binary message in a single unmasked frame.
        let bytes = [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
        let (h, n) = FrameHeader::decode(&bytes).unwrap().unwrap();
        assert_eq!((h, n), (header(OpCode::Binary, 65536, None), 10));
    }

    #[test]
    fn every_length_form_round_trips() {
        for len in [
            0,
            1,
            125,
            126,
            127,
            0xFFFF,
            0x1_0000,
            u32::MAX as u64 + 7,
            i64::MAX as u64,
        ] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for rsv in 0..8 {
                    let h = FrameHeader {
                        fin: rsv % 2 == 0,
                        rsv,
                        opcode: OpCode::Binary,
                        mask,
                        payload_len: len,
                    };
                    let mut buf = [0; MAX_HEADER_LEN];
                    let n = h.encode(&mut buf);
                    assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))));
                    // Every strict prefix is incomplete, never an error.
                    for cut in 0..n {
                        assert_eq!(FrameHeader::decode(&buf[..cut]), Ok(None));
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_reserved_opcodes_and_the_top_length_bit() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            FrameHeader::decode(&bytes),
            Err(ProtocolError::InvalidLength)
        );
    }
}
