//! The client's side of the opening handshake on any response head: parsing within the head
//! limits, the checks of RFC 6455 §4.1 against what we offered, and the permessage-deflate
//! parameters of a response that passes them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use swell_deflate::DeflateConfig;
use swell_handshake::{ClientHandshake, HeadLimits};

/// The nonce the seed corpus's responses answer: its `Sec-WebSocket-Accept` is
/// `Gb1w8t63doaw9Gy0GMjm3spXty8=`.
const NONCE: [u8; 16] = *b"swell-fuzz-nonce";

fuzz_target!(|data: &[u8]| {
    let offers = [
        DeflateConfig::default(),
        DeflateConfig::default()
            .client_no_context_takeover(true)
            .client_max_window_bits(10),
    ];
    let mut handshake = ClientHandshake::new("ws://localhost/chat".parse().unwrap(), NONCE)
        .unwrap()
        .protocol("chat")
        .protocol("superchat");
    for offer in &offers {
        handshake = handshake.extension(offer.offer());
    }
    let limits = HeadLimits::default();
    let Ok(Some((_, negotiated, len))) = handshake.parse_response(data, &limits) else {
        return;
    };
    assert!(len <= data.len() && len <= limits.max_head_size);
    if let Some(protocol) = &negotiated.protocol {
        assert!(protocol == "chat" || protocol == "superchat", "{protocol}");
    }
    let _ = swell_deflate::accept_response(&negotiated.extensions, &offers);
});
