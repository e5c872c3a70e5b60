//! How reads are sized: a peer that streams is read many messages at a time, within a bound.

use swell::{Config, Message, Role};
use tokio::io::AsyncWriteExt;

mod common;
use common::{Counters, Counting};

/// An unmasked binary frame of `len` bytes (126 ≤ len < 64 KiB), as a server sends it.
fn frame(len: usize, fill: u8) -> Vec<u8> {
    let mut frame = vec![0x82, 126];
    frame.extend((len as u16).to_be_bytes());
    frame.resize(4 + len, fill);
    frame
}

#[tokio::test]
async fn a_streaming_peer_is_read_many_messages_at_a_time() {
    // 64 messages of 16 KiB are all there when the client starts reading, as when a server
    // streams faster than its client reads. With the default 32 KiB chunk, reads of one
    // chunk each would take 32 of them; the room grows while reads fill it, up to 256 KiB.
    const MESSAGES: usize = 64;
    const LEN: usize = 16 * 1024;
    let (ours, mut theirs) = tokio::io::duplex(2 << 20);
    for i in 0..MESSAGES {
        theirs.write_all(&frame(LEN, i as u8)).await.unwrap();
    }
    let counters = Counters::default();
    let io = Counting::new(ours, &counters);
    let mut ws = swell::WebSocket::from_raw(io, Role::Client, Config::default(), &[]);
    for i in 0..MESSAGES {
        let Some(Ok(Message::Binary(payload))) = ws.recv().await else {
            panic!("message {i}");
        };
        assert_eq!((payload.len(), payload[0]), (LEN, i as u8));
    }
    let reads = counters.reads();
    assert!(
        reads <= 8,
        "{MESSAGES} messages of 16 KiB took {reads} reads"
    );
    // The room asked for grows to 256 KiB at most; growing may double the allocation, and a
    // read takes all the room there is.
    let largest = counters.largest_read();
    assert!(
        largest <= 2 * 256 * 1024,
        "one read took {largest} bytes, more than the buffer may hold"
    );
}
