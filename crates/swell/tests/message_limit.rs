//! A message one byte past the limit fails with 1009, with the default settings, and the
//! server's memory stays bounded by the limit however much more the peer sends. Alone in its
//! own test binary: it measures every allocation of the process.

use swell::{CloseCode, Error, ProtocolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::counting::{Counting, peak, reset_peak};
use common::read_head;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LIMIT: usize = 64 << 20;
const REQUEST: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// A frame header as a client sends it, masked with an all-zero key (the payload is then
/// sent as it is).
fn header(b0: u8, len: u64) -> Vec<u8> {
    let mut out = vec![b0, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out
}

/// A server with the default settings; returns how its connection ended.
async fn server(listener: TcpListener) -> Option<Result<swell::Message, Error>> {
    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = swell::accept(stream).await.unwrap();
    loop {
        match ws.recv().await {
            Some(Ok(message)) if message.is_data() => panic!("an over-limit message arrived"),
            Some(Ok(_)) => {}
            end => return end,
        }
    }
}

/// Connects by hand, sends `frames` (header, payload length) from one reused buffer until
/// the server stops reading, and returns the close code the server sent.
async fn send_raw(addr: &str, frames: Vec<(Vec<u8>, usize)>) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(REQUEST.as_bytes()).await.unwrap();
    let (head, _) = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 1 << 20];
        for (header, len) in frames {
            if write.write_all(&header).await.is_err() {
                return;
            }
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len());
                if write.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
        }
    });
    let mut close = [0; 4];
    read.read_exact(&mut close).await.unwrap();
    assert_eq!(close[0], 0x88, "a Close frame");
    writer.abort();
    u16::from_be_bytes([close[2], close[3]])
}

/// Serves one connection with the default settings and sends it `frames` by hand; checks
/// that it failed with 1009 for the message limit, and returns how much the process's memory
/// grew at the most meanwhile.
async fn fails_with_1009(frames: Vec<(Vec<u8>, usize)>) -> usize {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let ended = tokio::spawn(server(listener));
    let before = reset_peak();
    let code = send_raw(&addr, frames).await;
    assert_eq!(code, CloseCode::MESSAGE_TOO_BIG.as_u16());
    let ended = ended.await.unwrap();
    assert!(
        matches!(
            ended,
            Some(Err(Error::Protocol(ProtocolError::MessageTooLarge {
                max: LIMIT
            })))
        ),
        "{ended:?}"
    );
    peak() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_the_limit_fails_with_1009_in_memory_bounded_by_the_limit() {
    // One frame of limit + 1 bytes: refused at its header, before its payload is read.
    let grown = fails_with_1009(vec![(header(0x82, LIMIT as u64 + 1), LIMIT + 1)]).await;
    assert!(grown < 8 << 20, "{grown} bytes for a refused header");

    // The same message in 1 MiB fragments, and the sender would go on to four times the
    // limit: the server fails when the limit is passed, and holds at most the message so
    // far while it grows.
    let mut frames = vec![(header(0x02, 1 << 20), 1 << 20)];
    frames.extend((1..4 * 64).map(|_| (header(0x00, 1 << 20), 1 << 20)));
    let grown = fails_with_1009(frames).await;
    assert!(
        grown < 2 * LIMIT,
        "{grown} bytes for a message of up to {LIMIT}"
    );
}
