//! Errors, one type per stage: the open connection ([`Error`]), accepting ([`AcceptError`])
//! and connecting ([`ConnectError`]).

use std::{fmt, io};

use bytes::Bytes;
use http::{Response, StatusCode};
use swell_frame::{ProtocolError, SendError};
use swell_handshake::{InvalidUri, RequestError, ResponseError};

use crate::client::ProxyError;

/// An error on an open connection. A normal close is not an error: it arrives as
/// [`Message::Close`](crate::Message::Close).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed, or the peer closed it without a closing handshake
    /// ([`io::ErrorKind::UnexpectedEof`]).
    Io(io::Error),
    /// The peer broke the protocol or a limit; the connection was failed with
    /// [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// The message could not be sent, for example because the connection is closing.
    Send(SendError),
    /// The closing handshake did not finish within the close timeout.
    CloseTimeout,
    /// The peer sent nothing, not even the Pong, within the ping timeout after a keepalive
    /// Ping: it is taken for dead. The connection was failed with 1011 and closed.
    KeepaliveTimeout,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Send(e) => write!(f, "cannot send: {e}"),
            Self::CloseTimeout => f.write_str("the closing handshake timed out"),
            Self::KeepaliveTimeout => {
                f.write_str("the peer did not answer a keepalive ping within the ping timeout")
            }
        }
    }
}

/// The message of a wrapped error is part of ours (`I/O error: broken pipe`), so `source`
/// continues the chain below it: a report that walks the chain says each cause once.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => e.source(),
            Self::Protocol(e) => e.source(),
            Self::Send(e) => e.source(),
            Self::CloseTimeout | Self::KeepaliveTimeout => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

/// A server could not complete the opening handshake.
#[derive(Debug)]
#[non_exhaustive]
pub enum AcceptError {
    /// The transport failed, or the client went away mid-handshake.
    Io(io::Error),
    /// The handshake did not finish within the handshake timeout.
    Timeout,
    /// The request was not a valid upgrade; it was answered with
    /// [`RequestError::status`].
    Request(RequestError),
    /// The accept callback rejected the request with this status.
    Rejected(StatusCode),
    /// The accept callback chose a subprotocol the client did not offer. The request was
    /// answered with 500.
    ProtocolNotOffered,
}

impl AcceptError {
    /// The HTTP response the handshake answers this error with: [`RequestError::response`]
    /// for an invalid request, 500 for a subprotocol the client did not offer. `None` where
    /// there is nothing to answer (I/O, timeout) or the callback gave its own response.
    pub fn response(&self) -> Option<Response<String>> {
        match self {
            Self::Request(e) => Some(e.response()),
            Self::ProtocolNotOffered => {
                let mut response =
                    Response::new("the chosen subprotocol was not offered\n".to_owned());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                Some(response)
            }
            Self::Io(_) | Self::Timeout | Self::Rejected(_) => None,
        }
    }
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error during the handshake: {e}"),
            Self::Timeout => f.write_str("the opening handshake timed out"),
            Self::Request(e) => write!(f, "invalid upgrade request: {e}"),
            Self::Rejected(status) => write!(f, "upgrade rejected with {status}"),
            Self::ProtocolNotOffered => {
                f.write_str("the chosen subprotocol was not offered by the client")
            }
        }
    }
}

/// As for [`Error`]: the wrapped error's message is part of ours, its source is ours.
impl std::error::Error for AcceptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => e.source(),
            Self::Request(e) => e.source(),
            _ => None,
        }
    }
}

