//! [`WebSocket`]: an open connection over any tokio byte stream.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use swell_frame::{CloseCode, CloseFrame, Connection, Message, MessageExtension, Role, State};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::config::Config;
use crate::error::Error;
use crate::pool;
use crate::rng;

/// Capacity an idle connection keeps in its queue of large frames (32 entries); a queue that
/// grew past it for a burst is freed. Its write buffer goes back to the thread's pool.
const IDLE_QUEUE_BYTES: usize = 1024;

/// An open WebSocket connection over the byte stream `S`.
///
/// Read messages with [`WebSocket::recv`] or as a [`Stream`]; send them with
/// [`WebSocket::send`] or as a [`Sink`]; end with [`WebSocket::close`]. Pings are answered
/// and the peer's Close is answered without help, as long as the connection is read.
///
/// The stream yields text, binary, Ping and Pong messages, then the peer's
/// [`Message::Close`] when the closing handshake completes, then `None`. A protocol
/// violation by the peer is yielded once as [`Error::Protocol`], after the Close frame with
/// its code was sent; then `None`. By the time the Close or the error is yielded, the server
/// has closed the TCP connection and the client has seen the server close it (RFC 6455
/// §7.1.1); after a protocol violation, a server has also read and dropped what the client
/// still sent until the client closed too, so that its Close is not lost to a reset. All of
/// it is bounded by the close timeout.
///
/// [`WebSocket::send`] returns once its message is written. [`WebSocket::feed`] only queues,
/// and what is queued leaves together, in one write, with the next `send` or `flush`, or when
/// `recv` has handed out everything already received: a loop of `recv` and `feed` answers a
/// burst with one write. A peer that stops reading makes sending wait once
/// [`Config::write_buffer_limit`] bytes are queued rather than letting the buffer grow.
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    config: Config,
    protocol: Option<String>,
    /// The permessage-deflate parameters agreed, if any.
    deflate: Option<swell_deflate::Params>,
    finish: Finish,
    /// Bounds the closing handshake once it has started.
    close_deadline: Option<Pin<Box<Sleep>>>,
    /// Bytes were written since the last flush of `io`.
    needs_flush: bool,
    /// The write side of `io` was shut down, at the end of the connection.
    shut_down: bool,
    /// What is known of the allocation behind the read buffer, for when it goes back to the
    /// pool. `poll_fill` is the one place that reserves the buffer; the `Connection` only
    /// appends to, splits and clears it.
    read_alloc: ReadAlloc,
}

/// The allocation behind a connection's read buffer, as far as the pool is concerned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ReadAlloc {
    /// The one it was taken from the pool with, which was small enough to keep then.
    Pooled,
    /// Another one, or one of unknown size: it is checked before it is kept.
    Unchecked,
    /// One larger than the pool keeps, reserved for a large frame. It is never kept, even
    /// while a message still shares it and it cannot be seen to be large.
    Large,
}

/// How far the end of the connection has come.
enum Finish {
    /// The connection is open or closing; nothing is finished.
    Running,
    /// The connection is over: flush, close the transport as the role requires, then yield
    /// this item.
    Pending(Option<Result<Message, Error>>),
    /// Everything is done; the stream yields `None`.
    Done,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps a stream on which the opening handshake already happened.
    ///
    /// `buffered` holds bytes read from the stream after the handshake's HTTP head: they are
    /// the start of the WebSocket stream and are processed first.
    pub fn from_raw(io: S, role: Role, config: Config, buffered: &[u8]) -> Self {
        let mut conn = match role {
            Role::Server => Connection::server(config.frame().clone()),
            Role::Client => Connection::client(config.frame().clone(), rng::mask_keys()),
        };
        conn.handle_read(buffered);
        Self {
            io,
            conn,
            config,
            protocol: None,
            deflate: None,
            finish: Finish::Running,
            close_deadline: None,
            needs_flush: false,
            shut_down: false,
            read_alloc: ReadAlloc::Unchecked,
        }
    }

    pub(crate) fn set_protocol(&mut self, protocol: Option<String>) {
        self.protocol = protocol;
    }

    /// Installs a per-message extension negotiated in the handshake, such as a
    /// `swell_deflate::Deflate` session. [`accept`](crate::accept) and
    /// [`connect`](crate::connect) do this themselves; this is for connections set up
    /// elsewhere and wrapped with [`WebSocket::from_raw`]. Install it before the first
    /// message is received or sent.
    pub fn with_extension(mut self, extension: Box<dyn MessageExtension>) -> Self {
        self.conn.set_extension(extension);
        self
    }

