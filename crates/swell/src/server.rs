//! Accepting connections: the server side of the opening handshake over a stream.

use std::future::Future;

use bytes::BytesMut;
use http::header::HeaderValue;
use http::{Request, Response};
use swell_handshake::{parse_request, write_response_head};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Config;
use crate::error::AcceptError;
use crate::head;
use crate::upgrade::{Accept, ServerUpgrade};
use crate::websocket::WebSocket;

/// The subprotocols a request offers, in the client's order of preference. Invalid lists
/// yield nothing; the handshake rejects them anyway.
pub fn offered_protocols<B>(request: &Request<B>) -> Vec<String> {
    swell_handshake::parse_protocols(request.headers()).unwrap_or_default()
}

/// Accepts a WebSocket connection on `stream` with the default [`Config`].
///
/// Reads the upgrade request, answers 101 if it is valid, and returns the open connection.
/// An invalid request is answered with the status its [`RequestError`] names and the
/// stream is shut down; then what the client still sends is read and dropped until it
/// closes, for at most [`Config::close_timeout`], so that closing does not reset the
/// connection under the refusal before the client reads it.
///
/// # Errors
///
/// See [`AcceptError`].
///
/// # Cancel safety
///
/// Dropping the future abandons the handshake; the stream is dropped with it.
///
/// [`RequestError`]: swell_handshake::RequestError
pub fn accept<S>(stream: S) -> impl Future<Output = Result<WebSocket<S>, AcceptError>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, Config::default(), |_| Ok(Accept::new()))
}

/// Accepts a WebSocket connection on `stream` with `config`, letting `callback` inspect the
/// request first: it may choose a subprotocol and add headers ([`Accept`]), or reject the
/// request with a response of its own, which is sent as it is.
///
/// The whole handshake is bounded by [`Config::handshake_timeout`] and the request head by
/// [`Config::max_head_size`] and [`Config::max_headers`]. Bytes the client sent right after
/// its request are kept: they are the first frames.
///
/// ```no_run
/// use http::StatusCode;
/// use swell::{Accept, Config, accept_with, offered_protocols};
///
/// # async fn run(stream: tokio::net::TcpStream) -> Result<(), swell::AcceptError> {
/// let ws = accept_with(stream, Config::default(), |request| {
///     if request.uri().path() != "/chat" {
///         let mut response = http::Response::new("no such endpoint\n".to_owned());
///         *response.status_mut() = StatusCode::NOT_FOUND;
///         return Err(response);
///     }
///     match offered_protocols(request).iter().find(|p| *p == "chat.v2") {
///         Some(p) => Ok(Accept::new().protocol(p.clone())),
///         None => Ok(Accept::new()),
///     }
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// See [`AcceptError`].
///
/// # Cancel safety
///
/// Dropping the future abandons the handshake; the stream is dropped with it.
pub fn accept_with<S, F>(
    stream: S,
    config: Config,
    callback: F,
) -> impl Future<Output = Result<WebSocket<S>, AcceptError>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request<()>) -> Result<Accept, Response<String>>,
{
    accept_with_async(stream, config, move |request| {
        std::future::ready(callback(&request))
    })
}

/// Accepts as [`accept_with`] does, with a decision that may await: checking a token
/// against a database, say, before answering 101 or 401. `decide` gets the request and
/// runs within [`Config::handshake_timeout`], like the rest of the handshake.
///
/// ```no_run
/// use http::StatusCode;
/// use swell::{Accept, Config, accept_with_async};
///
/// # async fn token_is_valid(_: Option<&http::HeaderValue>) -> bool { true }
/// # async fn run(stream: tokio::net::TcpStream) -> Result<(), swell::AcceptError> {
/// let ws = accept_with_async(stream, Config::default(), |request| async move {
///     if token_is_valid(request.headers().get("authorization")).await {
///         Ok(Accept::new())
///     } else {
///         let mut response = http::Response::new("unknown token\n".to_owned());
///         *response.status_mut() = StatusCode::UNAUTHORIZED;
///         Err(response)
///     }
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// See [`AcceptError`].
///
/// # Cancel safety
///
/// Dropping the future abandons the handshake; the stream is dropped with it.
pub fn accept_with_async<S, F, Fut>(
    stream: S,
    config: Config,
    decide: F,
) -> impl Future<Output = Result<WebSocket<S>, AcceptError>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(Request<()>) -> Fut,
    Fut: Future<Output = Result<Accept, Response<String>>>,
{
    let timeout = config.handshake_timeout;
    let linger = config.frame.close_timeout;
    // The handshake's state (the head, the decision, the linger after a refusal) is large
    // and needed once: boxed, and returned as it is rather than awaited inside another
    // future that would hold the arguments as well, so that a task awaiting `accept` holds
    // one pointer for the whole life of its connection.
    Box::pin(async move {
        match tokio::time::timeout(timeout, handshake(stream, config, decide)).await {
            Err(_) => Err(AcceptError::Timeout),
            Ok(Ok(ws)) => Ok(ws),
            Ok(Err(Refused { error, stream })) => {
                if let Some(mut stream) = stream {
                    // Boxed apart: only refusals need its buffer.
                    Box::pin(linger_until_closed(&mut stream, linger)).await;
                }
                Err(error)
            }
        }
    })
}

