//! Helpers shared by the facade's integration tests: hand-made client frames, a handshake
//! answered by hand, and a stream that counts what is written through it.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part

pub mod counting;
pub mod peers;
#[cfg(feature = "tls")]
pub mod tls;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Text of exactly `len` bytes.
pub fn text_of(len: usize) -> String {
    // Mostly ASCII with two-byte characters mixed in, cut to exactly `len` bytes.
    let mut s = String::with_capacity(len);
    let mut i = 0usize;
    while s.len() < len {
        let c = if i % 7 == 0 && s.len() + 2 <= len {
            'é'
        } else {
            char::from(b'a' + (i % 26) as u8)
        };
        s.push(c);
        i += 1;
    }
    s
}

/// Binary data of `len` bytes.
pub fn binary_of(len: usize) -> bytes::Bytes {
    (0..len).map(|i| (i * 31 % 256) as u8).collect()
}

/// The masking key of every frame built by [`masked`].
pub const KEY: [u8; 4] = [1, 2, 3, 4];

/// A frame as a client sends it: masked with `KEY`.
pub fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![b0, 0x80 | payload.len() as u8];
    out.extend_from_slice(&KEY);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    out
}

/// Reads an HTTP head and returns it with whatever came after it.
pub async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return (String::from_utf8(buf).unwrap(), rest);
        }
        let mut chunk = [0; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed during the head");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Accepts one connection on `listener` and answers its handshake by hand, with `behind`
/// in the same write right after the response, so that the test writes every byte the
/// client receives.
pub async fn accept_by_hand(listener: &TcpListener, behind: &[u8]) -> TcpStream {
    let (mut stream, _) = listener.accept().await.unwrap();
    let accept = read_request(&mut stream).await;
    let mut wire = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept
    )
    .into_bytes();
    wire.extend_from_slice(behind);
    stream.write_all(&wire).await.unwrap();
    stream
}

/// Reads a client's upgrade request and returns the `Sec-WebSocket-Accept` value that
/// answers its key.
pub async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let (head, _) = read_head(stream).await;
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("sec-websocket-key: "))
        .unwrap();
    let accept = swell::handshake::accept_key(key.as_bytes());
    accept.to_str().unwrap().to_owned()
}

/// What a [`Counting`] stream has seen read and written.
#[derive(Clone, Default)]
pub struct Counters {
    writes: Arc<AtomicUsize>,
    bytes: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
    largest_read: Arc<AtomicUsize>,
}

impl Counters {
    /// Calls to `poll_read` that read something.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// The most bytes one read brought.
    pub fn largest_read(&self) -> usize {
        self.largest_read.load(Ordering::Relaxed)
    }

    /// Calls to `poll_write` that wrote something.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }

    /// Bytes written.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A stream that counts the reads and writes made through it and the bytes they moved.
pub struct Counting<S> {
    inner: S,
    counters: Counters,
}

impl<S> Counting<S> {
    /// Wraps `inner`, counting into `counters` (shared with the caller).
    pub fn new(inner: S, counters: &Counters) -> Self {
        Self {
            inner,
            counters: counters.clone(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.counters.reads.fetch_add(1, Ordering::Relaxed);
            self.counters
                .largest_read
                .fetch_max(read, Ordering::Relaxed);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
            self.counters.bytes.fetch_add(*n, Ordering::Relaxed);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
