//! The echo servers under test, each the obvious echo loop its crate documents, on one
//! current-thread tokio runtime. Errors end a connection quietly: the load generator hangs up
//! without a closing handshake at the end of a run.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The servers, by the name the command line and the table use.
pub(crate) const SERVERS: &[&str] = &[
    "swell",
    "swell-send",
    "swell-hyper",
    "swell-hyper-h2",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "raw-tcp",
];

/// References for what keepalive costs, not in the default run (`--servers` takes them):
/// `raw-tcp-timer` is the raw TCP echo in a runtime that holds one far-off tokio timer, as
/// every server with a timeout of its own does (tokio then parks with a timeout);
/// `swell-send-no-keepalive` is `swell-send` with [`swell::Config::ping_interval`] off.
pub(crate) const REFERENCE_SERVERS: &[&str] = &["raw-tcp-timer", "swell-send-no-keepalive"];

/// The servers with permessage-deflate: swell, one per preset of
/// `swell_benches::deflate_presets` (named `swell-deflate-PRESET`), and yawc. Not in the
/// default run (`--servers` takes them); the load negotiates deflate with them as a browser
/// does and sends every message compressed.
pub(crate) const DEFLATE_SERVERS: &[&str] = &[
    "swell-deflate-default",
    "swell-deflate-no-context-takeover",
    "swell-deflate-context-takeover",
    "swell-deflate-context-takeover-12",
    "yawc-deflate",
];

/// The preset a deflate server runs, by name.
fn deflate_preset(kind: &str) -> Option<swell::DeflateConfig> {
    let name = kind.strip_prefix("swell-deflate-")?;
    swell_benches::deflate_presets()
        .into_iter()
        .find_map(|(preset, config)| (preset == name).then_some(config))
}

/// Serves `kind` on `listener` until the process is killed.
pub(crate) async fn serve(kind: &str, listener: TcpListener) -> std::io::Result<()> {
    if kind == "raw-tcp-timer" {
        // Outlives every run; it is there only to be in tokio's timer wheel.
        let day = std::time::Duration::from_secs(24 * 3600);
        drop(tokio::spawn(tokio::time::sleep(day)));
    }
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        match kind {
            "swell" => drop(tokio::spawn(swell(stream, Loop::Feed))),
            "swell-send" => drop(tokio::spawn(swell(stream, Loop::Send))),
            "swell-send-no-keepalive" => drop(tokio::spawn(swell_no_keepalive(stream))),
            "swell-hyper" => drop(tokio::spawn(hyper_connection(stream, false))),
            "swell-hyper-h2" => drop(tokio::spawn(hyper_h2_connection(stream))),
            "fastwebsockets" => drop(tokio::spawn(hyper_connection(stream, true))),
            "tokio-tungstenite" => drop(tokio::spawn(tungstenite(stream))),
            "tokio-websockets" => drop(tokio::spawn(tokio_websockets(stream))),
            "raw-tcp" | "raw-tcp-timer" => drop(tokio::spawn(raw(stream))),
            "yawc-deflate" => drop(tokio::spawn(yawc_connection(stream))),
            other => match deflate_preset(other) {
                Some(preset) => drop(tokio::spawn(swell_deflate(stream, preset))),
                None => panic!("unknown server {other}"),
            },
        }
    }
}

/// How a swell server answers each message.
#[derive(Clone, Copy)]
enum Loop {
    /// `feed`: replies wait until `recv` has handed out everything one read brought.
    Feed,
    /// `send`: each reply is written before the next message is received.
    Send,
}

async fn swell(stream: TcpStream, how: Loop) {
    let Ok(mut ws) = swell::accept(stream).await else {
        return;
    };
    swell_echo(&mut ws, how).await;
}

async fn swell_no_keepalive(stream: TcpStream) {
    let config = swell::Config::default().ping_interval(None);
    let Ok(mut ws) = swell::accept_with(stream, config, |_| Ok(swell::Accept::new())).await else {
        return;
    };
    swell_echo(&mut ws, Loop::Send).await;
}

