//! The futures that [`WebSocket`]'s `recv`, `send`, `send_uncompressed`, `feed` and `flush`
//! return, named so that they can be kept in a struct or a select loop's state.
//!
//! They are written out rather than made by `async fn`: a loop of `recv` and `feed` over
//! small messages spends about a tenth of its instructions on the two `async fn` state
//! machines and the `poll_fn` inside each, which these futures do not have.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use swell_frame::Message;
use tokio::io::{AsyncRead, AsyncWrite};

use super::WebSocket;
use crate::error::Error;

/// The future of [`WebSocket::recv`]: the next message, or `None` once the connection is
/// over.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Recv<'a, S> {
    ws: &'a mut WebSocket<S>,
}

impl<'a, S> Recv<'a, S> {
    pub(super) fn new(ws: &'a mut WebSocket<S>) -> Self {
        Self { ws }
    }
}

impl<S> Future for Recv<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Output = Option<Result<Message, Error>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().ws.poll_recv(cx)
    }
}

/// The future of [`WebSocket::send`] and [`WebSocket::send_uncompressed`]: done when the
/// message and everything queued before it are written.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Send<'a, S> {
    ws: &'a mut WebSocket<S>,
    /// The message, until there is room to queue it.
    message: Option<Message>,
    /// Through the extension (permessage-deflate), if one was negotiated.
    encode: bool,
}

impl<'a, S> Send<'a, S> {
    pub(super) fn new(ws: &'a mut WebSocket<S>, message: Message, encode: bool) -> Self {
        Self {
            ws,
            message: Some(message),
            encode,
        }
    }
}

impl<S> Future for Send<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Output = Result<(), Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.message.is_some() {
            ready!(this.ws.poll_ready_send(cx))?;
            if let Some(message) = this.message.take() {
                this.ws.queue_message(message, this.encode)?;
            }
        }
        this.ws.poll_flush_all(cx)
    }
}

/// The future of [`WebSocket::feed`]: done when the message is queued.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Feed<'a, S> {
    ws: &'a mut WebSocket<S>,
    /// The message, until there is room to queue it.
    message: Option<Message>,
}

impl<'a, S> Feed<'a, S> {
    pub(super) fn new(ws: &'a mut WebSocket<S>, message: Message) -> Self {
        Self {
            ws,
            message: Some(message),
        }
    }
}

impl<S> Future for Feed<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Output = Result<(), Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.ws.poll_ready_send(cx))?;
        match this.message.take() {
            Some(message) => Poll::Ready(this.ws.start_send_message(message)),
            // Polled again after it completed: the message was queued then.
            None => Poll::Ready(Ok(())),
        }
    }
}

/// The future of [`WebSocket::flush`]: done when everything queued is written and the
/// stream flushed.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Flush<'a, S> {
    ws: &'a mut WebSocket<S>,
}

impl<'a, S> Flush<'a, S> {
    pub(super) fn new(ws: &'a mut WebSocket<S>) -> Self {
        Self { ws }
    }
}

impl<S> Future for Flush<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Output = Result<(), Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().ws.poll_flush_all(cx)
    }
}
