//! The client side: the opening handshake over a hyper client connection, an HTTP/1
//! upgrade or an HTTP/2 extended CONNECT (RFC 8441).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::{error, fmt};

use http::Response;
use hyper::body::Body;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::client::conn::http2;
use hyper_util::rt::TokioIo;
use swell::{ClientBuilder, ConnectError};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::HyperWebSocket;

/// Performs the opening handshake on a hyper HTTP/1 client connection that the caller set
/// up, and returns the connection with the server's 101 response.
///
/// The request carries what `builder` says (URL, subprotocols, headers, permessage-deflate
/// offers); the request body is `B::default()`, empty. The connection's driver must be
/// polled with upgrades enabled (`connection.with_upgrades()`), typically in a spawned task;
/// it completes when it hands the stream over. The handshake is not bounded by
/// [`swell::Config::handshake_timeout`], since hyper does the reading: wrap it in
/// `tokio::time::timeout` if the server may stall.
///
/// # Errors
///
/// [`ClientError::Hyper`] if the request could not be sent or the stream not taken over,
/// [`ClientError::Handshake`] if the response does not accept the upgrade.
///
/// # Cancel safety
///
/// Dropping the future abandons the handshake; the HTTP connection is left mid-exchange and
/// should be dropped too.
pub async fn handshake<B>(
    sender: &mut SendRequest<B>,
    builder: ClientBuilder,
) -> Result<(HyperWebSocket, Response<()>), ClientError>
where
    B: Body + Default + 'static,
{
    let (request, upgrade) = builder.upgrade();
    // hyper sends the URI as given: the request's is already in origin form.
    sender.ready().await?;
    let mut response = sender.send_request(request.map(|()| B::default())).await?;
    let established = upgrade.finish(&response)?;
    let upgraded = hyper::upgrade::on(&mut response).await?;
    let ws = established.into_websocket(TokioIo::new(upgraded), &[]);
    Ok((ws, response.map(|_| ())))
}

/// Opens a WebSocket on a new stream of a hyper HTTP/2 client connection (RFC 8441): an
/// extended CONNECT request with `:protocol` websocket, answered with 200. Returns the
/// connection with the server's response.
///
/// The connection may carry other requests and other WebSockets at once (clone the
/// `SendRequest`); each WebSocket is one stream with its own flow control, and when it
/// closes its stream ends while the connection lives on. The URL's scheme says `:scheme`
/// (`wss://` is `https`): the TLS, if any, is the connection's. The request body is
/// `B::default()`, empty; the response body is the WebSocket.
///
/// A client may send an extended CONNECT only once the server's SETTINGS allowed it
/// (RFC 8441 §3): check `Connection::is_extended_connect_protocol_enabled` first, or let
/// [`Http2Connection`](crate::Http2Connection) drive the connection and wait for them. As
/// for [`handshake`], wrap the call in `tokio::time::timeout` if the server may stall.
///
/// # Errors
///
/// [`ClientError::Hyper`] if the stream could not be opened (a server that does not allow
/// extended CONNECT resets it), [`ClientError::Handshake`] if the response does not accept
/// the WebSocket.
pub async fn handshake_http2<B>(
    sender: &mut http2::SendRequest<B>,
    builder: ClientBuilder,
) -> Result<(HyperWebSocket, Response<()>), ClientError>
where
    B: Body + Default + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn error::Error + Send + Sync>>,
{
    let (request, upgrade) = builder.extended_connect();
    let mut request = request.map(|()| B::default());
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static(
            swell::handshake::PROTOCOL,
        ));
    sender.ready().await?;
    let mut response = sender.send_request(request).await?;
    let established = upgrade.finish(&response)?;
    let upgraded = hyper::upgrade::on(&mut response).await?;
    let ws = established.into_websocket(TokioIo::new(upgraded), &[]);
    Ok((ws, response.map(|_| ())))
}

/// Opens a hyper HTTP/1 client connection on `stream` and performs the opening handshake
/// over it: [`handshake`] with the connection driven here, so that no task is spawned.
///
/// # Errors
///
/// As [`handshake`].
///
/// # Cancel safety
///
/// Dropping the future abandons the handshake; the stream is dropped with it.
pub async fn connect<S>(
    stream: S,
    builder: ClientBuilder,
) -> Result<(HyperWebSocket, Response<()>), ClientError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        http1::handshake::<_, http_body_util::Empty<bytes::Bytes>>(TokioIo::new(stream)).await?;
    let mut connection = pin!(connection.with_upgrades());
    let mut driving = true;
    let mut handshake = pin!(handshake(&mut sender, builder));
    // Drive the connection beside the handshake. It completes by handing the stream over to
    // the upgrade, before the handshake can complete; if the response refuses the upgrade,
    // the handshake fails first and the connection is dropped with this future.
    poll_fn(|cx| {
        if driving {
            match connection.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => driving = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {}
            }
        }
        handshake.as_mut().poll(cx)
    })
    .await
}

/// A client handshake through hyper failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// hyper could not send the request, read the response or hand the stream over.
    Hyper(hyper::Error),
    /// The server's response does not accept the upgrade as we asked for it.
    Handshake(ConnectError),
    /// The HTTP/2 server does not allow extended CONNECT (RFC 8441 §3): it takes no
    /// WebSocket over HTTP/2, and an HTTP/1.1 connection is the way.
    ExtendedConnectNotAllowed,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hyper(e) => write!(f, "HTTP error during the handshake: {e}"),
            Self::Handshake(e) => e.fmt(f),
            Self::ExtendedConnectNotAllowed => f.write_str(
                "the HTTP/2 server does not allow extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL), \
                 so it takes no WebSocket over HTTP/2",
            ),
        }
    }
}

impl error::Error for ClientError {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        match self {
            // Its message is part of ours; the chain goes on below it.
            Self::Hyper(e) => e.source(),
            Self::Handshake(e) => e.source(),
            Self::ExtendedConnectNotAllowed => None,
        }
    }
}

impl From<hyper::Error> for ClientError {
    fn from(e: hyper::Error) -> Self {
        Self::Hyper(e)
    }
}

impl From<ConnectError> for ClientError {
    fn from(e: ConnectError) -> Self {
        Self::Handshake(e)
    }
}