/// A handshake that failed, with the stream if a refusal was sent on it.
struct Refused<S> {
    error: AcceptError,
    stream: Option<S>,
}

impl<S> From<std::io::Error> for Refused<S> {
    fn from(e: std::io::Error) -> Self {
        Self {
            error: AcceptError::Io(e),
            stream: None,
        }
    }
}

/// After a refusal was written and our side shut down: reads and drops what the client
/// still sends until it closes, for at most `limit`. Closing the socket with unread bytes
/// in it would reset the connection, and the reset can destroy the refusal before the
/// client reads it (the lingering close of RFC 9112 §9.6).
async fn linger_until_closed<S>(stream: &mut S, limit: std::time::Duration)
where
    S: AsyncRead + Unpin,
{
    let mut sink = [0; 1024];
    let _ = tokio::time::timeout(limit, async {
        while let Ok(1..) = stream.read(&mut sink).await {}
    })
    .await;
}

async fn handshake<S, F, Fut>(
    mut stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocket<S>, Refused<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(Request<()>) -> Fut,
    Fut: Future<Output = Result<Accept, Response<String>>>,
{
    let mut buf = BytesMut::with_capacity(1024);
    let limits = config.head;
    let parsed = head::read_head(&mut stream, &mut buf, limits.max_head_size, |b| {
        parse_request(b, &limits)
    })
    .await?;
    let checked = parsed.and_then(|(request, head_len)| {
        let upgrade = ServerUpgrade::new(&request, config)?;
        Ok((request, head_len, upgrade))
    });
    let (request, head_len, upgrade) = match checked {
        Ok(checked) => checked,
        Err(e) => return Err(refuse(stream, AcceptError::Request(e)).await),
    };
    let accept = match decide(request).await {
        Ok(accept) => accept,
        Err(response) => {
            let status = response.status();
            return Err(reject(stream, response, AcceptError::Rejected(status)).await);
        }
    };
    let (response, established) = match upgrade.accept(accept) {
        Ok(accepted) => accepted,
        Err(e) => return Err(refuse(stream, e).await),
    };
    let mut out = Vec::with_capacity(256);
    write_response_head(&response, &mut out);
    head::write_all(&mut stream, &out, &[]).await?;
    Ok(established.into_websocket(stream, &buf[head_len..]))
}

/// Answers `error` with its response, if it has one, and shuts the stream down.
async fn refuse<S>(stream: S, error: AcceptError) -> Refused<S>
where
    S: AsyncWrite + Unpin,
{
    match error.response() {
        Some(response) => reject(stream, response, error).await,
        None => Refused {
            error,
            stream: None,
        },
    }
}

/// Answers with `response` and shuts the stream down; errors are moot, `error` says why. The
/// stream comes back for lingering if the refusal was written.
async fn reject<S>(mut stream: S, mut response: Response<String>, error: AcceptError) -> Refused<S>
where
    S: AsyncWrite + Unpin,
{
    let body = std::mem::take(response.body_mut());
    let headers = response.headers_mut();
    headers
        .entry(http::header::CONTENT_LENGTH)
        .or_insert_with(|| HeaderValue::from(body.len()));
    headers
        .entry(http::header::CONNECTION)
        .or_insert_with(|| HeaderValue::from_static("close"));
    let mut out = Vec::with_capacity(256);
    write_response_head(&response, &mut out);
    let sent = head::write_all(&mut stream, &out, body.as_bytes())
        .await
        .is_ok()
        && stream.shutdown().await.is_ok();
    Refused {
        error,
        stream: sent.then_some(stream),
    }
}
