//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §1.3, §4.2.2).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to the key before hashing.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Key` for 16 random bytes: their base64 form.
///
/// RFC 6455 §4.1 asks for a nonce chosen at random for each connection.
pub fn generate_key(random: [u8; 16]) -> HeaderValue {
    let encoded = STANDARD.encode(random);
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

/// The `Sec-WebSocket-Accept` a server answers `key` with: base64 of the SHA-1 of the key
/// followed by the RFC's GUID.
pub fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let encoded = STANDARD.encode(sha.finalize());
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

/// Whether `key` is the base64 form of 16 bytes, as §4.2.1 requires of a client's key.
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|bytes| bytes.len() == 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_section_1_3_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            generate_key(*b"the sample nonce"),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
    }

    #[test]
    fn keys_must_be_16_bytes_of_base64() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ")); // unpadded
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXM=")); // 17 bytes
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j!Q=="));
        assert!(!is_valid_key(b""));
    }
}
