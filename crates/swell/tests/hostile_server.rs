//! A malicious server against our client. Each server here is scripted by hand over TCP to
//! do one thing a hostile peer can do; each case must end with the right error or close
//! code, in memory bounded by the client's limits, with the client's side of the connection
//! closed. The cases run one at a time: the binary counts every allocation of the process.

mod common;

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use common::counting::{Counting, peak, reset_peak};
use common::read_request;
use flate2::{Compress, Compression, FlushCompress};
use swell::handshake::ResponseError;
use swell::{ClientBuilder, CloseCode, Config, ConnectError, DeflateConfig, Error, ProtocolError};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One case at a time, each on a fresh runtime, so that the allocation peak is its own.
fn run<F: Future>(paused: bool, case: impl FnOnce() -> F) -> F::Output {
    static SERIAL: Mutex<()> = Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .unwrap();
    runtime.block_on(case())
}

/// A server for one connection: reads the request head and hands the stream and the
/// `Sec-WebSocket-Accept` value for its key to `script`. Returns the URL to connect to.
async fn hostile<F, Fut>(script: F) -> (String, JoinHandle<()>)
where
    F: FnOnce(TcpStream, String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let accept = read_request(&mut stream).await;
        script(stream, accept).await;
    });
    (url, server)
}

/// A 101 that completes the handshake, with `extra` header lines.
fn switching(accept: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// The end of the stream as the server sees it: the client closed its side.
async fn client_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest));
    // A reset after unread data is an end too.
    let _ = read.await.expect("the client closed the connection");
}

/// Connects to `url` with `config`, expects the first `recv` to fail with 1009 for `limit`
/// and the connection to end, and returns how much memory grew at the most meanwhile.
async fn fails_over_the_limit(
    url: &str,
    config: Config,
    limit: usize,
    server: JoinHandle<()>,
) -> usize {
    let (mut ws, _) = ClientBuilder::new(url)
        .unwrap()
        .config(config)
        .connect()
        .await
        .unwrap();
    let before = reset_peak();
    let got = ws.recv().await;
    assert!(
        matches!(
            got,
            Some(Err(Error::Protocol(ProtocolError::MessageTooLarge { max }))) if max == limit
        ),
        "{got:?}"
    );
    drop(ws);
    server.await.unwrap();
    peak() - before
}

/// Reads the client's Close frame (masked) and returns its code.
async fn close_code(stream: &mut TcpStream) -> u16 {
    let mut frame = [0; 8];
    stream.read_exact(&mut frame).await.unwrap();
    assert_eq!(frame[0], 0x88, "a Close frame");
    assert!(frame[1] & 0x80 != 0, "masked, from a client");
    u16::from_be_bytes([frame[6] ^ frame[2], frame[7] ^ frame[3]])
}

/// Writes `chunk` again and again until `total` bytes are written or the client stops
/// taking them.
async fn flood(stream: &mut (impl AsyncWrite + Unpin), chunk: &[u8], total: usize) {
    let mut written = 0;
    while written < total {
        if stream.write_all(chunk).await.is_err() {
            return;
        }
        written += chunk.len();
    }
}

#[test]
fn an_endless_response_head_stops_at_the_head_limit() {
    // Header lines without end, and then a status line without end. Whichever head limit a
    // read passes first ends it: 16 KiB, or 64 header fields.
    for endless in [
        &b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"[..],
        &[b'a'; 64],
    ] {
        let grown = run(false, || async move {
            let (url, server) = hostile(move |mut stream, _| async move {
                stream
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\n")
                    .await
                    .unwrap();
                flood(&mut stream, endless, 64 << 20).await;
                client_closed(&mut stream).await;
            })
            .await;
            let before = reset_peak();
            let result = swell::connect(&url).await;
            assert!(
                matches!(
                    result,
                    Err(ConnectError::Response(
                        ResponseError::HeadTooLarge | ResponseError::TooManyHeaders
                    ))
                ),
                "{result:?}"
            );
            drop(result);
            server.await.unwrap();
            peak() - before
        });
        assert!(grown < 256 << 10, "{grown} bytes for a 16 KiB head limit");
    }
}

