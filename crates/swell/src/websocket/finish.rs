//! Teardown: once the closing handshake completed or the connection failed, write what is
//! queued and close the transport as each role must, bounded by the core's close deadline.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use swell_frame::{Message, Role, State, Timeout};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Finish, WebSocket};
use crate::error::Error;

/// Reads of a draining connection between checks of its deadline.
const READS_PER_POLL: usize = 32;

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Whether the connection is over and the stream has yielded `None`.
    pub(crate) fn is_terminated(&self) -> bool {
        matches!(self.finish, Finish::Done)
    }

    /// The connection is over: finish it, then yield `item`.
    pub(super) fn enter_finish(&mut self, item: Result<Message, Error>) {
        self.finish = Finish::Pending(Box::new(item));
    }

    /// Ends the connection after the closing handshake or a failure: writes what is queued,
    /// then closes the transport as RFC 6455 §7.1.1 asks of each role. Bounded by the close
    /// deadline; errors are ignored, as the connection is over either way.
    pub(super) fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.poll_finish_steps(cx).is_ready() {
                self.conn.shrink_buffers();
                return Poll::Ready(());
            }
            match self.poll_timer(cx) {
                Poll::Ready(Some(Timeout::Close)) => {
                    self.abandon(cx);
                    return Poll::Ready(());
                }
                Poll::Ready(_) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Gives up on the teardown when the close deadline passed: the write side is shut down
    /// if the stream does so at once (TCP does), so the peer sees the end now rather than
    /// when the connection is dropped.
    pub(super) fn abandon(&mut self, cx: &mut Context<'_>) {
        if !self.shut_down {
            let _ = Pin::new(&mut self.io).poll_shutdown(cx);
            self.shut_down = true;
        }
    }

    /// The steps of the teardown, each of which can be resumed.
    fn poll_finish_steps(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if ready!(self.poll_flush_all(cx)).is_err() {
            return Poll::Ready(());
        }
        let server = self.conn.role() == Role::Server;
        if !server {
            // The server closes TCP first (RFC 6455 §7.1.1), after a clean closing handshake
            // and after a failure alike: it answers our Close and closes. Wait for it, so
            // that the TIME_WAIT state stays with the server and our Close is not lost to a
            // reset while the server is still sending.
            ready!(self.poll_until_peer_closes(cx));
        }
        if !self.shut_down {
            let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
            self.shut_down = true;
        }
        if server && self.conn.state() == State::Failed {
            // Linger until the client closes its side too. A client that broke the protocol
            // may still be sending frames behind the one that failed the connection; closing
            // the socket with them unread resets the connection, and the reset can destroy
            // the Close frame with our code before the client reads it. (After a clean
            // closing handshake the client has nothing more to send.)
            ready!(self.poll_until_peer_closes(cx));
        }
        Poll::Ready(())
    }

    /// Reads until the peer closes the transport (or reading fails), dropping what arrives:
    /// the connection is over, so its read buffer is cleared before each read. A peer that
    /// keeps sending gets a few reads per poll, so that the close deadline is checked between
    /// them whatever the stream.
    fn poll_until_peer_closes(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        debug_assert!(!self.conn.wants_read());
        for _ in 0..READS_PER_POLL {
            match ready!(self.poll_fill(cx)) {
                Ok(0) | Err(_) => return Poll::Ready(()),
                Ok(_) => {}
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
