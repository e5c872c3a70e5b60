//! WebSockets over HTTP/2 (RFC 8441) on real sockets, h2c with prior knowledge: a hyper
//! HTTP/2 server offering extended CONNECT and swell-hyper's `upgrade`, and
//! `Http2Connection` opening many WebSockets on one connection. One stream failed with 1002
//! leaves the others and the connection alive; a server without the setting is refused.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use swell::{ClientBuilder, CloseCode, Config, DeflateConfig, Message};
use swell_hyper::{ClientError, Http2Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bounds every wait, so that a bug fails the test instead of hanging the suite.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("finished in time")
}

/// An h2c server (HTTP/2 with prior knowledge) on loopback: WebSockets echo every data
/// message; any other request gets "page". Returns its address and how many TCP
/// connections it accepted.
async fn h2_server(connect_protocol: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::Relaxed);
            let mut server = http2::Builder::new(TokioExecutor::new());
            if connect_protocol {
                server.enable_connect_protocol();
            }
            tokio::spawn(async move {
                let _ = server
                    .serve_connection(TokioIo::new(tcp), service_fn(handle))
                    .await;
            });
        }
    });
    (addr, connections)
}

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !swell_hyper::is_upgrade_request(&request) {
        return Ok(Response::new(Full::from("page")));
    }
    assert_eq!(request.version(), Version::HTTP_2);
    let config = Config::default().deflate(DeflateConfig::default());
    match swell_hyper::upgrade(&mut request, config) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                let mut ws = upgrading.await.unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
            Ok(response)
        }
        Err(rejection) => Ok(rejection.into_http_response()),
    }
}

/// An extended CONNECT request for `url`, `:protocol` set, to send by hand.
fn extended_connect(url: &str) -> Request<Empty<Bytes>> {
    let (request, _) = ClientBuilder::new(url).unwrap().extended_connect();
    let mut request = request.map(|()| Empty::<Bytes>::new());
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    request
}

fn payload(len: usize, seed: usize) -> Bytes {
    (0..len).map(|i| ((i * 31 + seed) % 251) as u8).collect()
}

/// Ten WebSockets on one HTTP/2 connection at once, half with permessage-deflate, each
/// echoing 0 B to 16 MiB; then each closes, its stream ends, and the connection goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_websockets_on_one_connection() {
    let (addr, connections) = h2_server(true).await;
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let connection = bounded(Http2Connection::new(tcp)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..10 {
        let connection = connection.clone();
        let url = format!("ws://{addr}/socket/{n}");
        tasks.push(tokio::spawn(async move {
            let deflate = n % 2 == 0;
            let config = if deflate {
                Config::default().deflate(DeflateConfig::default())
            } else {
                Config::default()
            };
            let builder = ClientBuilder::new(&url).unwrap().config(config);
            let (mut ws, response) = connection.open(builder).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(ws.deflate().is_some(), deflate);
            for size in [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20] {
                let message = Message::binary(payload(size, n));
                ws.send(message.clone()).await.unwrap();
                let echoed = ws.recv().await.unwrap().unwrap();
                assert!(echoed == message, "stream {n}, {size} B");
                let text = Message::text("é".repeat(size / 2));
                ws.send(text.clone()).await.unwrap();
                assert!(
                    ws.recv().await.unwrap().unwrap() == text,
                    "stream {n}, text"
                );
            }
            let reply = ws.close(None).await.unwrap();
            assert_eq!(reply, None, "the server echoes a Close without a code");
        }));
    }
    for task in tasks {
        bounded(task).await.unwrap();
    }
    // The connection outlived its ten WebSockets: one more, and it is still one TCP
    // connection.
    let builder = ClientBuilder::new(&format!("ws://{addr}/again")).unwrap();
    let (mut ws, _) = bounded(connection.open(builder)).await.unwrap();
    ws.send("again").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("again"));
    assert_eq!(connections.load(Ordering::Relaxed), 1);
}

/// A stream whose client breaks the protocol (an unmasked frame) is failed with 1002 and
/// ended; the WebSocket beside it and the connection go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stream_failed_with_1002_while_the_others_go_on() {
    let (addr, _) = h2_server(true).await;
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    // A well-behaved WebSocket, open across the failure.
    let mut good_sender = sender.clone();
    tokio::time::sleep(Duration::from_millis(50)).await; // the server's SETTINGS
    let builder = ClientBuilder::new(&format!("ws://{addr}/good")).unwrap();
    let (mut good, _) = bounded(swell_hyper::handshake_http2(&mut good_sender, builder))
        .await
        .unwrap();
    good.send("before").await.unwrap();
    assert_eq!(good.recv().await.unwrap().unwrap(), Message::text("before"));

    // A raw stream, opened by hand, that sends an unmasked text frame.
    let request = extended_connect(&format!("ws://{addr}/bad"));
    let mut bad_sender = sender.clone();
    let mut response = bounded(bad_sender.send_request(request)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut raw = TokioIo::new(hyper::upgrade::on(&mut response).await.unwrap());
    raw.write_all(b"\x81\x02hi").await.unwrap();
    let mut close = Vec::new();
    bounded(raw.read_to_end(&mut close)).await.unwrap();
    // A Close with 1002, then the end of the stream.
    assert_eq!(close[0], 0x88, "{close:?}");
    assert_eq!(
        CloseCode::from(u16::from_be_bytes([close[2], close[3]])),
        CloseCode::PROTOCOL_ERROR
    );

    good.send("after").await.unwrap();
    assert_eq!(good.recv().await.unwrap().unwrap(), Message::text("after"));
    // The connection still serves plain requests too.
    let mut page_sender = sender.clone();
    let page = Request::builder()
        .method(Method::GET)
        .uri(format!("http://{addr}/"))
        .version(Version::HTTP_2)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = bounded(page_sender.send_request(page)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A server that does not allow extended CONNECT is refused before any stream is opened.
#[tokio::test]
async fn a_server_without_extended_connect_is_refused() {
    let (addr, _) = h2_server(false).await;
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let error = bounded(Http2Connection::new(tcp)).await.unwrap_err();
    assert!(
        matches!(error, ClientError::ExtendedConnectNotAllowed),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("does not allow extended CONNECT"),
        "{error}"
    );
}

/// Over HTTP/2 an extended CONNECT for another WebSocket version gets 426 from `upgrade`,
/// without HTTP/1.1's connection-specific fields.
#[tokio::test]
async fn an_extended_connect_for_another_version_gets_426() {
    let (addr, _) = h2_server(true).await;
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut request = extended_connect(&format!("ws://{addr}/"));
    request
        .headers_mut()
        .insert("sec-websocket-version", "8".parse().unwrap());
    let response = bounded(sender.send_request(request)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert!(response.headers().get("connection").is_none());
}