#[test]
fn a_response_that_drips_stops_at_the_handshake_timeout() {
    run(true, || async {
        let (url, server) = hostile(|mut stream, _| async move {
            for byte in b"HTTP/1.1 101 Switching Protocols\r\n".iter().cycle() {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
        .await;
        let config = Config::default().handshake_timeout(Duration::from_secs(3));
        let started = Instant::now();
        let result = ClientBuilder::new(&url)
            .unwrap()
            .config(config)
            .connect()
            .await;
        assert!(matches!(result, Err(ConnectError::Timeout)), "{result:?}");
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(4));
        // The dripping server finds the connection closed at its next byte.
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the client closed the connection")
            .unwrap();
    });
}

#[test]
fn an_extension_or_subprotocol_the_client_did_not_offer_fails_the_handshake() {
    for (extra, wanted) in [
        (
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            ResponseError::Extension("permessage-deflate".into()),
        ),
        ("Sec-WebSocket-Protocol: chat\r\n", ResponseError::Protocol),
    ] {
        run(false, || async move {
            let (url, server) = hostile(move |mut stream, accept| async move {
                stream.write_all(&switching(&accept, extra)).await.unwrap();
                client_closed(&mut stream).await;
            })
            .await;
            let result = swell::connect(&url).await;
            match result {
                Err(ConnectError::Response(e)) => assert_eq!(e, wanted),
                other => panic!("{other:?}"),
            }
            server.await.unwrap();
        });
    }
}

#[test]
fn a_frame_length_of_2_63_minus_1_fails_with_1009_before_anything_is_allocated() {
    let grown = run(false, || async {
        let (url, server) = hostile(|mut stream, accept| async move {
            let mut wire = switching(&accept, "");
            wire.extend_from_slice(&[0x82, 0x7F]);
            wire.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
            stream.write_all(&wire).await.unwrap();
            // It goes on sending what it claimed.
            let sender = tokio::spawn(async move {
                let chunk = vec![0; 64 << 10];
                flood(&mut stream, &chunk, 256 << 20).await;
                stream
            });
            let mut stream = sender.await.unwrap();
            client_closed(&mut stream).await;
        })
        .await;
        let before = reset_peak();
        let (mut ws, _) = swell::connect(&url).await.unwrap();
        let got = ws.recv().await;
        assert!(
            matches!(
                got,
                Some(Err(Error::Protocol(ProtocolError::MessageTooLarge { .. })))
            ),
            "{got:?}"
        );
        assert!(ws.recv().await.is_none());
        drop(ws);
        server.await.unwrap();
        peak() - before
    });
    assert!(grown < 1 << 20, "{grown} bytes");
}

#[test]
fn a_length_with_its_top_bit_set_fails_with_1002() {
    run(false, || async {
        let (url, server) = hostile(|mut stream, accept| async move {
            let mut wire = switching(&accept, "");
            wire.extend_from_slice(&[0x82, 0x7F]);
            wire.extend_from_slice(&u64::MAX.to_be_bytes());
            stream.write_all(&wire).await.unwrap();
            assert_eq!(
                close_code(&mut stream).await,
                CloseCode::PROTOCOL_ERROR.as_u16()
            );
            // The server closes TCP; the client waited for it.
            drop(stream);
        })
        .await;
        let (mut ws, _) = swell::connect(&url).await.unwrap();
        let got = ws.recv().await;
        assert!(
            matches!(
                got,
                Some(Err(Error::Protocol(ProtocolError::InvalidLength)))
            ),
            "{got:?}"
        );
        server.await.unwrap();
    });
}

/// A raw DEFLATE stream of `len` zero bytes, ended as RFC 7692 §7.2.1 sends a message: with
/// a sync flush whose four-byte tail is removed.
fn zeros_deflated(len: usize) -> Vec<u8> {
    let mut compress = Compress::new(Compression::best(), false);
    let zeros = vec![0; 1 << 20];
    let mut out = Vec::with_capacity(len / 500 + 1024);
    for _ in 0..len >> 20 {
        let mut input = &zeros[..];
        while !input.is_empty() {
            out.reserve(64 << 10);
            let before = compress.total_in();
            compress
                .compress_vec(input, &mut out, FlushCompress::None)
                .unwrap();
            input = &input[(compress.total_in() - before) as usize..];
        }
    }
    out.reserve(64 << 10);
    compress
        .compress_vec(&[], &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

#[test]
fn a_deflate_bomb_stops_at_the_message_limit() {
    const LIMIT: usize = 1 << 20;
    let bomb = zeros_deflated(256 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes compressed", bomb.len());
    let grown = run(false, || async move {
        let (url, server) = hostile(move |mut stream, accept| async move {
            let mut wire = switching(&accept, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
            // One binary frame with RSV1: 256 MiB once inflated.
            wire.extend_from_slice(&[0xC2, 0x7F]);
            wire.extend_from_slice(&(bomb.len() as u64).to_be_bytes());
            wire.extend_from_slice(&bomb);
            drop(bomb);
            stream.write_all(&wire).await.unwrap();
            assert_eq!(
                close_code(&mut stream).await,
                CloseCode::MESSAGE_TOO_BIG.as_u16()
            );
        })
        .await;
        let config = Config::default()
            .max_message_size(LIMIT)
            .deflate(DeflateConfig::default());
        fails_over_the_limit(&url, config, LIMIT, server).await
    });
    // The compressed frame is held whole (under 1 MiB), and inflation stops at the limit.
    assert!(grown < 8 * LIMIT, "{grown} bytes for a {LIMIT}-byte limit");
}

#[test]
fn a_fragment_flood_stops_at_the_message_limit() {
    const LIMIT: usize = 1 << 20;
    let grown = run(false, || async {
        let (url, server) = hostile(|mut stream, accept| async move {
            let mut wire = switching(&accept, "");
            wire.extend_from_slice(&[0x02, 0x01, b'x']);
            stream.write_all(&wire).await.unwrap();
            let mut fragment = vec![0x00, 0x7E, 0x03, 0xE8];
            fragment.extend_from_slice(&[b'y'; 1000]);
            let mut read = [0; 8];
            let (mut reader, mut writer) = stream.split();
            tokio::select! {
                // A million fragments of 1,000 bytes, a thousand times the limit.
                () = flood(&mut writer, &fragment, 1_000_000 * fragment.len()) => {}
                n = reader.read_exact(&mut read) => {
                    n.unwrap();
                    assert_eq!(read[0], 0x88);
                    let code = u16::from_be_bytes([read[6] ^ read[2], read[7] ^ read[3]]);
                    assert_eq!(code, CloseCode::MESSAGE_TOO_BIG.as_u16());
                    return;
                }
            }
            panic!("the flood was taken whole");
        })
        .await;
        let config = Config::default().max_message_size(LIMIT);
        fails_over_the_limit(&url, config, LIMIT, server).await
    });
    assert!(grown < 4 * LIMIT, "{grown} bytes for a {LIMIT}-byte limit");
}

#[test]
fn a_ping_flood_while_the_client_does_not_read_stays_bounded() {
    let grown = run(false, || async {
        let (url, server) = hostile(|mut stream, accept| async move {
            stream.write_all(&switching(&accept, "")).await.unwrap();
            // Pings with the longest payload, never reading the Pongs.
            let mut ping = vec![0x89, 125];
            ping.extend_from_slice(&[b'p'; 125]);
            let pings = ping.repeat(512);
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                flood(&mut stream, &pings, usize::MAX),
            )
            .await;
            // Then it holds the connection open, still not reading.
            std::future::pending::<()>().await;
        })
        .await;
        let (mut ws, _) = swell::connect(&url).await.unwrap();
        let before = reset_peak();
        // The client does not read for a while; the kernel's buffers fill, nothing else.
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Then it reads: every Ping queues a Pong the server never reads, so the client
        // stops reading once its write buffer limit is queued.
        let read = tokio::time::timeout(Duration::from_secs(3), async {
            while let Some(Ok(message)) = ws.recv().await {
                assert!(matches!(message, swell::Message::Ping(_)), "{message:?}");
            }
        })
        .await;
        assert!(read.is_err(), "the client waits for the server to read");
        let grown = peak() - before;
        drop(ws);
        server.abort();
        grown
    });
    // The write buffer limit (128 KiB) of Pongs and the read buffer: the flood fills every
    // read, so its room grows to 256 KiB, in an allocation that growing may double, the old
    // one held while what it holds moves over. Then change.
    assert!(grown < 3 << 19, "{grown} bytes");
}

#[test]
fn a_server_that_never_closes_after_the_close_is_left_after_the_close_timeout() {
    run(true, || async {
        let (url, server) = hostile(|mut stream, accept| async move {
            stream.write_all(&switching(&accept, "")).await.unwrap();
            assert_eq!(close_code(&mut stream).await, CloseCode::NORMAL.as_u16());
            // Answers the Close, then keeps the connection open and says nothing.
            stream.write_all(&[0x88, 0x02, 0x03, 0xE8]).await.unwrap();
            client_closed(&mut stream).await;
        })
        .await;
        let (mut ws, _) = swell::connect(&url).await.unwrap();
        let started = Instant::now();
        let peer = ws
            .close(Some(swell::CloseFrame::new(CloseCode::NORMAL, "")))
            .await
            .unwrap();
        assert_eq!(peer.unwrap().code, CloseCode::NORMAL);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(5) && took < Duration::from_secs(6),
            "the close timeout: {took:?}"
        );
        // The client shut its side down when it gave up, before it was dropped.
        server.await.unwrap();
        drop(ws);
    });
}
