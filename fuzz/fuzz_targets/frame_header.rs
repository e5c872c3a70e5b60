//! The frame header codec on any bytes: decoding never panics nor reads past the input, and
//! whatever decodes encodes again to a header that decodes the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use swell_frame::{FrameHeader, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((header, len))) = FrameHeader::decode(data) else {
        return;
    };
    assert!(len <= data.len() && len <= MAX_HEADER_LEN);
    let mut encoded = [0; MAX_HEADER_LEN];
    let n = header.encode(&mut encoded);
    let (again, m) = FrameHeader::decode(&encoded[..n])
        .expect("an encoded header is valid")
        .expect("an encoded header is complete");
    assert_eq!(again, header);
    assert_eq!(m, n);
    // Nothing shorter decodes: the header says how long it is.
    assert_eq!(FrameHeader::decode(&encoded[..n - 1]), Ok(None));
});
