//! permessage-deflate negotiation on any offers and answers: a server's choice among any
//! offers is one its client would accept, and a client's check of any answer never panics.

#![no_main]

use arbitrary::Arbitrary;
use http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_EXTENSIONS};
use libfuzzer_sys::fuzz_target;
use swell_deflate::{DeflateConfig, Params};
use swell_fuzz::DeflateChoice;
use swell_handshake::parse_extensions;

#[derive(Arbitrary, Debug)]
struct Input {
    ours: DeflateChoice,
    header: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let Ok(value) = HeaderValue::from_bytes(&input.header) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(SEC_WEBSOCKET_EXTENSIONS, value);
    let Ok(extensions) = parse_extensions(&headers) else {
        return;
    };
    let config = DeflateConfig::default()
        .server_no_context_takeover(input.ours.server_no_context_takeover)
        .client_no_context_takeover(input.ours.client_no_context_takeover)
        .server_max_window_bits(input.ours.server_max_window_bits)
        .client_max_window_bits(input.ours.client_max_window_bits)
        .shared_compressor(input.ours.shared_compressor);
    // As a server's offers.
    if let Some((response, _session)) = swell_deflate::accept(&extensions, &config) {
        let answer = Params::parse(&response).expect("our answer is valid");
        // The offer it answers: a client that sent it accepts the answer.
        let offer = extensions
            .iter()
            .filter_map(|e| Params::parse(e).ok())
            .find(|offer| swell_deflate::accept(&[offer.to_extension()], &config).is_some())
            .expect("the accepted offer is among them");
        if let Some(bits) = answer.client_max_window_bits {
            assert!(
                offer.client_max_window_bits.is_some(),
                "window bits the client did not allow"
            );
            let bits = bits.expect("an answer gives the value");
            assert!((8..=15).contains(&bits));
            if let Some(Some(max)) = offer.client_max_window_bits {
                assert!(
                    bits <= max,
                    "a client window larger than the client allowed"
                );
            }
        }
        if let (Some(bits), Some(max)) =
            (answer.server_max_window_bits, offer.server_max_window_bits)
        {
            assert!(
                bits <= max,
                "a server window larger than the client allowed"
            );
        }
    }
    // As a server's answer to our offer.
    let _ = swell_deflate::accept_response(&extensions, &[config]);
});
