//! An HTTP/2 client connection for WebSockets (RFC 8441): hyper's connection driven by a
//! task of its own, and the server's permission for extended CONNECT awaited before the
//! first WebSocket is asked for.

use std::pin::pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Response;
use http_body_util::Empty;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use swell::ClientBuilder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::HyperWebSocket;
use crate::client::{ClientError, handshake_http2};

/// How long a new connection waits for the server's SETTINGS to allow extended CONNECT:
/// they come first, within the connection's first round trip.
const SETTINGS_WAIT: Duration = Duration::from_secs(1);

/// An HTTP/2 client connection that opens WebSockets, each on a stream of its own
/// (RFC 8441), as many at once as the server allows.
///
/// ```no_run
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), Box<dyn std::error::Error>> {
/// let connection = swell_hyper::Http2Connection::new(tcp).await?;
/// let builder = || swell::ClientBuilder::new("ws://localhost:9000/chat");
/// let (mut first, _) = connection.open(builder()?).await?;
/// let (mut second, _) = connection.open(builder()?).await?; // the same TCP connection
/// first.send("hello").await?;
/// second.send("hello").await?;
/// # Ok(()) }
/// ```
///
/// The connection is driven by a spawned tokio task until every handle and WebSocket is
/// dropped, or the server ends it. A WebSocket that closes ends its stream only.
#[derive(Clone, Debug)]
pub struct Http2Connection {
    sender: http2::SendRequest<Empty<Bytes>>,
}

impl Http2Connection {
    /// Runs the HTTP/2 handshake on `stream` (TCP for `ws://`, TLS with ALPN `h2` for
    /// `wss://`; the connection's preface, not an upgrade), spawns its driver, and waits
    /// until the server allows extended CONNECT.
    ///
    /// # Errors
    ///
    /// [`ClientError::Hyper`] if the HTTP/2 handshake fails,
    /// [`ClientError::ExtendedConnectNotAllowed`] if the server's SETTINGS do not allow
    /// extended CONNECT within a second (hyper's server: without
    /// `enable_connect_protocol`).
    pub async fn new<S>(stream: S) -> Result<Self, ClientError>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(TokioIo::new(stream))
            .await?;
        let (allow, allowed) = watch::channel(false);
        // hyper runs the HTTP/2 connection on a task of its own, so the driver is not woken
        // when the server's SETTINGS arrive: it looks every few milliseconds until they allow
        // extended CONNECT or the wait is over, then only drives the connection.
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            loop {
                let looking = !*allow.borrow() && started.elapsed() < SETTINGS_WAIT;
                tokio::select! {
                    _ = connection.as_mut() => return,
                    _ = tick.tick(), if looking => {
                        if connection.is_extended_connect_protocol_enabled() {
                            allow.send_replace(true);
                        }
                    }
                }
            }
        });
        let mut allowed = allowed;
        match tokio::time::timeout(SETTINGS_WAIT, allowed.wait_for(|a| *a)).await {
            Ok(Ok(_)) => Ok(Self { sender }),
            _ => Err(ClientError::ExtendedConnectNotAllowed),
        }
    }

    /// Opens a WebSocket on a new stream, as `builder` says (URL, subprotocols, headers,
    /// deflate offers, settings): [`handshake_http2`] on this connection.
    ///
    /// # Errors
    ///
    /// As [`handshake_http2`].
    pub async fn open(
        &self,
        builder: ClientBuilder,
    ) -> Result<(HyperWebSocket, Response<()>), ClientError> {
        let mut sender = self.sender.clone();
        handshake_http2(&mut sender, builder).await
    }
}
