//! Serving one TCP connection with hyper-util's auto server (HTTP/1 and HTTP/2), upgrades
//! enabled, safe to expose: shared by the examples.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long a client may take to send a request head, from the moment it connects (and for
/// each later request on a kept-alive connection). A client that drips or idles is dropped.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The auto server with hyper's timer and a header read timeout (without a timer, hyper
/// enforces no header timeout at all), and extended CONNECT allowed on HTTP/2.
pub(crate) fn server() -> auto::Builder<TokioExecutor> {
    let mut server = auto::Builder::new(TokioExecutor::new());
    server
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    // WebSockets over HTTP/2 (RFC 8441): browsers open them on the connection they hold.
    server
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    server
}

/// Serves `stream` with `service` until the connection ends, upgrades included.
///
/// Until the first request arrives, the auto server is still reading the bytes that tell
/// HTTP/1 from HTTP/2, which no hyper timeout bounds; this bounds it with [`HEAD_TIMEOUT`].
#[allow(dead_code)] // the wss:// example serves its TLS streams with `serve`
pub(crate) async fn connection<S, B>(
    server: &auto::Builder<TokioExecutor>,
    stream: TcpStream,
    service: S,
) -> Result<(), Box<dyn Error + Send + Sync>>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    stream.set_nodelay(true)?;
    serve(server, stream, service).await
}

/// As [`connection`], over any stream: TLS over TCP, say.
pub(crate) async fn serve<IO, S, B>(
    server: &auto::Builder<TokioExecutor>,
    stream: IO,
    service: S,
) -> Result<(), Box<dyn Error + Send + Sync>>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let requested = Arc::new(AtomicBool::new(false));
    let seen = requested.clone();
    let service = service_fn(move |request| {
        seen.store(true, Ordering::Relaxed);
        service.call(request)
    });
    let connection = server.serve_connection_with_upgrades(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        () = tokio::time::sleep(HEAD_TIMEOUT) => {
            if !requested.load(Ordering::Relaxed) {
                return Ok(()); // dropped: the client sent no request in time
            }
            connection.await
        }
    }
}