    /// Whether a per-message extension (permessage-deflate) was negotiated.
    pub fn has_extension(&self) -> bool {
        self.conn.has_extension()
    }

    /// The subprotocol agreed on in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.conn.role()
    }

    /// Where the connection is in its closing handshake.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The underlying stream. Reading from or writing to it corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The underlying stream, giving up the connection. Bytes received but not yet handled
    /// and frames queued but not yet written are dropped with it.
    pub fn into_inner(self) -> S {
        self.io
    }

    /// The permessage-deflate parameters agreed in the handshake, if it was negotiated:
    /// known to connections opened by `accept`, `connect` and swell-hyper's upgrades, `None`
    /// after [`WebSocket::from_raw`] (whose caller installed any extension itself).
    pub fn deflate(&self) -> Option<&swell_deflate::Params> {
        self.deflate.as_ref()
    }

    pub(crate) fn set_deflate(&mut self, params: Option<swell_deflate::Params>) {
        self.deflate = params;
    }

    /// Receives the next message; `None` once the connection is over.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no message is lost; the
    /// next call returns it.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Sends a message: when it returns `Ok`, the message and everything queued before it
    /// have been written to the stream and the stream flushed. While the peer does not read
    /// and the stream cannot take more, `send` waits; that is the backpressure.
    ///
    /// To answer many messages with one write, queue the replies with [`WebSocket::feed`]
    /// instead: [`WebSocket::recv`] writes everything queued before it waits for the peer.
    ///
    /// Sending [`Message::Close`] starts the closing handshake; keep receiving to see the
    /// peer's Close, or use [`WebSocket::close`], which waits for it.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] if the connection is closing or the message is invalid (a control
    /// payload over 125 bytes), [`Error::Io`] if writing fails.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, the message may have been queued but not
    /// yet written. A later `send`, `flush` or `recv` writes it.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        // The steps are spelled out here and in `send_uncompressed`: as a shared async helper
        // they cost ~35 more instructions per message, for the nested future.
        let message = message.into();
        poll_fn(|cx| self.poll_ready_send(cx)).await?;
        self.queue_message(message, true)?;
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Sends a message as [`WebSocket::send`] does, but uncompressed even when
    /// permessage-deflate was negotiated: for data that is already compressed.
    ///
    /// # Errors
    ///
    /// As for [`WebSocket::send`].
    ///
    /// # Cancel safety
    ///
    /// As for [`WebSocket::send`].
    pub async fn send_uncompressed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| self.poll_ready_send(cx)).await?;
        self.queue_message(message, false)?;
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Queues a message without writing it, for sending many messages in one write. Waits
    /// only while [`Config::write_buffer_limit`] bytes are already queued.
    ///
    /// What is queued is written by the next [`WebSocket::send`], [`WebSocket::flush`] or
    /// [`WebSocket::close`], and by [`WebSocket::recv`] once every message already received
    /// has been handed out, before it waits for the peer. So an echo loop of `recv` and
    /// `feed` answers a burst of messages that arrived in one read with one write, and never
    /// leaves a reply behind while it waits.
    ///
    /// # Errors
    ///
    /// As for [`WebSocket::send`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, the message was not queued.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| self.poll_ready_send(cx)).await?;
        self.start_send_message(message)
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: what was not written stays queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Closes the connection: sends a Close with `frame` (or no code for `None`), then
    /// receives until the peer's Close arrives and the TCP connection ends. Messages that
    /// arrive meanwhile are dropped. Returns the peer's Close frame.
    ///
    /// If the closing handshake already started, it waits for it to finish.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a code that may not be sent, [`Error::CloseTimeout`] if the peer
    /// does not answer within the close timeout, and any error the connection ends with.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: calling it again continues where it stopped.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<Option<CloseFrame>, Error> {
        self.start_close(frame)?;
        let mut peer = None;
        while let Some(item) = self.recv().await {
            if let Message::Close(frame) = item? {
                peer = frame;
            }
        }
        Ok(peer)
    }

    fn start_close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.conn.close(frame)?;
        self.arm_close_deadline();
        Ok(())
    }

    fn arm_close_deadline(&mut self) {
        if self.close_deadline.is_none() {
            self.close_deadline = Some(Box::pin(tokio::time::sleep(self.config.close_timeout)));
        }
    }

    /// Whether the connection is over and the stream has yielded `None`.
    pub(crate) fn is_terminated(&self) -> bool {
        matches!(self.finish, Finish::Done)
    }

    fn enter_finish(&mut self, item: Option<Result<Message, Error>>) {
        self.finish = Finish::Pending(item);
        self.arm_close_deadline();
    }

    /// Whether the close deadline has passed (and registers for its wake-up if not).
    fn close_deadline_passed(&mut self, cx: &mut Context<'_>) -> bool {
        self.close_deadline
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
    }

    /// The engine behind [`WebSocket::recv`] and [`Stream::poll_next`].
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        loop {
            match &mut self.finish {
                Finish::Done => return Poll::Ready(None),
                Finish::Pending(_) => {
                    ready!(self.poll_finish(cx));
                    let Finish::Pending(item) = std::mem::replace(&mut self.finish, Finish::Done)
                    else {
                        unreachable!("matched above")
                    };
                    return Poll::Ready(item);
                }
                Finish::Running => {}
            }
            if self.conn.state() == State::Closing && self.close_deadline_passed(cx) {
                self.finish = Finish::Done;
                return Poll::Ready(Some(Err(Error::CloseTimeout)));
            }
            match self.conn.poll_message() {
                Ok(Some(Message::Close(frame))) => {
                    self.enter_finish(Some(Ok(Message::Close(frame))));
                    continue;
                }
                Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                Err(e) => {
                    self.enter_finish(Some(Err(Error::Protocol(e))));
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
                    // Keep reading while the peer is slow to read, unless too much is queued.
                    Poll::Pending => {
                        if self.conn.transmit().remaining() >= self.config.write_buffer_limit {
                            return Poll::Pending;
                        }
                    }
                }
            }
            match ready!(self.poll_fill(cx)) {
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
                // What arrived may need an automatic reply (a Pong, a Close): it is encoded
                // into the pooled write buffer, not a new one.
                Ok(_) => self.lend_write_buffer(),
                Err(e) => {
                    self.finish = Finish::Done;
                    return Poll::Ready(Some(Err(Error::Io(e))));
                }
            }
        }
    }

    /// Reads once from the stream into the connection's read buffer.
    ///
    /// A connection whose read finds nothing while its buffers are empty is idle: it gives
    /// its read and write buffers back to the thread's pools (and frees a large-frame queue
    /// that grew), so that idle connections hold no buffer memory.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Room for the rest of a large frame in one go, but never more than what has
        // arrived: the buffer grows with the data, not with the declared length.
        let missing = self.conn.frame_missing();
        let chunk = self.config.read_chunk;
        let buf = self.conn.read_buf();
        let want = chunk.max(missing.min(buf.len()));
        if buf.capacity() == 0 {
            *buf = pool::take_read();
            self.read_alloc = ReadAlloc::Pooled;
        }
        // Half the room asked for is enough to read into: a pooled buffer is usually the
        // tail of the space the last message was read into, and reclaiming that space on
        // every read would cost more than it saves.
        if buf.capacity() - buf.len() < want.div_ceil(2) {
            buf.reserve(want);
            // Right after a reservation the buffer's capacity is (nearly all of) its
            // allocation, so a large one shows; once a message is split off, it no longer does.
            self.read_alloc = if self.read_alloc == ReadAlloc::Large || pool::too_large(buf) {
                ReadAlloc::Large
            } else {
                ReadAlloc::Unchecked
            };
        }
        let read = tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf);
        if read.is_pending() && buf.is_empty() {
            let buf = std::mem::take(buf);
            match self.read_alloc {
                ReadAlloc::Pooled => pool::give_read(buf, false),
                ReadAlloc::Unchecked => pool::give_read(buf, true),
                ReadAlloc::Large => drop(buf),
            }
            let transmit = self.conn.transmit();
            if let Some(buf) = transmit.take_buffer() {
                pool::give_write(buf);
            }
            transmit.shrink_to(IDLE_QUEUE_BYTES);
        }
        read
    }

    /// Ends the connection after the closing handshake or a failure: writes what is queued,
    /// then closes the transport as RFC 6455 §7.1.1 asks of each role. Bounded by the close
    /// deadline; errors are ignored, as the connection is over either way.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.close_deadline_passed(cx) {
            return Poll::Ready(());
        }
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
        self.conn.shrink_buffers();
        Poll::Ready(())
    }

    /// Reads until the peer closes the transport (or reading fails), dropping what arrives:
    /// the connection is over, so its read buffer is cleared before each read.
    fn poll_until_peer_closes(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        debug_assert!(!self.conn.wants_read());
        loop {
            match ready!(self.poll_fill(cx)) {
                Ok(0) | Err(_) => return Poll::Ready(()),
                Ok(_) => {}
            }
        }
    }

    /// Writes queued frames until the queue is below the write buffer limit.
    pub(crate) fn poll_ready_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.conn.transmit().remaining() >= self.config.write_buffer_limit {
            ready!(self.poll_write_queued(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    #[inline]
    pub(crate) fn start_send_message(&mut self, message: Message) -> Result<(), Error> {
        self.queue_message(message, true)
    }

    /// Queues `message`, through the extension if `encode`; a Close starts the close timer.
    #[inline]
    fn queue_message(&mut self, message: Message, encode: bool) -> Result<(), Error> {
        let closing = message.is_close();
        self.lend_write_buffer();
        if encode {
            self.conn.send(message)?;
        } else {
            self.conn.send_unencoded(message)?;
        }
        if closing {
            self.arm_close_deadline();
        }
        Ok(())
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
            self.start_close(Some(CloseFrame::new(CloseCode::NORMAL, "")))?;
        }
        self.poll_flush_all(cx)
    }
}

impl<S> Stream for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Terminated once the stream has yielded `None`.
impl<S> FusedStream for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn is_terminated(&self) -> bool {
        self.is_terminated()
    }
}

