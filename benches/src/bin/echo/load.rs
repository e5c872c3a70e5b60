//! The load generator: plain TCP connections that speak just enough WebSocket to send
//! pre-masked frames and count the echoes, so that the load costs as little CPU as possible
//! and the same for every server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection to a server, past its handshake.
pub(crate) struct Conn {
    stream: TcpStream,
    /// Whether the server is a raw TCP echo (no WebSocket framing).
    raw: bool,
}

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Opens a connection and performs the opening handshake (none for raw TCP).
pub(crate) async fn connect(addr: &str, raw: bool) -> std::io::Result<Conn> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    if !raw {
        stream.write_all(REQUEST.as_bytes()).await?;
        let mut head = Vec::new();
        let mut byte = [0; 1];
        // Byte by byte, so that nothing behind the head is consumed; only at set-up.
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await? == 0 || head.len() > 4096 {
                return Err(std::io::Error::other("handshake failed"));
            }
            head.push(byte[0]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            let head = String::from_utf8_lossy(&head);
            return Err(std::io::Error::other(format!("no upgrade: {head}")));
        }
    }
    Ok(Conn { stream, raw })
}

/// Opens `n` connections, a few at a time.
pub(crate) async fn connect_many(addr: &str, raw: bool, n: usize) -> std::io::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let batch = (n - conns.len()).min(256);
        let mut tasks = Vec::with_capacity(batch);
        for _ in 0..batch {
            let addr = addr.to_owned();
            tasks.push(tokio::spawn(async move { connect(&addr, raw).await }));
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

/// A masked client frame carrying `size` bytes of ASCII.
fn client_frame(size: usize, text: bool) -> Vec<u8> {
    const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![if text { 0x81 } else { 0x82 }];
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
    out.extend((0..size).map(|i| (b'a' + (i % 26) as u8) ^ KEY[i % 4]));
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
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) -> std::io::Result<Conn> {
    let frame = client_frame(load.size, load.text);
    let batch = frame.repeat(load.in_flight);
    // The raw echo returns exactly what it got: count client frames' worth of bytes.
    let mut raw_bytes = 0usize;
    let mut frames = Frames::default();
    let mut buf = vec![0; (load.size + 64).clamp(16 * 1024, 256 * 1024)];
    conn.stream.write_all(&batch).await?;
    let mut outstanding = load.in_flight;
    while outstanding > 0 {
        let n = conn.stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let done = if conn.raw {
            raw_bytes += n;
            let done = raw_bytes / frame.len();
            raw_bytes %= frame.len();
            done
        } else {
            frames.feed(&buf[..n])
        };
        if done == 0 {
            continue;
        }
        count.fetch_add(done as u64, Ordering::Relaxed);
        outstanding -= done;
        if !stop.load(Ordering::Relaxed) {
            conn.stream.write_all(&batch[..done * frame.len()]).await?;
            outstanding += done;
        }
    }
    Ok(conn)
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
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| tokio::spawn(drive(conn, load, stop.clone(), count.clone())))
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
    let mut out = Vec::with_capacity(conns.len());
    let mut conns = conns.into_iter();
    loop {
        let tasks: Vec<_> = conns
            .by_ref()
            .take(parallel)
            .map(|conn| tokio::spawn(drive(conn, load, stop.clone(), count.clone())))
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
