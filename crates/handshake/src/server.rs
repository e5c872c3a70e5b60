//! The server side: reading and validating an upgrade request (RFC 6455 §4.2.1), and the
//! 101 response or the rejection that says why (§4.2.2).

use std::fmt;

use http::header::{
    ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{Method, Request, Response, StatusCode, Version};

use crate::grammar::{self, Extension, InvalidHeader};
use crate::http1::{self, HeadError, HeadLimits};
use crate::key;

/// Why a server refuses an upgrade request. Each reason knows its HTTP status, and
/// [`RequestError::response`] builds the response to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The head passed [`HeadLimits::max_head_size`]. 431.
    HeadTooLarge,
    /// The request line alone passed [`HeadLimits::max_head_size`]: the request target is
    /// too long. 414.
    UriTooLong,
    /// The head had more fields than [`HeadLimits::max_headers`]. 431.
    TooManyHeaders,
    /// The head is not valid HTTP/1.1. 400.
    Malformed,
    /// The method is not GET. 405.
    Method,
    /// The version is below HTTP/1.1. 505.
    Version,
    /// No single `Host` header. 400.
    Host,
    /// `Upgrade` does not name `websocket`: not a WebSocket request at all. 426.
    NotUpgrade,
    /// `Connection` does not name `upgrade`. 400.
    ConnectionNotUpgrade,
    /// `Sec-WebSocket-Version` is not 13. 426, with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is missing, repeated or not the base64 of 16 bytes. 400.
    Key,
    /// A header breaks its grammar. 400.
    InvalidHeader(InvalidHeader),
    /// Over HTTP/2 (RFC 8441), the request is not an extended CONNECT for `websocket`: its
    /// method is not CONNECT, its `:protocol` is missing or another, or it has no
    /// `:authority`. 400.
    ExtendedConnect,
}

impl RequestError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::Method => StatusCode::METHOD_NOT_ALLOWED,
            Self::Version => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            Self::NotUpgrade | Self::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The rejection to send over HTTP/1.1: the status, the headers the status calls for,
    /// and a short plain-text body that says why. It asks for the connection to be closed.
    pub fn response(&self) -> Response<String> {
        self.response_for(Version::HTTP_11)
    }

    /// The rejection to send over `version`: as [`RequestError::response`], without the
    /// connection-specific fields (`Connection`, `Upgrade`) that HTTP/2 and HTTP/3 forbid
    /// (RFC 9113 §8.2.2): one stream is refused there, not the connection.
    pub fn response_for(&self, version: Version) -> Response<String> {
        let per_connection = version < Version::HTTP_2;
        let body = format!("{self}\n");
        let mut response = Response::new(String::new());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        match self {
            Self::Method => {
                headers.insert(ALLOW, HeaderValue::from_static("GET"));
            }
            Self::NotUpgrade if per_connection => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            }
            Self::UnsupportedVersion => {
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            _ => {}
        }
        if per_connection {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        *response.body_mut() = body;
        response
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadTooLarge => f.write_str("request head too large"),
            Self::UriTooLong => f.write_str("request target too long"),
            Self::TooManyHeaders => f.write_str("too many request headers"),
            Self::Malformed => f.write_str("malformed HTTP request"),
            Self::Method => f.write_str("a WebSocket upgrade must use GET"),
            Self::Version => f.write_str("a WebSocket upgrade needs HTTP/1.1 or later"),
            Self::Host => f.write_str("missing or repeated Host header"),
            Self::NotUpgrade => f.write_str("expected a WebSocket upgrade (Upgrade: websocket)"),
            Self::ConnectionNotUpgrade => f.write_str("Connection header lacks \"upgrade\""),
            Self::UnsupportedVersion => {
                f.write_str("unsupported Sec-WebSocket-Version, expected 13")
            }
            Self::Key => f.write_str("missing, repeated or invalid Sec-WebSocket-Key"),
            Self::InvalidHeader(e) => fmt::Display::fmt(e, f),
            Self::ExtendedConnect => f.write_str(
                "a WebSocket over HTTP/2 opens with an extended CONNECT (RFC 8441): \
                 :method CONNECT, :protocol websocket, and an :authority",
            ),
        }
    }
}

impl std::error::Error for RequestError {}

impl From<HeadError> for RequestError {
    fn from(error: HeadError) -> Self {
        match error {
            HeadError::TooLarge => Self::HeadTooLarge,
            HeadError::LineTooLong => Self::UriTooLong,
            HeadError::TooManyHeaders => Self::TooManyHeaders,
            HeadError::Malformed => Self::Malformed,
        }
    }
}

