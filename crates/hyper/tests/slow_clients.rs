//! The hyper examples are safe to expose: clients that drip their request head, or send
//! nothing, are dropped within their 10 s head timeout. Runs the example binaries that
//! `cargo test` builds beside this test (`cargo test --test slow_clients` alone does not
//! rebuild them).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The example's head timeout, and how much later than it a client may be dropped.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const MARGIN: Duration = Duration::from_secs(3);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example `name` on a free port; returns it with its address.
fn start_example(name: &str) -> (Server, String) {
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let binary = examples.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} (built by cargo test)",
        binary.display()
    );
    let mut child = Command::new(binary)
        .arg("127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    // `… listening on ws://ADDR` or `… on ws://ADDR/path`.
    let addr = line
        .trim()
        .rsplit("://")
        .next()
        .and_then(|url| url.split('/').next())
        .expect("the example says where it listens")
        .to_owned();
    (server, addr)
}

/// How a slow client behaves.
#[derive(Clone, Copy)]
enum Slow {
    /// An HTTP/1.1 head whose last header value never ends.
    Http1,
    /// The HTTP/2 connection preface, then no request at all.
    Http2,
    /// Nothing at all.
    Silent,
}

/// Connects and drips what `how` says, a byte every 300 ms; returns how long until the
/// server dropped the connection. Whatever the server sends meanwhile (its HTTP/2 settings,
/// a 408 Request Timeout) is read and ignored; an HTTP/1 answer other than 408 fails.
async fn drip(addr: String, how: Slow) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let bytes: Box<dyn Iterator<Item = u8> + Send> = match how {
        Slow::Http1 => Box::new(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .copied()
                .chain(std::iter::repeat(b'a')),
        ),
        Slow::Http2 => Box::new(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".iter().copied()),
        Slow::Silent => Box::new(std::iter::empty()),
    };
    let mut bytes = bytes.peekable();
    let mut answer = [0; 256];
    loop {
        tokio::select! {
            read = stream.read(&mut answer) => match read {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(n) => {
                    let answer = String::from_utf8_lossy(&answer[..n]);
                    assert!(
                        !answer.starts_with("HTTP/1.1") || answer.starts_with("HTTP/1.1 408"),
                        "answered {answer:?}"
                    );
                }
            },
            () = tokio::time::sleep(Duration::from_millis(300)), if bytes.peek().is_some() => {
                let byte = bytes.next().unwrap();
                if stream.write_all(&[byte]).await.is_err() {
                    return started.elapsed();
                }
            }
        }
    }
}

async fn all_dropped_within_the_head_timeout(example: &str) {
    let (_server, addr) = start_example(example);
    let kinds = [Slow::Http1, Slow::Http2, Slow::Silent];
    let clients: Vec<_> = (0..10)
        .map(|i| tokio::spawn(drip(addr.clone(), kinds[i % kinds.len()])))
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let dropped = tokio::time::timeout(HEAD_TIMEOUT + MARGIN, client)
            .await
            .unwrap_or_else(|_| {
                panic!("{example}: client {i} was still connected after {HEAD_TIMEOUT:?}")
            })
            .unwrap();
        assert!(
            dropped <= HEAD_TIMEOUT + MARGIN,
            "{example}: client {i}: {dropped:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hyper_echo_server_drops_ten_dripping_clients_within_the_head_timeout() {
    all_dropped_within_the_head_timeout("hyper_echo_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_drops_ten_dripping_clients_within_the_head_timeout() {
    all_dropped_within_the_head_timeout("axum").await;
}