async fn swell_deflate(stream: TcpStream, preset: swell::DeflateConfig) {
    let config = swell::Config::default().deflate(preset);
    // Matched at once: a `Result` bound to a name would keep a second `WebSocket`'s room in
    // the task.
    let Ok(mut ws) = swell::accept_with(stream, config, |_| Ok(swell::Accept::new())).await else {
        return;
    };
    swell_echo(&mut ws, Loop::Feed).await;
}

/// Borrows the connection rather than taking it: a `WebSocket` moved into the future of a
/// call that is awaited keeps its place in the caller's future too, and the task of every
/// connection would hold it twice.
async fn swell_echo<S>(ws: &mut swell::WebSocket<S>, how: Loop)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = ws.recv().await {
        if !message.is_data() {
            continue;
        }
        let sent = match how {
            Loop::Feed => ws.feed(message).await,
            Loop::Send => ws.send(message).await,
        };
        if sent.is_err() {
            break;
        }
    }
}

/// A hyper HTTP/1 connection with upgrades, upgrading to swell-hyper or fastwebsockets.
async fn hyper_connection(stream: TcpStream, fast: bool) {
    let service = service_fn(move |request| async move {
        Ok::<_, Infallible>(if fast {
            fastwebsockets_upgrade(request)
        } else {
            swell_hyper_upgrade(request)
        })
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

/// A hyper HTTP/2 connection (h2c, prior knowledge) that allows extended CONNECT: each
/// WebSocket is a stream of it, upgraded by the same swell-hyper call as over HTTP/1.1.
async fn hyper_h2_connection(stream: TcpStream) {
    let service =
        service_fn(|request| async move { Ok::<_, Infallible>(swell_hyper_upgrade(request)) });
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .enable_connect_protocol()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn swell_hyper_upgrade(mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    match swell_hyper::upgrade(&mut request, swell::Config::default()) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                let Ok(mut ws) = upgrading.await else { return };
                swell_echo(&mut ws, Loop::Feed).await;
            });
            response
        }
        Err(rejection) => rejection.into_http_response(),
    }
}

fn fastwebsockets_upgrade(mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    use fastwebsockets::{FragmentCollector, OpCode};
    let Ok((response, upgrading)) = fastwebsockets::upgrade::upgrade(&mut request) else {
        let mut response = Response::new(Full::default());
        *response.status_mut() = http::StatusCode::BAD_REQUEST;
        return response;
    };
    tokio::spawn(async move {
        let Ok(ws) = upgrading.await else { return };
        let mut ws = FragmentCollector::new(ws);
        while let Ok(frame) = ws.read_frame().await {
            let data = matches!(frame.opcode, OpCode::Text | OpCode::Binary);
            if frame.opcode == OpCode::Close || (data && ws.write_frame(frame).await.is_err()) {
                break;
            }
        }
    });
    response.map(|_: Empty<Bytes>| Full::default())
}

/// yawc behind hyper's HTTP/1 server, its documented server path, with its balanced
/// compression (level 6, context takeover both ways: swell's `context_takeover()`).
async fn yawc_connection(stream: TcpStream) {
    let service = service_fn(|mut request: Request<Incoming>| async move {
        let options = yawc::Options::default().with_balanced_compression();
        let Ok((response, upgrading)) =
            yawc::WebSocket::upgrade_with_options(&mut request, options)
        else {
            let mut response = Response::new(Full::<Bytes>::default());
            *response.status_mut() = http::StatusCode::BAD_REQUEST;
            return Ok::<_, Infallible>(response);
        };
        tokio::spawn(async move {
            let Ok(mut ws) = upgrading.await else { return };
            while let Some(frame) = ws.next().await {
                let data = matches!(frame.opcode(), yawc::OpCode::Text | yawc::OpCode::Binary);
                if frame.opcode() == yawc::OpCode::Close || (data && ws.send(frame).await.is_err())
                {
                    break;
                }
            }
        });
        Ok(response.map(|_: Empty<Bytes>| Full::default()))
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

async fn tungstenite(stream: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn tokio_websockets(stream: TcpStream) {
    let Ok((_, mut ws)) = tokio_websockets::ServerBuilder::new().accept(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

/// The physical reference: bytes back as they come, no WebSocket.
async fn raw(mut stream: TcpStream) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