impl From<InvalidHeader> for RequestError {
    fn from(error: InvalidHeader) -> Self {
        Self::InvalidHeader(error)
    }
}

/// Reads an HTTP request head from the start of `src`.
///
/// Returns `Ok(None)` while the head is incomplete, and the request with the length of its
/// head otherwise; bytes after the head belong to the WebSocket stream.
///
/// # Errors
///
/// [`RequestError::HeadTooLarge`], [`RequestError::TooManyHeaders`] or
/// [`RequestError::Malformed`], as soon as the bytes so far show it.
pub fn parse_request(
    src: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(Request<()>, usize)>, RequestError> {
    Ok(http1::parse_request(src, limits)?)
}

/// Whether `request` asks for a WebSocket upgrade (its `Upgrade` header names `websocket`),
/// whether or not the rest of it is valid.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    grammar::has_token(request.headers(), UPGRADE, "websocket")
}

/// A validated WebSocket upgrade request: what the client offered.
#[derive(Clone, Debug)]
pub struct UpgradeRequest {
    /// The client's key; none for an extended CONNECT, which has none.
    pub(crate) key: Option<HeaderValue>,
    pub(crate) protocols: Vec<String>,
    pub(crate) extensions: Vec<Extension>,
}

impl UpgradeRequest {
    /// Checks `request` against RFC 6455 §4.2.1.
    ///
    /// # Errors
    ///
    /// The first rule the request breaks, as a [`RequestError`] that knows its status.
    pub fn validate<B>(request: &Request<B>) -> Result<Self, RequestError> {
        if request.method() != Method::GET {
            return Err(RequestError::Method);
        }
        if request.version() < Version::HTTP_11 {
            return Err(RequestError::Version);
        }
        let headers = request.headers();
        if headers.get_all(HOST).iter().count() != 1 {
            return Err(RequestError::Host);
        }
        if !is_upgrade_request(request) {
            return Err(RequestError::NotUpgrade);
        }
        if !grammar::has_token(headers, CONNECTION, "upgrade") {
            return Err(RequestError::ConnectionNotUpgrade);
        }
        let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
        match (versions.next(), versions.next()) {
            (Some(v), None) if v == "13" => {}
            _ => return Err(RequestError::UnsupportedVersion),
        }
        let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
        let key = match (keys.next(), keys.next()) {
            (Some(key), None) if key::is_valid_key(key.as_bytes()) => key.clone(),
            _ => return Err(RequestError::Key),
        };
        Ok(Self {
            key: Some(key),
            protocols: grammar::parse_protocols(headers)?,
            extensions: grammar::parse_extensions(headers)?,
        })
    }

    /// The client's `Sec-WebSocket-Key`; none for an extended CONNECT (RFC 8441), which
    /// has no key.
    pub fn key(&self) -> Option<&HeaderValue> {
        self.key.as_ref()
    }

    /// Whether the request was an extended CONNECT (RFC 8441), to be answered with 200.
    pub fn is_extended_connect(&self) -> bool {
        self.key.is_none()
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions the client offered, in its order of preference.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The response that accepts the upgrade, with the chosen subprotocol (one of
    /// [`UpgradeRequest::protocols`], or none) and the accepted extensions: 101 with
    /// `Upgrade`, `Connection` and `Sec-WebSocket-Accept` for HTTP/1.1, 200 for an extended
    /// CONNECT (RFC 8441 §5).
    ///
    /// # Errors
    ///
    /// [`ProtocolNotOffered`] if `protocol` is not one the client offered: RFC 6455 §4.2.2
    /// lets the server pick only among them.
    pub fn accept(
        &self,
        protocol: Option<&str>,
        extensions: &[Extension],
    ) -> Result<Response<()>, ProtocolNotOffered> {
        let mut response = Response::new(());
        let headers = response.headers_mut();
        if let Some(key) = &self.key {
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            headers.insert(SEC_WEBSOCKET_ACCEPT, key::accept_key(key.as_bytes()));
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        }
        let headers = response.headers_mut();
        if let Some(protocol) = protocol {
            let offered = self.protocols.iter().any(|p| p == protocol);
            let value = HeaderValue::from_str(protocol).map_err(|_| ProtocolNotOffered)?;
            if !offered {
                return Err(ProtocolNotOffered);
            }
            headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
        if !extensions.is_empty() {
            headers.insert(
                SEC_WEBSOCKET_EXTENSIONS,
                grammar::format_extensions(extensions),
            );
        }
        Ok(response)
    }
}

/// A server chose a subprotocol the client did not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolNotOffered;

impl fmt::Display for ProtocolNotOffered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the chosen subprotocol was not offered by the client")
    }
}

impl std::error::Error for ProtocolNotOffered {}
