//! The header grammar on any header values: `Sec-WebSocket-Extensions` and
//! `Sec-WebSocket-Protocol` parse without panicking, what parses formats back to a value that
//! parses the same, and permessage-deflate parameters that parse print back the same.

#![no_main]

use http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL};
use libfuzzer_sys::fuzz_target;
use swell_deflate::Params;
use swell_handshake::{format_extensions, parse_extensions, parse_protocols};

fuzz_target!(|data: &[u8]| {
    // The input is one or more values, split at NUL: a header may come in several fields.
    let mut headers = HeaderMap::new();
    for value in data.split(|&b| b == 0) {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        headers.append(SEC_WEBSOCKET_EXTENSIONS, value.clone());
        headers.append(SEC_WEBSOCKET_PROTOCOL, value);
    }
    let _ = parse_protocols(&headers);
    let Ok(extensions) = parse_extensions(&headers) else {
        return;
    };
    if !extensions.is_empty() {
        let mut again = HeaderMap::new();
        again.insert(SEC_WEBSOCKET_EXTENSIONS, format_extensions(&extensions));
        assert_eq!(parse_extensions(&again).as_ref(), Ok(&extensions));
    }
    for extension in &extensions {
        if let Ok(params) = Params::parse(extension) {
            assert_eq!(Params::parse(&params.to_extension()), Ok(params));
        }
    }
});
