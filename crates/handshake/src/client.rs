//! The client side: building the upgrade request (RFC 6455 §4.1) and checking the server's
//! response (§4.2.2, as the client must per §4.1).

use std::fmt;

use http::header::{
    CONNECTION, HOST, HeaderName, HeaderValue, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{HeaderMap, Request, Response, StatusCode, Uri};

use crate::grammar::{self, Extension, InvalidHeader};
use crate::http1::{self, HeadError, HeadLimits};
use crate::key;

/// A client's opening handshake: builds the request and checks the response against it.
///
/// ```
/// use swell_handshake::ClientHandshake;
///
/// let uri = "ws://example.com:9001/chat".parse()?;
/// let handshake = ClientHandshake::new(uri, [7; 16])?.protocol("chat");
/// let request = handshake.request();
/// assert_eq!(request.headers()["host"], "example.com:9001");
/// assert_eq!(request.headers()["sec-websocket-protocol"], "chat");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientHandshake {
    pub(crate) uri: Uri,
    key: HeaderValue,
    pub(crate) protocols: Vec<String>,
    pub(crate) extensions: Vec<Extension>,
    pub(crate) headers: HeaderMap,
}

/// A URI that cannot be the target of a WebSocket handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidUri {
    /// There is no scheme: a WebSocket URI is absolute.
    NoScheme,
    /// The scheme is not `ws` or `wss`, nor `http` or `https`, which the WHATWG WebSocket
    /// standard maps to them.
    Scheme(String),
    /// There is no host.
    Host,
    /// The URI has a fragment, which RFC 6455 §3 forbids.
    Fragment,
}

impl fmt::Display for InvalidUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoScheme => "the URL has no scheme; a WebSocket URL starts with ws:// or wss://",
            Self::Scheme(scheme) => {
                return write!(
                    f,
                    "unsupported URL scheme {scheme:?}: a WebSocket URL starts with ws:// or \
                     wss:// (http:// and https:// are taken as ws:// and wss://)"
                );
            }
            Self::Host => "the URL has no host",
            Self::Fragment => "a WebSocket URL may not have a fragment",
        })
    }
}

impl std::error::Error for InvalidUri {}

/// Whether the scheme is a secure one (`wss` or `https`); `None` if it is not a WebSocket or
/// HTTP scheme.
pub fn is_secure(uri: &Uri) -> Option<bool> {
    match uri.scheme_str()? {
        s if s.eq_ignore_ascii_case("ws") || s.eq_ignore_ascii_case("http") => Some(false),
        s if s.eq_ignore_ascii_case("wss") || s.eq_ignore_ascii_case("https") => Some(true),
        _ => None,
    }
}

impl ClientHandshake {
    /// A handshake for `uri` whose key is made from `nonce`, 16 bytes that must be chosen at
    /// random for each connection (RFC 6455 §4.1).
    ///
    /// # Errors
    ///
    /// [`InvalidUri`] if `uri` is not an absolute `ws`/`wss` URI with a host.
    pub fn new(uri: Uri, nonce: [u8; 16]) -> Result<Self, InvalidUri> {
        match uri.scheme_str() {
            None => return Err(InvalidUri::NoScheme),
            Some(scheme) if is_secure(&uri).is_none() => {
                return Err(InvalidUri::Scheme(scheme.to_owned()));
            }
            Some(_) => {}
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(InvalidUri::Host);
        }
        // `http::Uri` drops a fragment when parsing; a literal '#' in the path survives.
        if uri
            .path_and_query()
            .is_some_and(|p| p.as_str().contains('#'))
        {
            return Err(InvalidUri::Fragment);
        }
        Ok(Self {
            uri,
            key: key::generate_key(nonce),
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: HeaderMap::new(),
        })
    }

