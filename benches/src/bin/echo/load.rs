//! The load generator: connections that speak just enough WebSocket to send pre-masked
//! frames and count the echoes, so that the load costs as little CPU as possible and the same
//! for every server. Over TCP the frames are the connection's bytes; over HTTP/2 they are the
//! DATA of one extended CONNECT stream per TCP connection (RFC 8441), through the bare `h2`
//! crate.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a server speaks, for the load generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A WebSocket after an HTTP/1.1 upgrade.
    Http1,
    /// The same, with permessage-deflate offered and every message sent compressed.
    Http1Deflate,
    /// A WebSocket on an HTTP/2 stream, after an extended CONNECT (h2c, prior knowledge).
    Http2,
    /// A raw TCP echo: no handshake and no framing.
    Raw,
}

impl Kind {
    /// The kind of the server named `name` in the table.
    pub(crate) fn of(name: &str) -> Self {
        match name {
            "raw-tcp" | "raw-tcp-timer" => Self::Raw,
            name if name.ends_with("-h2") => Self::Http2,
            name if name.ends_with("-deflate") || name.starts_with("swell-deflate") => {
                Self::Http1Deflate
            }
            _ => Self::Http1,
        }
    }
}

/// One connection to a server, past its handshake.
pub(crate) enum Conn {
    Tcp {
        stream: TcpStream,
        /// Whether the server is a raw TCP echo (no WebSocket framing).
        raw: bool,
        /// Whether permessage-deflate was agreed: messages are sent compressed.
        deflate: bool,
    },
    Http2 {
        send: h2::SendStream<Bytes>,
        recv: h2::RecvStream,
        /// Kept so that the connection lives as long as its stream, whatever h2 does when
        /// the last handle to a connection goes.
        _client: h2::client::SendRequest<Bytes>,
    },
}

/// What one read brought: a slice of the caller's buffer, or a DATA frame's payload.
enum Chunk<'a> {
    Read(&'a [u8]),
    Data(Bytes),
}

impl Deref for Chunk<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Read(bytes) => bytes,
            Chunk::Data(bytes) => bytes,
        }
    }
}

impl Conn {
    fn is_raw(&self) -> bool {
        matches!(self, Conn::Tcp { raw: true, .. })
    }

    fn is_compressed(&self) -> bool {
        matches!(self, Conn::Tcp { deflate: true, .. })
    }

    async fn write(&mut self, data: Bytes) -> std::io::Result<()> {
        match self {
            Conn::Tcp { stream, .. } => stream.write_all(&data).await,
            // h2 queues what the stream's window does not yet admit; what is in flight is
            // bounded by the load's messages in flight.
            Conn::Http2 { send, .. } => send.send_data(data, false).map_err(std::io::Error::other),
        }
    }

    /// The next bytes from the server; empty at the end of the stream.
    async fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> std::io::Result<Chunk<'a>> {
        match self {
            Conn::Tcp { stream, .. } => {
                let n = stream.read(buf).await?;
                Ok(Chunk::Read(&buf[..n]))
            }
            Conn::Http2 { recv, .. } => match recv.data().await {
                None => Ok(Chunk::Data(Bytes::new())),
                Some(data) => {
                    let data = data.map_err(std::io::Error::other)?;
                    recv.flow_control()
                        .release_capacity(data.len())
                        .map_err(std::io::Error::other)?;
                    Ok(Chunk::Data(data))
                }
            },
        }
    }
}

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// What a browser offers (Chromium's header).
const DEFLATE_OFFER: &str =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// The flow-control windows the HTTP/2 load offers, per stream and per connection: hyper's
/// server defaults (1 MiB), so that both directions are alike.
const H2_WINDOW: u32 = 1 << 20;

