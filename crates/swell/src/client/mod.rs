//! Connecting: the client side of the opening handshake, over TCP (through a proxy, under
//! TLS) or a stream the caller brings.

mod proxy;
mod stream;
#[cfg(feature = "tls")]
mod tls;
mod tunnel;

pub use proxy::{Proxy, ProxyError};
pub use stream::MaybeTlsStream;

#[cfg(feature = "tls")]
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use swell_handshake::{ClientHandshake, is_secure, parse_response, write_request_head};
use tokio::io::{AsyncRead, AsyncWrite};

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

/// Connects to a `ws://` or `wss://` URL with the default [`Config`], and no proxy.
///
/// Returns the open connection and the server's 101 response. For `wss://` (with the `tls`
/// feature, on by default) the server's certificate must be valid for the URL's host and
/// vouched for by a root the platform trusts.
///
/// # Errors
///
/// See [`ConnectError`].
///
/// # Cancel safety
///
/// Dropping the future abandons the connection attempt.
pub async fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response<()>), ConnectError> {
    ClientBuilder::new(url)?.connect().await
}

/// Builds a client connection: subprotocols, headers, settings, proxy and TLS, then
/// [`ClientBuilder::connect`] over TCP (TLS for `wss://`) or [`ClientBuilder::handshake`]
/// over any stream.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut ws, _response) = swell::ClientBuilder::new("wss://example.com/chat")?
///     .protocol("chat")
///     .config(swell::Config::default().max_message_size(1 << 20))
///     .proxy_from_env()?
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
    proxy: Option<Proxy>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
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
            proxy: None,
            #[cfg(feature = "tls")]
            tls: None,
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

    /// Connects through `proxy` (see [`Proxy`]): the proxy opens a tunnel to the URL's host,
    /// and TLS, for `wss://`, runs inside it, end to end with the server.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Connects through the proxy the environment names for this URL, as curl reads it
    /// (see [`Proxy::from_env`]: `https_proxy`, `http_proxy`, `all_proxy`, `no_proxy` and
    /// their kin), or directly when it names none.
    ///
    /// Off unless asked for: a service's connections should go where its code says, not
    /// where a variable set for the shell's tools sends them. Interactive tools and
    /// clients that run on users' machines will want it.
    ///
    /// # Errors
    ///
    /// [`ConnectError::ProxyUrl`] when the variable that applies holds no proxy URL.
    pub fn proxy_from_env(mut self) -> Result<Self, ConnectError> {
        self.proxy = Proxy::from_env(self.handshake.uri())?;
        Ok(self)
    }

    /// The rustls configuration for `wss://`, in place of the default (the platform's
    /// roots, no client certificate, ALPN `http/1.1`): for client certificates, roots of
    /// your own, or a verifier that pins the server's key. It is used as it is; give its
    /// `alpn_protocols` `http/1.1` (or nothing), never `h2`, for the upgrade is HTTP/1.1.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Opens a TCP connection to the URL's host and port (80 for `ws://`, 443 for
    /// `wss://`), through the proxy if one is set, with Nagle's algorithm off; runs TLS
    /// over it for `wss://`, with the URL's host as the server name; and performs the
    /// handshake. All of it, name resolution included, within the handshake timeout.
    ///
    /// # Errors
    ///
    /// See [`ConnectError`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the connection attempt.
    pub async fn connect(self) -> Result<(WebSocket<MaybeTlsStream>, Response<()>), ConnectError> {
        let uri = self.handshake.uri();
        let secure = is_secure(uri) == Some(true);
        #[cfg(not(feature = "tls"))]
        if secure {
            return Err(ConnectError::TlsRequired);
        }
        let host = uri.host().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let timeout = self.config.handshake_timeout;
        // Boxed, as in `handshake`.
        Box::pin(tokio::time::timeout(timeout, async move {
            let tcp = tunnel::open(self.proxy.as_ref(), &host, port, &self.config.head).await?;
            let stream = match secure {
                #[cfg(feature = "tls")]
                true => tls::connect(self.tls.clone(), &host, tcp).await?,
                _ => MaybeTlsStream::Plain(tcp),
            };
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
        self.split(false)
    }

    /// As [`ClientBuilder::upgrade`], for a WebSocket over an HTTP/2 connection (RFC 8441):
    /// the extended CONNECT request to send on a new stream (set its `:protocol` to
    /// `websocket` through the HTTP/2 stack), and the [`ClientUpgrade`] that checks the 2xx
    /// answer.
    pub fn extended_connect(self) -> (Request<()>, ClientUpgrade) {
        self.split(true)
    }

    fn split(self, extended_connect: bool) -> (Request<()>, ClientUpgrade) {
        let mut handshake = self.handshake;
        for offer in &self.config.deflate {
            handshake = handshake.extension(offer.offer());
        }
        let request = if extended_connect {
            handshake.extended_connect_request()
        } else {
            handshake.request()
        };
        let upgrade = ClientUpgrade {
            handshake,
            config: self.config,
            extended_connect,
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
