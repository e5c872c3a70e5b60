//! The drivers: reading into the connection, writing what it queued, and its one timer.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use swell_frame::{CloseCode, CloseFrame, Message, State, Timeout};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Finish, WebSocket, now};
use crate::error::Error;
use crate::pool;

/// Capacity an idle connection keeps in its queue of large frames (32 entries); a queue that
/// grew past it for a burst is freed. Its write buffer goes back to the thread's pool unless
/// it is small ([`IDLE_WRITE_BUFFER`]).
const IDLE_QUEUE_BYTES: usize = 1024;

/// A write buffer this small stays with an idle connection rather than going back to the
/// thread's pool: a connection that answers one small message per read (ping-pong) would
/// otherwise give it back and take it again at every wait, ~130 instructions a message
/// (`cargo xtask instructions`), to save at most this much memory.
pub(super) const IDLE_WRITE_BUFFER: usize = 256;

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The engine behind [`WebSocket::recv`] and `Stream::poll_next`.
    #[inline]
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        // The usual case in a burst of small messages, inlined into the caller: a message the
        // core already checked, handed out without the driver's loop. Nothing else can be due
        // first while the connection is open: the core hands these out before anything else.
        if matches!(self.finish, Finish::Running) && self.conn.state() == State::Open {
            if let Some(message) = self.conn.ready_message() {
                return Poll::Ready(Some(Ok(message)));
            }
        }
        self.poll_recv_driver(cx)
    }

    fn poll_recv_driver(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            match &mut self.finish {
                Finish::Done => return Poll::Ready(None),
                Finish::Pending(_) => {
                    ready!(self.poll_finish(cx));
                    let Finish::Pending(item) = std::mem::replace(&mut self.finish, Finish::Done)
                    else {
                        unreachable!("matched above")
                    };
                    return Poll::Ready(Some(*item));
                }
                Finish::Running => {}
            }
            if self.conn.state() == State::Closing {
                // Bounded even while the peer keeps sending instead of answering our Close.
                if let Poll::Ready(Err(e)) = self.poll_deadlines(cx) {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match self.conn.poll_message() {
                Ok(Some(Message::Close(frame))) => {
                    self.enter_finish(Ok(Message::Close(frame)));
                    continue;
                }
                Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                Err(e) => {
                    self.enter_finish(Err(Error::Protocol(e)));
                    continue;
                }
                Ok(None) => {}
            }
            // Everything received so far is handled: the replies it produced (the caller's
            // and the automatic ones) leave now, together, before we wait for the peer.
            if !self.conn.transmit().is_empty() || self.needs_flush {
                match self.poll_flush_all(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => {
                        self.finish = Finish::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    // Keep reading while the peer is slow to read, unless too much is queued:
                    // then only the deadlines still run.
                    Poll::Pending => {
                        if self.conn.transmit().remaining() >= self.write_buffer_limit {
                            ready!(self.poll_deadlines(cx))?;
                            continue;
                        }
                    }
                }
            }
            let read = match self.poll_fill(cx) {
                Poll::Ready(read) => read,
                // Nothing to read: time is all that can still happen.
                Poll::Pending => {
                    ready!(self.poll_deadlines(cx))?;
                    continue;
                }
            };
            match read {
                Ok(0) => {
                    // The peer closed the transport without finishing a closing handshake.
                    self.finish = Finish::Done;
                    if self.conn.state() == State::Closing {
                        return Poll::Ready(None);
                    }
                    let eof = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection without a closing handshake",
                    );
                    return Poll::Ready(Some(Err(Error::Io(eof))));
                }
                Ok(_) => {
                    self.conn.handle_received(now());
                    // What arrived may need an automatic reply (a Pong, a Close): it is
                    // encoded into the pooled write buffer, not a new one.
                    self.lend_write_buffer();
                }
                Err(e) => {
                    self.finish = Finish::Done;
                    return Poll::Ready(Some(Err(Error::Io(e))));
                }
            }
        }
    }

    /// Waits for the connection's next deadline while it is open or closing, and acts on it:
    /// `Ready(Ok(()))` when there is something new to do (a keepalive Ping or a Close to
    /// write, the end to finish), `Ready(Err(_))` when the closing handshake timed out.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match ready!(self.poll_timer(cx)) {
            Some(Timeout::Keepalive) => self.enter_finish(Err(Error::KeepaliveTimeout)),
            Some(Timeout::Close) => {
                self.abandon(cx);
                self.finish = Finish::Done;
                return Poll::Ready(Err(Error::CloseTimeout));
            }
            // A Ping or the Close for the idle timeout was queued: write it.
            _ => self.lend_write_buffer(),
        }
        Poll::Ready(Ok(()))
    }

    /// Polls the connection's one timer, armed at the core's next deadline. `Pending` while
    /// none is due; otherwise hands the time to the core, which acts on what passed, and
    /// returns what it reports (`None`: it queued a Ping).
    ///
    /// The timer is re-armed only when a deadline moved earlier or the timer fired: while
    /// bytes keep arriving, the keepalive deadline moves later with every read, and the
    /// timer simply fires early once an interval and is armed again. A timer armed in time
    /// that already holds this task's waker is not polled again: that is every wait after
    /// a read while messages flow.
    pub(super) fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Option<Timeout>> {
        loop {
            let Some(deadline) = self.conn.poll_timeout() else {
                return Poll::Pending;
            };
            let deadline = tokio::time::Instant::from_std(deadline);
            let timer = match &mut self.timer {
                Some(timer) => {
                    if timer.is_elapsed() || timer.deadline() > deadline {
                        timer.as_mut().reset(deadline);
                        self.timer_waker = None;
                    } else if self
                        .timer_waker
                        .as_ref()
                        .is_some_and(|waker| waker.will_wake(cx.waker()))
                    {
                        // Armed, not fired, no later than the deadline, and holding this
                        // waker: it will wake us in time, and polling it would only cost.
                        return Poll::Pending;
                    }
                    timer
                }
                None => self
                    .timer
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            // A `Sleep` polled without coop budget left returns `Pending` having asked to be
            // polled again, without registering the waker: only a poll with budget counts.
            let registers = tokio::task::coop::has_budget_remaining();
            if timer.as_mut().poll(cx).is_pending() {
                if registers
                    && !self
                        .timer_waker
                        .as_ref()
                        .is_some_and(|waker| waker.will_wake(cx.waker()))
                {
                    self.timer_waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            self.timer_waker = None;
            if let Some(timeout) = self.conn.handle_timeout(now()) {
                return Poll::Ready(Some(timeout));
            }
            if !self.conn.transmit().is_empty() {
                return Poll::Ready(None);
            }
            // The timer fired before the deadline, which moved later: arm it again.
        }
    }

    /// Reads once from the stream into the connection's read buffer.
    ///
    /// A connection whose read finds nothing while its buffers are empty is idle: it gives
    /// its read buffer and, unless it is small, its write buffer back to the thread's pools
    /// (and frees a large-frame queue that grew), so that idle connections hold at most a
    /// few hundred bytes of buffer memory.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Room for the rest of a large frame in one go, but never more than what has
        // arrived: the buffer grows with the data, not with the declared length.
        let missing = self.conn.frame_missing();
        let buf = self.conn.read_buf();
        let want = self
            .read_lease
            .room(self.read_chunk)
            .max(missing.min(buf.len()));
        self.read_lease.prepare(buf, want);
        let room = buf.capacity() - buf.len();
        let read = tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf);
        if let Poll::Ready(Ok(n)) = read {
            self.read_lease.after_read(n, room);
        } else if read.is_pending() && buf.is_empty() {
            self.read_lease.release(buf);
            let transmit = self.conn.transmit();
            if let Some(buf) = transmit.take_buffer_over(IDLE_WRITE_BUFFER) {
                pool::give_write(buf);
            }
            transmit.shrink_to(IDLE_QUEUE_BYTES);
        }
        read
    }

    /// Writes queued frames until the queue is below the write buffer limit.
    pub(crate) fn poll_ready_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.conn.transmit().remaining() >= self.write_buffer_limit {
            ready!(self.poll_write_queued(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Queues `message`, through the extension if one was negotiated.
    #[inline(always)]
    pub(crate) fn start_send_message(&mut self, message: Message) -> Result<(), Error> {
        self.lend_write_buffer();
        Ok(self.conn.send(message)?)
    }

    /// Queues `message`, through the extension if `encode`.
    #[inline]
    pub(super) fn queue_message(&mut self, message: Message, encode: bool) -> Result<(), Error> {
        if encode {
            return self.start_send_message(message);
        }
        self.lend_write_buffer();
        Ok(self.conn.send_unencoded(message)?)
    }

    /// Gives the connection a write buffer from the thread's pool if it went idle without
    /// one, so that sending (or answering a Ping) after idling does not allocate.
    fn lend_write_buffer(&mut self) {
        let transmit = self.conn.transmit();
        if !transmit.has_buffer() {
            transmit.set_buffer(pool::take_write());
        }
    }

    /// Writes everything queued and flushes the stream.
    pub(crate) fn poll_flush_all(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while !self.conn.transmit().is_empty() {
            ready!(self.poll_write_queued(cx))?;
        }
        if self.needs_flush {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.needs_flush = false;
        }
        Poll::Ready(Ok(()))
    }

    /// One write of queued frames, vectored where the stream supports it and the frames are
    /// in more than one piece (a plain write is the cheaper system call for one).
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let transmit = self.conn.transmit();
        let io = Pin::new(&mut self.io);
        let contiguous = transmit.chunk().len() == transmit.remaining();
        let written = if !contiguous && io.is_write_vectored() {
            let mut slices = [IoSlice::new(&[]); 64];
            let n = transmit.chunks_vectored(&mut slices);
            ready!(io.poll_write_vectored(cx, &slices[..n]))?
        } else {
            ready!(io.poll_write(cx, transmit.chunk()))?
        };
        if written == 0 {
            return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
        }
        transmit.advance(written);
        self.needs_flush = true;
        Poll::Ready(Ok(()))
    }

    /// Starts the closing handshake with 1000 if it has not started, and writes everything.
    pub(crate) fn poll_close_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.conn
                .close(Some(CloseFrame::new(CloseCode::NORMAL, "")))?;
        }
        self.poll_flush_all(cx)
    }
}