/// Opens a connection and performs the opening handshake (none for raw TCP).
pub(crate) async fn connect(addr: &str, kind: Kind) -> std::io::Result<Conn> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    match kind {
        Kind::Raw => {
            return Ok(Conn::Tcp {
                stream,
                raw: true,
                deflate: false,
            });
        }
        Kind::Http2 => return connect_h2(stream, addr).await,
        Kind::Http1 => stream.write_all(REQUEST.as_bytes()).await?,
        Kind::Http1Deflate => {
            let request = REQUEST.strip_suffix("\r\n").expect("a head");
            stream
                .write_all(format!("{request}{DEFLATE_OFFER}").as_bytes())
                .await?;
        }
    }
    let mut head = Vec::new();
    let mut byte = [0; 1];
    // Byte by byte, so that nothing behind the head is consumed; only at set-up.
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 4096 {
            return Err(std::io::Error::other("handshake failed"));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    if !head.starts_with("HTTP/1.1 101") {
        return Err(std::io::Error::other(format!("no upgrade: {head}")));
    }
    let deflate = head.to_ascii_lowercase().contains("permessage-deflate");
    if kind == Kind::Http1Deflate && !deflate {
        return Err(std::io::Error::other(format!("deflate refused: {head}")));
    }
    Ok(Conn::Tcp {
        stream,
        raw: false,
        deflate,
    })
}

/// The HTTP/2 preface, the server's SETTINGS allowing extended CONNECT, and one
/// `CONNECT :protocol websocket` stream answered 200.
async fn connect_h2(stream: TcpStream, addr: &str) -> std::io::Result<Conn> {
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(H2_WINDOW)
        .initial_connection_window_size(H2_WINDOW)
        .handshake::<_, Bytes>(stream)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.map_err(std::io::Error::other)?;
    // The SETTINGS are read by the connection's task; they come within the first round trip.
    let started = Instant::now();
    while !client.is_extended_connect_protocol_enabled() {
        if started.elapsed() > Duration::from_secs(1) {
            return Err(std::io::Error::other(
                "the server does not allow extended CONNECT",
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut request = http::Request::connect(format!("http://{addr}/"))
        .header("sec-websocket-version", "13")
        .body(())
        .map_err(std::io::Error::other)?;
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, send) = client
        .send_request(request, false)
        .map_err(std::io::Error::other)?;
    let response = response.await.map_err(std::io::Error::other)?;
    if response.status() != http::StatusCode::OK {
        let status = response.status();
        return Err(std::io::Error::other(format!("no WebSocket: {status}")));
    }
    Ok(Conn::Http2 {
        send,
        recv: response.into_body(),
        _client: client,
    })
}

/// Opens `n` connections, a few at a time.
pub(crate) async fn connect_many(addr: &str, kind: Kind, n: usize) -> std::io::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let batch = (n - conns.len()).min(256);
        let mut tasks = Vec::with_capacity(batch);
        for _ in 0..batch {
            let addr = addr.to_owned();
            tasks.push(tokio::spawn(async move { connect(&addr, kind).await }));
        }
        for task in tasks {
            conns.push(task.await.expect("connect task")?);
        }
    }
    Ok(conns)
}

/// What each connection sends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Load {
    pub(crate) size: usize,
    pub(crate) text: bool,
    pub(crate) in_flight: usize,
}

/// How many different messages a connection with permessage-deflate cycles through: were
/// it to send one message again and again, a compressor with context takeover would find
/// each whole in its window, and the cells would measure that instead of compression.
const VARIANTS: usize = 64;

/// The frames a connection sends, in turn: one frame, or, compressed, [`VARIANTS`]
/// different ones. Made once per run, not per connection: compressing is slow.
pub(crate) fn frames_for(load: Load, compressed: bool) -> Arc<Vec<Bytes>> {
    let frames = if compressed {
        (0..VARIANTS)
            .map(|v| Bytes::from(client_frame(load.size, load.text, Some(v))))
            .collect()
    } else {
        vec![Bytes::from(client_frame(load.size, load.text, None))]
    };
    Arc::new(frames)
}

