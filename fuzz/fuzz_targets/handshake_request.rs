//! The server's side of the opening handshake on any request head: parsing within the head
//! limits, validation, and for a valid request the 101 answer, whose head parses back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use swell_deflate::DeflateConfig;
use swell_handshake::{
    HeadLimits, UpgradeRequest, parse_request, parse_response, write_response_head,
};

fuzz_target!(|data: &[u8]| {
    let limits = HeadLimits::default();
    let request = match parse_request(data, &limits) {
        Ok(Some((request, len))) => {
            assert!(len <= data.len() && len <= limits.max_head_size);
            request
        }
        Ok(None) => {
            assert!(
                data.len() <= limits.max_head_size,
                "an incomplete head past the limit"
            );
            return;
        }
        Err(e) => {
            // Every refusal knows its status and answer.
            assert!(e.status().is_client_error() || e.status().is_server_error());
            let _ = e.response();
            return;
        }
    };
    let Ok(upgrade) = UpgradeRequest::validate(&request) else {
        return;
    };
    let deflate = swell_deflate::accept(upgrade.extensions(), &DeflateConfig::default());
    let accepted: Vec<_> = deflate.into_iter().map(|(response, _)| response).collect();
    let protocol = upgrade.protocols().first().map(String::as_str);
    let Ok(response) = upgrade.accept(protocol, &accepted) else {
        // A subprotocol token that is not a valid header value.
        return;
    };
    let mut head = Vec::new();
    write_response_head(&response, &mut head);
    let (parsed, len) = parse_response(&head, &limits)
        .expect("our own answer parses")
        .expect("our own answer is complete");
    assert_eq!(len, head.len());
    assert_eq!(parsed.status(), 101);
    assert_eq!(parsed.headers(), response.headers());
});