impl From<io::Error> for AcceptError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A client could not open a connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL does not parse.
    Url(http::uri::InvalidUri),
    /// The URL cannot be the target of a WebSocket.
    Uri(InvalidUri),
    /// `wss://` without swell's `tls` feature: enable it, or open a TLS stream yourself and
    /// pass it to [`ClientBuilder::handshake`](crate::ClientBuilder::handshake).
    TlsRequired,
    /// The TLS handshake with the server failed: most often its certificate, which is
    /// not valid for the host's name, or was issued by a CA no root vouches for
    /// ([`ConnectError::tls_error`] tells which).
    Tls {
        /// The name the certificate had to be valid for.
        host: String,
        /// What went wrong; a rustls error inside, for a certificate.
        error: io::Error,
    },
    /// No TLS configuration could be made for `wss://`: no trusted root certificates were
    /// found (the platform's store is empty or unreadable, and the `webpki-roots` feature
    /// is off), or the crypto provider cannot do TLS 1.2 or 1.3.
    TlsSetup(String),
    /// A proxy URL (given, or in the environment) does not parse, or names a kind of proxy
    /// swell does not speak.
    ProxyUrl(String),
    /// The proxy could not be reached, or would not open the tunnel.
    Proxy {
        /// The proxy's URL, without credentials.
        proxy: String,
        /// What went wrong, or what the proxy said.
        error: ProxyError,
    },
    /// The host's name could not be resolved, or no TCP connection could be made to it.
    Connect {
        /// The host and port tried, as `host:port`.
        address: String,
        /// What went wrong.
        error: io::Error,
    },
    /// The transport failed during the handshake.
    Io(io::Error),
    /// The handshake did not finish within the handshake timeout.
    Timeout,
    /// The server answered with another status than 101: it refused the upgrade. The
    /// response keeps the status, the headers and the first bytes of the body (at most
    /// 4 KiB), which often say why.
    Refused(Box<Response<Bytes>>),
    /// The server's 101 response broke the handshake's rules.
    Response(ResponseError),
    /// The server's permessage-deflate response fits none of our offers.
    Deflate(swell_deflate::NegotiationError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => write!(f, "invalid URL: {e}"),
            Self::Uri(e) => write!(f, "invalid URL: {e}"),
            Self::TlsRequired => f.write_str(
                "wss:// needs swell's tls feature, or a TLS stream given to ClientBuilder::handshake",
            ),
            Self::Tls { host, error } => write!(f, "TLS handshake with {host} failed: {error}"),
            Self::TlsSetup(why) => write!(f, "cannot set up TLS: {why}"),
            Self::ProxyUrl(why) => write!(f, "invalid proxy URL {why}"),
            Self::Proxy { proxy, error } => write!(f, "proxy {proxy}: {error}"),
            Self::Connect { address, error } => write!(f, "cannot connect to {address}: {error}"),
            Self::Io(e) => write!(f, "I/O error during the handshake: {e}"),
            Self::Timeout => f.write_str("the opening handshake timed out"),
            Self::Refused(response) => {
                write!(
                    f,
                    "the server refused the upgrade with {}",
                    response.status()
                )?;
                let body = String::from_utf8_lossy(response.body());
                let body = body.trim();
                if !body.is_empty() {
                    // Enough to say why; the whole (bounded) body is on the response.
                    let excerpt: String = body.chars().take(200).collect();
                    let more = if excerpt.len() < body.len() {
                        "…"
                    } else {
                        ""
                    };
                    write!(f, ": {excerpt}{more}")?;
                }
                Ok(())
            }
            Self::Response(e) => write!(f, "invalid handshake response: {e}"),
            Self::Deflate(e) => write!(f, "invalid handshake response: {e}"),
        }
    }
}

/// As for [`Error`]: the wrapped error's message is part of ours, its source is ours.
impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Url(e) => e.source(),
            Self::Uri(e) => e.source(),
            Self::Connect { error, .. } => error.source(),
            Self::Tls { error, .. } => error.source(),
            Self::Proxy { error, .. } => error.source(),
            Self::Io(e) => e.source(),
            Self::Response(e) => e.source(),
            Self::Deflate(e) => e.source(),
            _ => None,
        }
    }
}

impl ConnectError {
    /// The server's answer, when it refused the upgrade ([`ConnectError::Refused`]).
    pub fn response(&self) -> Option<&Response<Bytes>> {
        match self {
            Self::Refused(response) => Some(response),
            _ => None,
        }
    }

    /// The rustls error of a failed TLS handshake ([`ConnectError::Tls`]), such as
    /// `InvalidCertificate(UnknownIssuer)` or `InvalidCertificate(NotValidForName)`.
    #[cfg(feature = "tls")]
    pub fn tls_error(&self) -> Option<&rustls::Error> {
        match self {
            Self::Tls { error, .. } => error.get_ref()?.downcast_ref(),
            _ => None,
        }
    }
}

impl From<io::Error> for ConnectError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}
