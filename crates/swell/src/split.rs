//! Splitting a [`WebSocket`] into halves that two tasks can use at once.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use swell_frame::{CloseFrame, Message};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::Error;
use crate::websocket::WebSocket;

/// The receiving half of a [`WebSocket`], from [`WebSocket::split`]. It still answers Pings
/// and Closes, writing through the shared connection.
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a [`WebSocket`], from [`WebSocket::split`].
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    ws: Mutex<WebSocket<S>>,
    wakers: Arc<Wakers>,
    /// Wakes both halves: the stream registers one waker for reads and one for writes, and
    /// either half may be waiting on either.
    waker: Waker,
}

#[derive(Default)]
struct Wakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in [&self.read, &self.write] {
            if let Some(waker) = lock(slot).as_ref() {
                waker.wake_by_ref();
            }
        }
    }
}

/// Locks, ignoring poison: a panic elsewhere leaves no invariant of ours half-updated that
/// the next poll cannot cope with.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S> Shared<S> {
    fn poll<R>(
        &self,
        slot: &Mutex<Option<Waker>>,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut WebSocket<S>, &mut Context<'_>) -> R,
    ) -> R {
        {
            let mut slot = lock(slot);
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        let mut ws = lock(&self.ws);
        f(&mut ws, &mut Context::from_waker(&self.waker))
    }
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Splits the connection into a receiving and a sending half, for use from two tasks.
    /// [`ReadHalf::reunite`] puts them back together.
    ///
    /// The receiving half comes first, as in `tokio::io::split`. futures'
    /// `StreamExt::split`, which works on any `Stream + Sink`, gives the sending half first
    /// and locks the whole connection for each call; this inherent method is the one
    /// `ws.split()` calls, and its `ReadHalf` keeps answering Pings while the `WriteHalf`
    /// sends. To get futures' instead, call it by path: `StreamExt::split(ws)`.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let wakers = Arc::new(Wakers::default());
        let shared = Arc::new(Shared {
            ws: Mutex::new(self),
            waker: Waker::from(wakers.clone()),
            wakers,
        });
        (
            ReadHalf {
                shared: shared.clone(),
            },
            WriteHalf { shared },
        )
    }
}

impl<S> ReadHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Receives the next message, as [`WebSocket::recv`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`WebSocket::recv`].
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        self.shared
            .poll(&self.shared.wakers.read, cx, |ws, cx| ws.poll_recv(cx))
    }

    /// Joins the halves again; gives them back if they come from different connections.
    ///
    /// # Errors
    ///
    /// The two halves, if they do not belong together.
    pub fn reunite(self, write: WriteHalf<S>) -> Result<WebSocket<S>, (Self, WriteHalf<S>)> {
        if !Arc::ptr_eq(&self.shared, &write.shared) {
            return Err((self, write));
        }
        drop(write);
        let shared = Arc::into_inner(self.shared).expect("both halves were given");
        Ok(shared
            .ws
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

impl<S> WriteHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends a message and flushes it, as [`WebSocket::send`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`WebSocket::send`].
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        std::future::poll_fn(|cx| self.with(cx, |ws, cx| ws.poll_ready_send(cx))).await?;
        lock(&self.shared.ws).start_send_message(message)?;
        std::future::poll_fn(|cx| self.with(cx, |ws, cx| ws.poll_flush_all(cx))).await
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.with(cx, |ws, cx| ws.poll_flush_all(cx))).await
    }

    /// Sends a Close and writes it. The peer's answer arrives through the [`ReadHalf`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        let state = lock(&self.shared.ws).state();
        if state == swell_frame::State::Open {
            lock(&self.shared.ws).start_send_message(Message::Close(frame))?;
        }
        self.flush().await
    }

    fn with<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut WebSocket<S>, &mut Context<'_>) -> R,
    ) -> R {
        self.shared.poll(&self.shared.wakers.write, cx, f)
    }
}

impl<S> Stream for ReadHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_recv(cx)
    }
}

/// Terminated once the stream has yielded `None`.
impl<S> FusedStream for ReadHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn is_terminated(&self) -> bool {
        lock(&self.shared.ws).is_terminated()
    }
}

impl<S> Sink<Message> for WriteHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with(cx, |ws, cx| ws.poll_ready_send(cx))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        lock(&self.shared.ws).start_send_message(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with(cx, |ws, cx| ws.poll_flush_all(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with(cx, |ws, cx| ws.poll_close_sink(cx))
    }
}

impl<S> std::fmt::Debug for ReadHalf<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for WriteHalf<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}