/// A masked client frame carrying `size` bytes: ASCII letters, or, for `variant`, JSON chat
/// lines (from a different line for each variant), compressed.
fn client_frame(size: usize, text: bool, variant: Option<usize>) -> Vec<u8> {
    const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
    let opcode = if text { 0x81 } else { 0x82 };
    let payload: Vec<u8> = match variant {
        Some(v) => deflated(&swell_benches::chat_lines_from(v * 1009, size)),
        None => (0..size).map(|i| b'a' + (i % 26) as u8).collect(),
    };
    // RSV1 marks a compressed message (RFC 7692 §6).
    let mut out = vec![if variant.is_some() {
        opcode | 0x40
    } else {
        opcode
    }];
    let size = payload.len();
    match size {
        0..=125 => out.push(0x80 | size as u8),
        126..=65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&KEY);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    out
}

/// `payload` as one permessage-deflate message from a fresh stream: raw DEFLATE with a sync
/// flush, its empty-block tail removed (RFC 7692 §7.2.1). A message that refers only to
/// itself inflates whatever the receiver's window holds, so the same frame can be sent again
/// and again, with or without context takeover.
fn deflated(payload: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut compressor = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() + 64);
    compressor
        .compress_vec(payload, &mut out, FlushCompress::Sync)
        .expect("compress");
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]), "the sync flush's tail");
    out.truncate(out.len() - 4);
    out
}

/// Counts complete messages in the server's unmasked frames, without keeping payloads.
#[derive(Default)]
struct Frames {
    header: Vec<u8>,
    payload_left: u64,
    fin_data: bool,
}

impl Frames {
    fn feed(&mut self, mut data: &[u8]) -> usize {
        let mut done = 0;
        while !data.is_empty() {
            if self.payload_left > 0 {
                let take = (self.payload_left as usize).min(data.len());
                data = &data[take..];
                self.payload_left -= take as u64;
                if self.payload_left == 0 && self.fin_data {
                    done += 1;
                }
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            if self.header.len() < 2 {
                continue;
            }
            let need = match self.header[1] & 0x7f {
                126 => 4,
                127 => 10,
                _ => 2,
            };
            if self.header.len() < need {
                continue;
            }
            let len = match need {
                2 => u64::from(self.header[1] & 0x7f),
                4 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                _ => u64::from_be_bytes(self.header[2..10].try_into().expect("8 bytes")),
            };
            let opcode = self.header[0] & 0x0f;
            // Data frames and continuations count when final; control frames do not.
            self.fin_data = self.header[0] & 0x80 != 0 && opcode < 8;
            self.header.clear();
            self.payload_left = len;
            if len == 0 && self.fin_data {
                done += 1;
            }
        }
        done
    }
}

/// Drives one connection: keeps `in_flight` messages outstanding until `stop`, counting
/// echoes in `count`, then collects the outstanding echoes so the connection is quiet again.
async fn drive(
    mut conn: Conn,
    load: Load,
    frames_to_send: Arc<Vec<Bytes>>,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) -> std::io::Result<Conn> {
    let mut next = Sender::new(&frames_to_send, load.in_flight);
    let frame_len = frames_to_send[0].len();
    // The raw echo returns exactly what it got: count client frames' worth of bytes.
    let mut raw_bytes = 0usize;
    let mut frames = Frames::default();
    let mut buf = vec![0; (load.size + 64).clamp(16 * 1024, 256 * 1024)];
    let raw = conn.is_raw();
    conn.write(next.take(load.in_flight)).await?;
    let mut outstanding = load.in_flight;
    while outstanding > 0 {
        let chunk = conn.read(&mut buf).await?;
        if chunk.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let done = if raw {
            raw_bytes += chunk.len();
            let done = raw_bytes / frame_len;
            raw_bytes %= frame_len;
            done
        } else {
            frames.feed(&chunk)
        };
        drop(chunk);
        if done == 0 {
            continue;
        }
        count.fetch_add(done as u64, Ordering::Relaxed);
        outstanding -= done;
        if !stop.load(Ordering::Relaxed) {
            conn.write(next.take(done)).await?;
            outstanding += done;
        }
    }
    Ok(conn)
}

/// The next frames to send: slices of one repeated frame, or copies of variants in turn.
struct Sender<'a> {
    frames: &'a [Bytes],
    /// One frame repeated for the most in flight, when there is a single frame.
    repeated: Bytes,
    turn: usize,
}

