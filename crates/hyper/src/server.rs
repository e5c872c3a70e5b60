//! The server side: answering an upgrade request inside a hyper service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::{error, fmt};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use swell::{Accept, AcceptError, Config, Established, ServerUpgrade};

use crate::HyperWebSocket;

/// Whether `request` asks for a WebSocket: `Upgrade: websocket` over HTTP/1.1, an extended
/// CONNECT with `:protocol` websocket over HTTP/2 (RFC 8441).
///
/// Cheap enough to route on; [`upgrade`] checks everything else RFC 6455 §4.2.1 (or RFC 8441
/// §5) requires.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    if request.version() >= Version::HTTP_2 {
        request.method() == Method::CONNECT
            && protocol(request).is_some_and(|p| p.eq_ignore_ascii_case(swell::handshake::PROTOCOL))
    } else {
        swell::handshake::is_upgrade_request(request)
    }
}

/// The request's `:protocol` (HTTP/2), which hyper carries as an extension.
pub(crate) fn protocol<B>(request: &Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(hyper::ext::Protocol::as_str)
}

/// Accepts a WebSocket with no subprotocol, negotiating permessage-deflate as `config`
/// allows: an HTTP/1.1 upgrade, or over HTTP/2 an extended CONNECT (RFC 8441), which
/// browsers send on an HTTP/2 connection they hold when the server allows it.
///
/// Returns the response for the service to return (101, or 200 over HTTP/2), and a future
/// that resolves to the connection once hyper has sent the response and handed over the
/// stream (over HTTP/2, the request's stream: the WebSocket's frames travel in its DATA
/// frames, and the other streams of the connection go on beside it). Spawn the future (or
/// await it in a spawned task) after the response is returned: hyper hands the stream over
/// only then. An HTTP/1 connection must be served with upgrades enabled
/// (`serve_connection(..).with_upgrades()`), and an HTTP/2 one must offer extended CONNECT
/// (`http2::Builder::enable_connect_protocol`), or no WebSocket arrives.
///
/// # Errors
///
/// A [`Rejection`] carrying the response to send instead: 400, 405, 426 (with
/// `Sec-WebSocket-Version: 13`) or 505, as the request deserves; over HTTP/2, 400 for
/// anything but a websocket extended CONNECT, without HTTP/1.1's connection-specific
/// fields.
pub fn upgrade<B>(
    request: &mut Request<B>,
    config: Config,
) -> Result<(Response<Full<Bytes>>, Upgrading), Rejection> {
    upgrade_with(request, config, |_| Ok(Accept::new()))
}

/// Like [`upgrade`], letting `callback` inspect the valid upgrade request first: it may
/// choose a subprotocol and add headers ([`Accept`]), or reject the request with a response of
/// its own. This is the facade's [`swell::accept_with`] for hyper.
///
/// # Errors
///
/// A [`Rejection`] carrying the response to send instead: the one the request deserves, the
/// callback's own, or 500 if the callback chose a subprotocol the client did not offer.
pub fn upgrade_with<B, F>(
    request: &mut Request<B>,
    config: Config,
    callback: F,
) -> Result<(Response<Full<Bytes>>, Upgrading), Rejection>
where
    F: FnOnce(&Request<B>) -> Result<Accept, Response<String>>,
{
    let version = request.version();
    let upgrade = if version >= Version::HTTP_2 {
        ServerUpgrade::extended_connect(request, protocol(request), config)
    } else {
        ServerUpgrade::new(request, config)
    };
    let upgrade = upgrade.map_err(|e| Rejection::of(AcceptError::Request(e), version))?;
    let accept = callback(request).map_err(|response| Rejection {
        error: AcceptError::Rejected(response.status()),
        response,
    })?;
    let (response, established) = upgrade
        .accept(accept)
        .map_err(|e| Rejection::of(e, version))?;
    let upgrading = Upgrading {
        on_upgrade: hyper::upgrade::on(request),
        established: Some(established),
    };
    Ok((response.map(|()| Full::default()), upgrading))
}

/// The connection of an accepted upgrade, on its way: resolves once hyper hands over the
/// stream, after it has sent the 101 response.
///
/// Bytes the client sent right behind its request are not lost: hyper hands them over with
/// the stream, and they are read as the first frames.
#[must_use = "the connection opens only when this future is polled"]
#[derive(Debug)]
pub struct Upgrading {
    on_upgrade: OnUpgrade,
    established: Option<Established>,
}

impl Upgrading {
    /// The subprotocol agreed on, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.established.as_ref().and_then(Established::protocol)
    }
}

impl Future for Upgrading {
    type Output = Result<HyperWebSocket, hyper::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = ready!(Pin::new(&mut self.on_upgrade).poll(cx))?;
        let established = self
            .established
            .take()
            .expect("`Upgrading` polled after it completed");
        Poll::Ready(Ok(established.into_websocket(TokioIo::new(upgraded), &[])))
    }
}

/// An upgrade request that was refused, with the response to send in its place.
#[derive(Debug)]
pub struct Rejection {
    error: AcceptError,
    response: Response<String>,
}

impl Rejection {
    /// A refusal by the upgrade itself, answered as swell answers it over `version`.
    pub(crate) fn of(error: AcceptError, version: Version) -> Self {
        let response = match &error {
            AcceptError::Request(e) => Some(e.response_for(version)),
            other => other.response(),
        };
        let response = response.unwrap_or_else(|| {
            let mut response = Response::new(String::new());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        });
        Self { error, response }
    }

    /// Why: [`AcceptError::Request`] (invalid request), [`AcceptError::Rejected`] (the
    /// callback said no) or [`AcceptError::ProtocolNotOffered`].
    pub fn error(&self) -> &AcceptError {
        &self.error
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The response to send: an `http::Response` any framework can return (in axum,
    /// `rejection.into_http_response().map(axum::body::Body::new)`). Named apart from
    /// axum's `IntoResponse::into_response`, so that neither hides the other.
    pub fn into_http_response(self) -> Response<Full<Bytes>> {
        self.response.map(|body| Full::new(Bytes::from(body)))
    }
}

impl From<Rejection> for Response<Full<Bytes>> {
    fn from(rejection: Rejection) -> Self {
        rejection.into_http_response()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// The message is the error's, so the chain goes on below it.
impl error::Error for Rejection {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        self.error.source()
    }
}