/// Sending through the [`Sink`] queues messages and [`Sink::poll_flush`] writes them, so a
/// `send_all` leaves in as few writes as the buffer allows. [`Sink::poll_close`] sends a
/// Close (1000) and writes it; the peer's Close then arrives through the [`Stream`].
impl<S> Sink<Message> for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready_send(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().start_send_message(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_all(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_close_sink(cx)
    }
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;

    /// Receives on `server` until a read finds nothing, so that it goes idle and gives its
    /// buffers back to this thread's pool.
    async fn go_idle(server: &mut WebSocket<tokio::io::DuplexStream>) {
        let wait = tokio::time::timeout(Duration::from_millis(20), server.recv()).await;
        assert!(wait.is_err(), "nothing more was sent");
    }

    fn pair(config: Config) -> [WebSocket<tokio::io::DuplexStream>; 2] {
        let (client_io, server_io) = tokio::io::duplex(4 << 20);
        [
            WebSocket::from_raw(client_io, Role::Client, config.clone(), &[]),
            WebSocket::from_raw(server_io, Role::Server, config, &[]),
        ]
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_message_still_held_is_not_kept_alive_by_the_pool() {
        let [mut client, mut server] = pair(Config::default());
        let mut held = Vec::new();
        let mut pooled = 0;
        // How much of its allocation a message leaves behind depends on its size; some
        // sizes leave a tail small enough to look like a buffer worth keeping.
        for size in (100_000..400_000).step_by(13_000) {
            client.send(Message::binary(vec![7; size])).await.unwrap();
            let Some(Ok(Message::Binary(message))) = server.recv().await else {
                panic!("the message");
            };
            go_idle(&mut server).await;
            // The read buffer's tail starts where the message ends, in the same allocation.
            let tail = message.as_ptr().wrapping_add(message.len());
            if pool::read_buffers().contains(&tail) {
                pooled += 1;
            }
            held.push(message);
        }
        assert_eq!(pooled, 0, "tails of held large messages were pooled");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn after_small_messages_the_read_buffer_goes_back_to_the_pool() {
        let [mut client, mut server] = pair(Config::default());
        for _ in 0..3 {
            client.send(Message::binary(vec![1; 100])).await.unwrap();
            let Some(Ok(Message::Binary(small))) = server.recv().await else {
                panic!("the message");
            };
            go_idle(&mut server).await;
            let tail = small.as_ptr().wrapping_add(small.len());
            assert!(
                pool::read_buffers().contains(&tail),
                "kept for the next read"
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn automatic_pongs_are_written_from_the_pooled_buffer() {
        let [mut client, mut server] = pair(Config::default());
        // One message each way gives the server a write buffer, and idling gives it back.
        client.send(Message::binary(vec![1; 10])).await.unwrap();
        server.recv().await.unwrap().unwrap();
        server.send(Message::binary(vec![2; 10])).await.unwrap();
        client.recv().await.unwrap().unwrap();
        go_idle(&mut server).await;
        let pooled = pool::write_buffers();
        assert_eq!(pooled.len(), 1);
        for _ in 0..3 {
            client
                .send(Message::Ping(Bytes::from_static(b"hi")))
                .await
                .unwrap();
            assert_eq!(
                server.recv().await.unwrap().unwrap(),
                Message::Ping(Bytes::from_static(b"hi"))
            );
            go_idle(&mut server).await;
            assert_eq!(
                client.recv().await.unwrap().unwrap(),
                Message::Pong(Bytes::from_static(b"hi"))
            );
            assert_eq!(
                pool::write_buffers(),
                pooled,
                "the pong took the pooled buffer rather than a new one"
            );
        }
    }
}
