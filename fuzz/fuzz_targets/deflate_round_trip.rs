//! Compress, then inflate, through both ends of a negotiated permessage-deflate session:
//! every message the compressor keeps compressed inflates to itself, message after message,
//! with and without context takeover and for every window size; one it declines is sent as
//! it is.

#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use swell_frame::MessageExtension;
use swell_fuzz::DeflateChoice;

#[derive(Arbitrary, Debug)]
struct Input {
    choice: DeflateChoice,
    /// Which end sends each message: the client (true) or the server.
    messages: Vec<(bool, Vec<u8>)>,
}

fuzz_target!(|input: Input| {
    let (mut client, mut server) = input.choice.sessions();
    for (from_client, message) in &input.messages {
        let (sender, receiver) = if *from_client {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        let mut encoded = BytesMut::new();
        if !sender.encode(message, &mut encoded) {
            assert!(
                encoded.is_empty(),
                "a declined message leaves nothing behind"
            );
            continue;
        }
        assert!(encoded.len() < message.len(), "kept only when smaller");
        let mut decoded = BytesMut::new();
        receiver
            .decode(&encoded, true, &mut decoded, message.len())
            .expect("our own encoding inflates within its length");
        assert_eq!(&decoded[..], &message[..]);
    }
});
