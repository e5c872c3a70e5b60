//! Connecting: the client side of the opening handshake, over TCP or a stream the caller
//! brings.

use bytes::{Buf, BytesMut};
use http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use swell_handshake::{ClientHandshake, is_secure, parse_response, write_request_head};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::Config;
use crate::error::ConnectError;
use crate::head;
use crate::rng;
use crate::upgrade::ClientUpgrade;
use crate::websocket::WebSocket;

/// The most of a refusal's body kept on [`ConnectError::Refused`].
const REFUSED_BODY_MAX: usize = 4096;
/// How long a refusal's body is waited for, within the handshake timeout.
const REFUSED_BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Connects to a `ws://` URL over TCP with the default [`Config`].
///
/// Returns the open connection and the server's 101 response.
///
/// # Errors
///
/// See [`ConnectError`]. For `wss://`, bring a TLS stream to [`ClientBuilder::handshake`].
///
/// # Cancel safety
///
/// Dropping the future abandons the connection attempt.
pub async fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response<()>), ConnectError> {
    ClientBuilder::new(url)?.connect().await
}

/// Builds a client connection: subprotocols, headers and settings, then
/// [`ClientBuilder::connect`] over TCP or [`ClientBuilder::handshake`] over any stream.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut ws, _response) = swell::ClientBuilder::new("ws://127.0.0.1:9001/chat")?
///     .protocol("chat")
///     .config(swell::Config::default().max_message_size(1 << 20))
///     .connect()
///     .await?;
/// ws.send("hello").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a ClientBuilder does nothing until it connects"]
pub struct ClientBuilder {
    handshake: ClientHandshake,
    config: Config,
}

impl ClientBuilder {
    /// A client for `url`, such as `ws://example.com/chat`. As in browsers (the WHATWG
    /// WebSocket standard), `http://` is taken as `ws://` and `https://` as `wss://`; any
    /// other scheme is refused.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Url`] or [`ConnectError::Uri`] if `url` is not a WebSocket URL.
    pub fn new(url: &str) -> Result<Self, ConnectError> {
        if !url.contains("://") {
            // `http::Uri` would read `example.com/chat` as a path, or fail to parse it.
            return Err(ConnectError::Uri(swell_handshake::InvalidUri::NoScheme));
        }
        let uri: Uri = url.parse().map_err(ConnectError::Url)?;
        Self::from_uri(uri)
    }

    /// A client for `uri`.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Uri`] if `uri` is not a WebSocket URI.
    pub fn from_uri(uri: Uri) -> Result<Self, ConnectError> {
        let handshake = ClientHandshake::new(uri, rng::nonce()).map_err(ConnectError::Uri)?;
        Ok(Self {
            handshake,
            config: Config::default(),
        })
    }

    /// Offers a subprotocol; offers keep the order they are added in.
    ///
    /// # Panics
    ///
    /// If `protocol` is not an HTTP token.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.handshake = self.handshake.protocol(protocol);
        self
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: HeaderValue) -> Self {
        self.handshake = self.handshake.origin(origin);
        self
    }

    /// Adds a header to the request, such as `Authorization`.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.handshake = self.handshake.header(name, value);
        self
    }

    /// Sets the connection's settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Opens a TCP connection to the URL's host and port (80 by default), with Nagle's
    /// algorithm off, and performs the handshake over it, all within the handshake timeout.
    ///
    /// # Errors
    ///
    /// See [`ConnectError`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the connection attempt.
    pub async fn connect(self) -> Result<(WebSocket<TcpStream>, Response<()>), ConnectError> {
        let uri = self.handshake.uri();
        if is_secure(uri) == Some(true) {
            return Err(ConnectError::TlsRequired);
        }
        let host = uri.host().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(80);
        let timeout = self.config.handshake_timeout;
        // Boxed, as in `handshake`.
        Box::pin(tokio::time::timeout(timeout, async move {
            let stream = match TcpStream::connect((host.as_str(), port)).await {
                Ok(stream) => stream,
                Err(error) => {
                    // An IPv6 literal goes back in brackets, as in the URL.
                    let address = if host.contains(':') {
                        format!("[{host}]:{port}")
                    } else {
                        format!("{host}:{port}")
                    };
                    return Err(ConnectError::Connect { address, error });
                }
            };
            stream.set_nodelay(true)?;
            self.run(stream).await
        }))
        .await
        .map_err(|_| ConnectError::Timeout)?
    }

    /// Performs the handshake over `stream`, which the caller opened: a TLS stream for
    /// `wss://`, a Unix socket, a proxy tunnel. Bounded by the handshake timeout.
    ///
    /// # Errors
    ///
    /// See [`ConnectError`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the handshake; the stream is dropped with it.
    pub async fn handshake<S>(self, stream: S) -> Result<(WebSocket<S>, Response<()>), ConnectError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let timeout = self.config.handshake_timeout;
        // The handshake's state is large and needed once: boxed, so that a task awaiting it
        // stays small for the whole life of its connection.
        Box::pin(tokio::time::timeout(timeout, self.run(stream)))
            .await
            .map_err(|_| ConnectError::Timeout)?
    }

    /// Splits the handshake for an HTTP client that sends the request itself (such as
    /// swell-hyper's): the upgrade request to send, with our subprotocol and
    /// permessage-deflate offers, and the [`ClientUpgrade`] that checks the response.
    pub fn upgrade(self) -> (Request<()>, ClientUpgrade) {
        let mut handshake = self.handshake;
        for offer in &self.config.deflate {
            handshake = handshake.extension(offer.offer());
        }
        let request = handshake.request();
        let upgrade = ClientUpgrade {
            handshake,
            config: self.config,
        };
        (request, upgrade)
    }

    async fn run<S>(self, mut stream: S) -> Result<(WebSocket<S>, Response<()>), ConnectError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (request, upgrade) = self.upgrade();
        let mut out = Vec::with_capacity(256);
        write_request_head(&request, &mut out);
        head::write_all(&mut stream, &out, &[]).await?;
        let mut buf = BytesMut::with_capacity(1024);
        let limits = upgrade.config.head;
        let parsed = head::read_head(&mut stream, &mut buf, limits.max_head_size, |b| {
            parse_response(b, &limits)
        })
        .await?;
        let (response, head_len) = parsed.map_err(ConnectError::Response)?;
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            // A refusal: keep what the server said, the start of its body included.
            buf.advance(head_len);
            let len = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let body = head::read_body_prefix(
                &mut stream,
                &mut buf,
                len,
                REFUSED_BODY_MAX,
                REFUSED_BODY_WAIT,
            )
            .await;
            return Err(ConnectError::Refused(Box::new(response.map(|()| body))));
        }
        let negotiated = upgrade
            .handshake
            .check_response(&response)
            .map_err(ConnectError::Response)?;
        let established = upgrade.negotiated(negotiated)?;
        Ok((
            established.into_websocket(stream, &buf[head_len..]),
            response,
        ))
    }
}
