//! swell-hyper on real sockets: upgrades through a hyper server (success, every rejection,
//! bytes sent right behind the request), and the client handshake through a hyper client
//! connection against swell's own server and against a hyper server.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_VERSION};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use swell::{Accept, AcceptError, ClientBuilder, Config, ConnectError, DeflateConfig, Message};
use swell_hyper::{ClientError, HyperWebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bounds every wait, so that a bug fails the test instead of hanging the suite.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("finished in time")
}

/// What the test server does with an upgrade request.
#[derive(Clone, Copy)]
enum Mode {
    /// Accept with the default config (no deflate), no subprotocol.
    Plain,
    /// Accept with deflate, choosing `chat` if offered.
    Chat,
    /// The callback rejects with 403.
    Forbidden,
    /// The callback chooses a subprotocol the client did not offer.
    WrongProtocol,
}

/// A hyper HTTP/1 server with upgrades on, echoing every data message of each WebSocket.
async fn hyper_server(mode: Mode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(move |request| handle(request, mode));
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    addr
}

async fn handle(
    mut request: Request<Incoming>,
    mode: Mode,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (config, callback): (Config, fn(&Request<Incoming>) -> _) = match mode {
        Mode::Plain => (Config::default(), |_| Ok(Accept::new())),
        Mode::Chat => (Config::default().deflate(DeflateConfig::default()), |r| {
            let offered = swell::offered_protocols(r);
            Ok(match offered.iter().find(|p| *p == "chat") {
                Some(p) => Accept::new().protocol(p.clone()),
                None => Accept::new(),
            })
        }),
        Mode::Forbidden => (Config::default(), |_| {
            let mut response = Response::new("go away\n".to_owned());
            *response.status_mut() = StatusCode::FORBIDDEN;
            Err(response)
        }),
        Mode::WrongProtocol => (Config::default(), |_| Ok(Accept::new().protocol("nope"))),
    };
    Ok(
        match swell_hyper::upgrade_with(&mut request, config, callback) {
            Ok((response, upgrading)) => {
                tokio::spawn(async move { echo(upgrading.await.unwrap()).await });
                response
            }
            Err(rejection) => rejection.into_http_response(),
        },
    )
}

async fn echo(mut ws: HyperWebSocket) {
    while let Some(Ok(message)) = ws.recv().await {
        if message.is_data() && ws.send(message).await.is_err() {
            break;
        }
    }
}

