//! [`WebSocket`]: an open connection over any tokio byte stream. The type and its public
//! API live here; the read and write drivers and the timer in `drive.rs`, the teardown in
//! `finish.rs`.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use swell_frame::{CloseFrame, Connection, Message, MessageExtension, Role, State};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::config::{Config, Settings};
use crate::error::Error;
use crate::pool::ReadLease;
use crate::rng;
use future::{Feed, Flush, Recv, Send};

mod drive;
mod finish;
pub mod future;
#[cfg(test)]
mod tests;

/// The current instant as the core takes it: tokio's clock, so that a paused test clock
/// drives the deadlines too.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

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
/// While the application awaits [`WebSocket::recv`] (or the stream, or a
/// [`ReadHalf`](crate::ReadHalf)), the connection keeps itself alive: after
/// [`Config::ping_interval`] without a byte from the peer it sends a Ping, and a peer that
/// answers nothing within [`Config::ping_timeout`] more is taken for dead: the connection
/// fails with 1011 and yields [`Error::KeepaliveTimeout`]. Deadlines are only acted on while
/// the connection is polled: an application that stops reading sends no keepalive Pings and
/// notices nothing until it reads again, when the deadlines that passed are checked after
/// what arrived meanwhile is read. The deadlines run on tokio's timer, so the runtime needs
/// its time driver (`#[tokio::main]` and `Builder::enable_all` enable it; without it, tokio
/// panics when the connection first waits).
///
/// [`WebSocket::send`] returns once its message is written. [`WebSocket::feed`] only queues,
/// and what is queued leaves together, in one write, with the next `send` or `flush`, or when
/// `recv` has handed out everything already received: a loop of `recv` and `feed` answers a
/// burst with one write. A peer that stops reading makes sending wait once
/// [`Config::write_buffer_limit`] bytes are queued rather than letting the buffer grow; while
/// that much is queued, `recv` stops reading too, so what the peer sends then is not seen as
/// life: a peer that reads nothing of ours for the ping interval and timeout is failed as
/// dead (1011), however much it sends.
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    /// The settings of the facade's own (the core keeps the rest): not the whole `Config`,
    /// which would hold a second copy of the frame settings in every connection.
    write_buffer_limit: usize,
    read_chunk: usize,
    protocol: Option<Box<str>>,
    /// The permessage-deflate parameters agreed, if any.
    deflate: Option<swell_deflate::Params>,
    finish: Finish,
    /// The one timer, armed at the core's next deadline (or earlier); made at the first
    /// deadline and re-armed in place from then on.
    timer: Option<Pin<Box<Sleep>>>,
    /// The waker `timer` surely registered at its last poll, while it stays armed: polling
    /// it again with the same waker would change nothing, so the wait after each read skips
    /// it (see `poll_timer`).
    timer_waker: Option<Waker>,
    /// Bytes were written since the last flush of `io`.
    needs_flush: bool,
    /// The write side of `io` was shut down, at the end of the connection.
    shut_down: bool,
    /// Where the read buffer's allocation came from, for when it goes back to the pool.
    read_lease: ReadLease,
}

/// How far the end of the connection has come.
enum Finish {
    /// The connection is open or closing; nothing is finished.
    Running,
    /// The connection is over: flush, close the transport as the role requires, then yield
    /// this item. Boxed: every connection holds a `Finish`, few at a time are finishing.
    Pending(Box<Result<Message, Error>>),
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
        Self::from_settings(io, role, config.into_settings(), buffered)
    }

    pub(crate) fn from_settings(io: S, role: Role, settings: Settings, buffered: &[u8]) -> Self {
        let mut conn = match role {
            Role::Server => Connection::server(settings.frame),
            Role::Client => Connection::client(settings.frame, rng::mask_keys()),
        };
        let now = now();
        conn.handle_timeout(now);
        if !buffered.is_empty() {
            conn.handle_read(buffered);
            conn.handle_received(now);
        }
        Self {
            io,
            conn,
            write_buffer_limit: settings.write_buffer_limit,
            read_chunk: settings.read_chunk,
            protocol: None,
            deflate: None,
            finish: Finish::Running,
            timer: None,
            timer_waker: None,
            needs_flush: false,
            shut_down: false,
            read_lease: ReadLease::new(),
        }
    }

    pub(crate) fn set_protocol(&mut self, protocol: Option<String>) {
        self.protocol = protocol.map(String::into_boxed_str);
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

    /// The limits and deadlines in force, as the frame layer keeps them.
    pub fn frame_config(&self) -> &swell_frame::Config {
        self.conn.config()
    }

    /// The round trip of the last keepalive Ping the peer answered, if one was: how long the
    /// Pong took to arrive. `None` before the first answer or with keepalive off.
    pub fn latency(&self) -> Option<Duration> {
        self.conn.latency()
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
    pub fn recv(&mut self) -> Recv<'_, S> {
        Recv::new(self)
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
    pub fn send(&mut self, message: impl Into<Message>) -> Send<'_, S> {
        Send::new(self, message.into(), true)
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
    pub fn send_uncompressed(&mut self, message: impl Into<Message>) -> Send<'_, S> {
        Send::new(self, message.into(), false)
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
    pub fn feed(&mut self, message: impl Into<Message>) -> Feed<'_, S> {
        Feed::new(self, message.into())
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: what was not written stays queued.
    pub fn flush(&mut self) -> Flush<'_, S> {
        Flush::new(self)
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
        self.conn.close(frame)?;
        let mut peer = None;
        while let Some(item) = self.recv().await {
            if let Message::Close(frame) = item? {
                peer = frame;
            }
        }
        Ok(peer)
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