impl<'a> Sender<'a> {
    fn new(frames: &'a [Bytes], in_flight: usize) -> Self {
        let repeated = match frames {
            [one] => Bytes::from(one.repeat(in_flight)),
            _ => Bytes::new(),
        };
        Self {
            frames,
            repeated,
            turn: 0,
        }
    }

    /// The next `n` frames, in one buffer.
    fn take(&mut self, n: usize) -> Bytes {
        if let [one] = self.frames {
            return self.repeated.slice(..n * one.len());
        }
        let mut out = Vec::new();
        for _ in 0..n {
            out.extend_from_slice(&self.frames[self.turn % self.frames.len()]);
            self.turn += 1;
        }
        Bytes::from(out)
    }
}

/// The result of one measured run.
pub(crate) struct Run {
    pub(crate) messages: u64,
    pub(crate) seconds: f64,
    pub(crate) server_cpu: f64,
}

/// Runs `load` on `conns` for `warmup` and then `window`, measuring messages and the
/// server's CPU time in the window. Returns the connections, quiet, for the next run.
pub(crate) async fn run(
    conns: Vec<Conn>,
    load: Load,
    warmup: Duration,
    window: Duration,
    server_pid: u32,
) -> std::io::Result<(Vec<Conn>, Run)> {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let frames = frames_for(load, conns.first().is_some_and(Conn::is_compressed));
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let (frames, stop, count) = (frames.clone(), stop.clone(), count.clone());
            tokio::spawn(drive(conn, load, frames, stop, count))
        })
        .collect();
    tokio::time::sleep(warmup).await;
    let cpu_start = crate::cpu_seconds(server_pid);
    let count_start = count.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    tokio::time::sleep(window).await;
    let messages = count.load(Ordering::Relaxed) - count_start;
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu = crate::cpu_seconds(server_pid) - cpu_start;
    stop.store(true, Ordering::Relaxed);
    let mut conns = Vec::with_capacity(tasks.len());
    for task in tasks {
        conns.push(task.await.expect("load task")?);
    }
    Ok((
        conns,
        Run {
            messages,
            seconds,
            server_cpu,
        },
    ))
}

/// Sends one message of `size` bytes on each connection and waits for its echo, `parallel`
/// connections at a time.
pub(crate) async fn echo_once(
    conns: Vec<Conn>,
    size: usize,
    parallel: usize,
) -> std::io::Result<Vec<Conn>> {
    let load = Load {
        size,
        text: false,
        in_flight: 1,
    };
    let stop = Arc::new(AtomicBool::new(true));
    let count = Arc::new(AtomicU64::new(0));
    let frames = frames_for(load, conns.first().is_some_and(Conn::is_compressed));
    let mut out = Vec::with_capacity(conns.len());
    let mut conns = conns.into_iter();
    loop {
        let tasks: Vec<_> = conns
            .by_ref()
            .take(parallel)
            .map(|conn| {
                let (frames, stop, count) = (frames.clone(), stop.clone(), count.clone());
                tokio::spawn(drive(conn, load, frames, stop, count))
            })
            .collect();
        if tasks.is_empty() {
            return Ok(out);
        }
        for task in tasks {
            out.push(task.await.expect("echo task")?);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_counted_across_reads() {
        let mut frames = Frames::default();
        let mut stream = Vec::new();
        for size in [0usize, 5, 125, 126, 70_000] {
            stream.push(0x82);
            match size {
                0..=125 => stream.push(size as u8),
                126..=65535 => {
                    stream.push(126);
                    stream.extend_from_slice(&(size as u16).to_be_bytes());
                }
                _ => {
                    stream.push(127);
                    stream.extend_from_slice(&(size as u64).to_be_bytes());
                }
            }
            stream.extend(std::iter::repeat_n(0, size));
        }
        // A pong in the middle does not count.
        stream.extend_from_slice(&[0x8a, 0x00]);
        let mut done = 0;
        for chunk in stream.chunks(7) {
            done += frames.feed(chunk);
        }
        assert_eq!(done, 5);
    }
}