    /// Offers a subprotocol; offers keep the order they are added in.
    ///
    /// # Panics
    ///
    /// If `protocol` is not an HTTP token.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        let protocol = protocol.into();
        assert!(
            grammar::is_token(&protocol),
            "subprotocol {protocol:?} is not a token"
        );
        self.protocols.push(protocol);
        self
    }

    /// Offers an extension; offers keep the order they are added in.
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Sends `Origin`, as browsers do.
    pub fn origin(self, origin: HeaderValue) -> Self {
        self.header(ORIGIN, origin)
    }

    /// Adds a header to the request, such as `Authorization`. Headers the handshake itself
    /// sets are replaced by the handshake's.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The URI the handshake targets.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &HeaderValue {
        &self.key
    }

    /// The request to send. Its URI is the request target in origin form, the path and
    /// query (RFC 9112 §3.2.1); the authority goes in `Host`. An HTTP client can send it as
    /// it is.
    pub fn request(&self) -> Request<()> {
        let mut request = Request::new(());
        *request.uri_mut() = match self.uri.path_and_query() {
            Some(target) if target.as_str().starts_with('/') => Uri::from(target.clone()),
            Some(target) => format!("/{target}")
                .parse()
                .unwrap_or_else(|_| Uri::from_static("/")),
            None => Uri::from_static("/"),
        };
        let mut headers = self.headers.clone();
        let host = match (self.uri.host(), self.uri.port_u16()) {
            (Some(host), Some(port)) if Some(port) != self.default_port() => {
                format!("{host}:{port}")
            }
            (host, _) => host.unwrap_or_default().to_owned(),
        };
        headers.insert(
            HOST,
            HeaderValue::try_from(host).expect("a URI host is a valid header value"),
        );
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_KEY, self.key.clone());
        self.insert_offers(&mut headers);
        *request.headers_mut() = headers;
        request
    }

    /// `Sec-WebSocket-Version: 13` and our subprotocol and extension offers.
    pub(crate) fn insert_offers(&self, headers: &mut HeaderMap) {
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        if !self.protocols.is_empty() {
            let list = self.protocols.join(", ");
            headers.insert(
                SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::try_from(list).expect("tokens make a valid header value"),
            );
        }
        if !self.extensions.is_empty() {
            headers.insert(
                SEC_WEBSOCKET_EXTENSIONS,
                grammar::format_extensions(&self.extensions),
            );
        }
    }

    fn default_port(&self) -> Option<u16> {
        Some(if is_secure(&self.uri)? { 443 } else { 80 })
    }

    /// Appends the request's HTTP/1.1 head to `dst`.
    pub fn write_request(&self, dst: &mut Vec<u8>) {
        http1::write_request_head(&self.request(), dst);
    }

    /// Reads the server's response head from the start of `src` and checks it.
    ///
    /// Returns `Ok(None)` while the head is incomplete; otherwise the response, what was
    /// negotiated, and the length of the head. Bytes after the head are WebSocket frames.
    ///
    /// # Errors
    ///
    /// See [`ClientHandshake::check_response`]; also the head's size and syntax.
    pub fn parse_response(
        &self,
        src: &[u8],
        limits: &HeadLimits,
    ) -> Result<Option<(Response<()>, Negotiated, usize)>, ResponseError> {
        let Some((response, len)) = http1::parse_response(src, limits)? else {
            return Ok(None);
        };
        let negotiated = self.check_response(&response)?;
        Ok(Some((response, negotiated, len)))
    }

    /// Checks a response against the request (RFC 6455 §4.1, the client's duties): status
    /// 101, `Upgrade: websocket`, `Connection: upgrade`, the right `Sec-WebSocket-Accept`, and
    /// a subprotocol and extensions among those offered.
    ///
    /// # Errors
    ///
    /// The first rule the response breaks.
    pub fn check_response<B>(&self, response: &Response<B>) -> Result<Negotiated, ResponseError> {
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            return Err(ResponseError::Status(response.status()));
        }
        let headers = response.headers();
        if !grammar::has_token(headers, UPGRADE, "websocket") {
            return Err(ResponseError::Upgrade);
        }
        if !grammar::has_token(headers, CONNECTION, "upgrade") {
            return Err(ResponseError::Connection);
        }
        let mut accepts = headers.get_all(SEC_WEBSOCKET_ACCEPT).iter();
        match (accepts.next(), accepts.next()) {
            (Some(accept), None) if *accept == key::accept_key(self.key.as_bytes()) => {}
            _ => return Err(ResponseError::Accept),
        }
        self.check_offers(headers)
    }

    /// The subprotocol and extensions of a response, checked against our offers.
    pub(crate) fn check_offers(&self, headers: &HeaderMap) -> Result<Negotiated, ResponseError> {
        let protocols = grammar::parse_protocols(headers)?;
        let protocol = match protocols.as_slice() {
            [] => None,
            [p] if self.protocols.contains(p) => Some(p.clone()),
            _ => return Err(ResponseError::Protocol),
        };
        let extensions = grammar::parse_extensions(headers)?;
        for extension in &extensions {
            if !self.extensions.iter().any(|e| e.name() == extension.name()) {
                return Err(ResponseError::Extension(extension.name().to_owned()));
            }
        }
        Ok(Negotiated {
            protocol,
            extensions,
        })
    }
}

