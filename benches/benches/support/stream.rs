//! The in-memory stream of the facade benchmarks: every other read is `Pending`, as a
//! drained socket gives, and then brings the same input again (over as many reads as the
//! reader's buffer needs); writes are counted and dropped.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose every other read is `Pending` and whose writes are discarded.
pub(crate) struct Loop {
    input: Vec<u8>,
    /// How much of `input` the reads since the last `Pending` took.
    taken: usize,
    ready: bool,
    /// Bytes written so far.
    pub(crate) written: usize,
}

impl Loop {
    /// A stream whose every read after a `Pending` brings `input`.
    pub(crate) fn new(input: Vec<u8>) -> Self {
        Self {
            input,
            taken: 0,
            ready: false,
            written: 0,
        }
    }
}

impl AsyncRead for Loop {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ready {
            // Nothing to read yet; it arrives as soon as the task is polled again.
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let this = &mut *self;
        let n = buf.remaining().min(this.input.len() - this.taken);
        buf.put_slice(&this.input[this.taken..this.taken + n]);
        this.taken += n;
        if this.taken == this.input.len() {
            this.taken = 0;
            this.ready = false;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Loop {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written += b.len();
        Poll::Ready(Ok(b.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.written += n;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