/// Sends `head` (and whatever follows it) on a fresh connection and reads until the server
/// closes or `until` has been seen.
async fn exchange(addr: &str, bytes: &[u8], until: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    bounded(async {
        let mut chunk = [0; 4096];
        while !out.windows(until.len()).any(|w| w == until) {
            let n = stream.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    out
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a client sends it: masked.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![b0, 0x80 | payload.len() as u8];
    out.extend_from_slice(&KEY);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    out
}

fn upgrade_request() -> http::request::Builder {
    Request::builder()
        .method(Method::GET)
        .uri("/chat")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
}

#[tokio::test]
async fn a_facade_client_upgrades_through_hyper_with_subprotocol_and_deflate() {
    let addr = hyper_server(Mode::Chat).await;
    let config = Config::default().deflate(DeflateConfig::default());
    let (mut ws, response) = bounded(
        ClientBuilder::new(&format!("ws://{addr}/chat"))
            .unwrap()
            .protocol("other")
            .protocol("chat")
            .config(config)
            .connect(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(ws.protocol(), Some("chat"));
    assert!(ws.has_extension(), "permessage-deflate was negotiated");
    let text = "hello through hyper ".repeat(100);
    ws.send(text.as_str()).await.unwrap();
    ws.send(Bytes::from_static(&[0, 1, 2, 3])).await.unwrap();
    assert_eq!(
        bounded(ws.recv()).await.unwrap().unwrap(),
        Message::text(text)
    );
    assert_eq!(
        bounded(ws.recv()).await.unwrap().unwrap(),
        Message::binary(Bytes::from_static(&[0, 1, 2, 3]))
    );
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn bytes_sent_right_behind_the_request_are_the_first_frames() {
    // The "eagerly optimistic" client: request, a text frame and a close in one write.
    let addr = hyper_server(Mode::Plain).await;
    let mut bytes =
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n").into_bytes();
    bytes.extend_from_slice(b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
    bytes.extend_from_slice(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    bytes.extend_from_slice(&masked(0x81, b"early"));
    bytes.extend_from_slice(&masked(0x88, &[0x03, 0xe8]));
    let out = exchange(&addr, &bytes, b"\x88\x02\x03\xe8").await;
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = std::str::from_utf8(&out[..head_end]).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    assert_eq!(&out[head_end..], b"\x81\x05early\x88\x02\x03\xe8");
}

#[tokio::test]
async fn a_rejection_reaches_the_client_over_hyper() {
    let addr = hyper_server(Mode::Plain).await;
    let bytes = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let out = exchange(&addr, bytes.as_bytes(), b"\n\n").await;
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 426 "), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{text}"
    );
}

#[test]
fn every_invalid_request_is_rejected_with_its_status() {
    let cases: Vec<(&str, Request<()>, StatusCode)> = vec![
        (
            "POST",
            upgrade_request().method(Method::POST).body(()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "HTTP/1.0",
            upgrade_request()
                .version(Version::HTTP_10)
                .body(())
                .unwrap(),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
        ),
        (
            "no Upgrade",
            {
                let mut r = upgrade_request().body(()).unwrap();
                r.headers_mut().remove("upgrade");
                r
            },
            StatusCode::UPGRADE_REQUIRED,
        ),
        (
            "Connection: keep-alive",
            {
                let mut r = upgrade_request().body(()).unwrap();
                let v = HeaderValue::from_static("keep-alive");
                r.headers_mut().insert("connection", v);
                r
            },
            StatusCode::BAD_REQUEST,
        ),
        (
            "no Host",
            {
                let mut r = upgrade_request().body(()).unwrap();
                r.headers_mut().remove("host");
                r
            },
            StatusCode::BAD_REQUEST,
        ),
        (
            "version 8",
            {
                let mut r = upgrade_request().body(()).unwrap();
                r.headers_mut()
                    .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
                r
            },
            StatusCode::UPGRADE_REQUIRED,
        ),
        (
            "short key",
            {
                let mut r = upgrade_request().body(()).unwrap();
                let v = HeaderValue::from_static("c2hvcnQ=");
                r.headers_mut().insert("sec-websocket-key", v);
                r
            },
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad extension grammar",
            {
                let mut r = upgrade_request().body(()).unwrap();
                let v = HeaderValue::from_static("permessage-deflate; =");
                r.headers_mut().insert(SEC_WEBSOCKET_EXTENSIONS, v);
                r
            },
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, mut request, status) in cases {
        let rejection = swell_hyper::upgrade(&mut request, Config::default())
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"));
        assert!(
            matches!(rejection.error(), AcceptError::Request(_)),
            "{name}: {rejection}"
        );
        assert_eq!(rejection.status(), status, "{name}");
        let response = rejection.into_http_response();
        assert_eq!(response.status(), status, "{name}");
        if status == StatusCode::UPGRADE_REQUIRED && name == "version 8" {
            assert_eq!(response.headers()[SEC_WEBSOCKET_VERSION], "13");
        }
    }
}

#[test]
fn callback_rejections_keep_their_status() {
    let mut request = upgrade_request().body(()).unwrap();
    let rejection = swell_hyper::upgrade_with(&mut request, Config::default(), |_| {
        let mut response = Response::new("members only\n".to_owned());
        *response.status_mut() = StatusCode::FORBIDDEN;
        Err(response)
    })
    .err()
    .unwrap();
    assert!(matches!(
        rejection.error(),
        AcceptError::Rejected(StatusCode::FORBIDDEN)
    ));
    assert_eq!(
        rejection.into_http_response().status(),
        StatusCode::FORBIDDEN
    );

    let mut request = upgrade_request().body(()).unwrap();
    let rejection = swell_hyper::upgrade_with(&mut request, Config::default(), |_| {
        Ok(Accept::new().protocol("never-offered"))
    })
    .err()
    .unwrap();
    assert!(matches!(rejection.error(), AcceptError::ProtocolNotOffered));
    assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn a_request_not_served_by_hyper_fails_to_upgrade() {
    // No `OnUpgrade` in the request: there is no connection to take over.
    let mut request = upgrade_request().body(()).unwrap();
    let (response, upgrading) = swell_hyper::upgrade(&mut request, Config::default()).unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert!(bounded(upgrading).await.is_err());
}

#[tokio::test]
async fn the_hyper_client_talks_to_the_facade_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let config = Config::default().deflate(DeflateConfig::default());
        let mut ws = swell::accept_with(stream, config, |r| {
            assert_eq!(r.uri().path(), "/room/7");
            assert_eq!(r.uri().query(), Some("x=1"));
            Ok(Accept::new().protocol("chat"))
        })
        .await
        .unwrap();
        while let Some(Ok(message)) = ws.recv().await {
            if message.is_data() {
                ws.send(message).await.unwrap();
            }
        }
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let builder = ClientBuilder::new(&format!("ws://{addr}/room/7?x=1"))
        .unwrap()
        .protocol("chat")
        .config(Config::default().deflate(DeflateConfig::default()));
    let (mut ws, response) = bounded(swell_hyper::connect(stream, builder))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(ws.protocol(), Some("chat"));
    assert!(ws.has_extension());
    let big = "x".repeat(100_000);
    ws.send(big.as_str()).await.unwrap();
    assert_eq!(
        bounded(ws.recv()).await.unwrap().unwrap(),
        Message::text(big)
    );
    let close = swell::CloseFrame::new(swell::CloseCode::NORMAL, "bye");
    let echoed = bounded(ws.close(Some(close.clone()))).await.unwrap();
    // The closing handshake ran to the end: the server echoed our Close and hung up.
    assert_eq!(echoed, Some(close));
    assert!(bounded(ws.recv()).await.is_none());
    bounded(server).await.unwrap();
}

#[tokio::test]
async fn the_hyper_client_talks_to_a_hyper_server_on_its_own_connection() {
    let addr = hyper_server(Mode::Chat).await;
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection.with_upgrades());
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .protocol("chat");
    let (mut ws, _) = bounded(swell_hyper::handshake(&mut sender, builder))
        .await
        .unwrap();
    assert_eq!(ws.protocol(), Some("chat"));
    assert!(!ws.has_extension(), "deflate was not offered");
    for n in [0, 125, 126, 65535, 65536] {
        let payload = Bytes::from(vec![n as u8; n]);
        ws.send(payload.clone()).await.unwrap();
        assert_eq!(
            bounded(ws.recv()).await.unwrap().unwrap(),
            Message::binary(payload)
        );
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn the_hyper_client_reports_a_refused_upgrade() {
    for (mode, status) in [
        (Mode::Forbidden, StatusCode::FORBIDDEN),
        (Mode::WrongProtocol, StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let addr = hyper_server(mode).await;
        let stream = TcpStream::connect(&addr).await.unwrap();
        let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
        let error = bounded(swell_hyper::connect(stream, builder))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(
                &error,
                ClientError::Handshake(ConnectError::Refused(r)) if r.status() == status
            ),
            "{error:?}"
        );
    }
}