/// Reads an HTTP/1.1 response head from the start of `src`, without checking it against a
/// handshake: for a client that wants the response whatever its status, such as a refusal
/// to report. [`ClientHandshake::check_response`] checks it.
///
/// Returns `Ok(None)` while the head is incomplete; otherwise the response and the length of
/// its head.
///
/// # Errors
///
/// The head's size, field count or syntax.
pub fn parse_response(
    src: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(Response<()>, usize)>, ResponseError> {
    Ok(http1::parse_response(src, limits)?)
}

/// What the server agreed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    /// The extensions the server accepted, with the parameters it answered.
    pub extensions: Vec<Extension>,
}

/// Why a client refuses the server's response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The head passed [`HeadLimits::max_head_size`].
    HeadTooLarge,
    /// The head had more fields than [`HeadLimits::max_headers`].
    TooManyHeaders,
    /// The head is not valid HTTP/1.1.
    Malformed,
    /// The status is not 101 (for an extended CONNECT, not 2xx): the server did not open
    /// the WebSocket.
    Status(StatusCode),
    /// `Upgrade` does not name `websocket`.
    Upgrade,
    /// `Connection` does not name `upgrade`.
    Connection,
    /// `Sec-WebSocket-Accept` is missing or does not match the key.
    Accept,
    /// The server chose a subprotocol that was not offered, or several.
    Protocol,
    /// The server accepted an extension that was not offered.
    Extension(String),
    /// A header breaks its grammar.
    InvalidHeader(InvalidHeader),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadTooLarge => f.write_str("response head too large"),
            Self::TooManyHeaders => f.write_str("too many response headers"),
            Self::Malformed => f.write_str("malformed HTTP response"),
            Self::Status(status) if status.is_success() => {
                write!(f, "the server answered {status}, not 101")
            }
            Self::Status(status) => write!(f, "the server answered {status}"),
            Self::Upgrade => f.write_str("response lacks Upgrade: websocket"),
            Self::Connection => f.write_str("response lacks Connection: upgrade"),
            Self::Accept => f.write_str("missing or wrong Sec-WebSocket-Accept"),
            Self::Protocol => f.write_str("the server chose a subprotocol that was not offered"),
            Self::Extension(name) => {
                write!(
                    f,
                    "the server accepted extension {name:?}, which was not offered"
                )
            }
            Self::InvalidHeader(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for ResponseError {}

impl From<HeadError> for ResponseError {
    fn from(error: HeadError) -> Self {
        match error {
            HeadError::TooLarge | HeadError::LineTooLong => Self::HeadTooLarge,
            HeadError::TooManyHeaders => Self::TooManyHeaders,
            HeadError::Malformed => Self::Malformed,
        }
    }
}

impl From<InvalidHeader> for ResponseError {
    fn from(error: InvalidHeader) -> Self {
        Self::InvalidHeader(error)
    }
}
