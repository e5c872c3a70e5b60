//! The server side: answering an upgrade request inside a hyper service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::{error, fmt};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use swell::{Accept, AcceptError, Config, Established, ServerUpgrade};

use crate::HyperWebSocket;

/// Whether `request` asks for a WebSocket upgrade (`Upgrade: websocket`).
///
/// Cheap enough to route on; [`upgrade`] checks everything else RFC 6455 §4.2.1 requires.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    swell::handshake::is_upgrade_request(request)
}

/// Accepts a WebSocket upgrade with no subprotocol, negotiating permessage-deflate as
/// `config` allows.
///
/// Returns the 101 response for the service to return, and a future that resolves to the
/// connection once hyper has sent the response and handed over the stream. Spawn the future
/// (or await it in a spawned task) after the response is returned: hyper hands the stream
/// over only then. The connection must be served with upgrades enabled
/// (`serve_connection(..).with_upgrades()`), or the future fails.
///
/// # Errors
///
/// A [`Rejection`] carrying the response to send instead: 400, 405, 426 (with
/// `Sec-WebSocket-Version: 13`) or 505, as the request deserves.
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
    let upgrade =
        ServerUpgrade::new(request, config).map_err(|e| Rejection::of(AcceptError::Request(e)))?;
    let accept = callback(request).map_err(|response| Rejection {
        error: AcceptError::Rejected(response.status()),
        response,
    })?;
    let (response, established) = upgrade.accept(accept).map_err(Rejection::of)?;
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
    /// A refusal by the upgrade itself, answered as swell answers it.
    fn of(error: AcceptError) -> Self {
        let response = error.response().unwrap_or_else(|| {
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
