//! Randomness from the operating system, for handshake nonces and masking keys.

/// 16 random bytes for a `Sec-WebSocket-Key`.
pub(crate) fn nonce() -> [u8; 16] {
    let mut bytes = [0; 16];
    fill(&mut bytes);
    bytes
}

/// A source of masking keys that asks the OS for 64 keys at a time.
pub(crate) fn mask_keys() -> impl FnMut() -> [u8; 4] + Send + 'static {
    let mut pool = [0u8; 256];
    let mut next = pool.len();
    move || {
        if next == pool.len() {
            fill(&mut pool);
            next = 0;
        }
        let key = [pool[next], pool[next + 1], pool[next + 2], pool[next + 3]];
        next += 4;
        key
    }
}

fn fill(bytes: &mut [u8]) {
    // Without the OS random source there is no safe way to mask frames; this fails only on
    // platforms where it does not exist at all.
    getrandom::fill(bytes).expect("the operating system's random source failed");
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_not_repeated() {
        let mut keys = super::mask_keys();
        let drawn: std::collections::HashSet<[u8; 4]> = (0..1000).map(|_| keys()).collect();
        // 1000 draws from 2^32 values: a repeat is possible but very unlikely (p < 1e-3).
        assert!(drawn.len() >= 999);
        assert_ne!(super::nonce(), super::nonce());
    }
}
