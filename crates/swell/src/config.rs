//! Settings for a connection: limits, timeouts and buffer sizes.

use std::time::Duration;

use swell_deflate::DeflateConfig;
use swell_handshake::HeadLimits;

/// Limits, timeouts and buffer sizes for one WebSocket connection, both roles.
///
/// Every limit has a default that is safe on the open internet; each says what a peer that
/// passes it gets.
///
/// ```
/// use std::time::Duration;
///
/// let config = swell::Config::default()
///     .max_message_size(1 << 20)
///     .close_timeout(Duration::from_secs(2));
/// assert_eq!(config.frame().max_message_size, 1 << 20);
/// ```
///
/// The setters return the new `Config`; one whose result is dropped is a mistake the
/// compiler points out:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let config = swell::Config::default();
/// config.max_message_size(1 << 20); // does nothing: the result is dropped
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Config does nothing until it is passed to accept_with, ClientBuilder::config or an upgrade"]
pub struct Config {
    pub(crate) frame: swell_frame::Config,
    pub(crate) head: HeadLimits,
    pub(crate) handshake_timeout: Duration,
    pub(crate) write_buffer_limit: usize,
    pub(crate) read_chunk: usize,
    pub(crate) deflate: Vec<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            frame: swell_frame::Config::default(),
            head: HeadLimits::default(),
            handshake_timeout: Duration::from_secs(10),
            write_buffer_limit: 128 * 1024,
            read_chunk: 32 * 1024,
            deflate: Vec::new(),
        }
    }
}

impl Config {
    /// The longest frame accepted, in bytes; a longer one fails the connection with 1009.
    /// By default frames are bounded by [`Config::max_message_size`] alone, so that every
    /// message under the limit gets through however the peer frames it; set a frame limit
    /// only to hold less than a whole message in the read buffer at once.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.frame.max_frame_size = Some(bytes);
        self
    }

    /// The longest message accepted, in bytes, over all its frames and after decompression;
    /// a longer one fails the connection with 1009. Default 64 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.frame.max_message_size = bytes;
        self
    }

    /// The longest frame sent, in bytes: a longer message leaves as fragments of this size.
    /// Default 1 MiB, which every common receiver's frame limit admits (tungstenite's, the
    /// lowest among them, is 16 MiB).
    pub fn send_frame_size(mut self, bytes: usize) -> Self {
        self.frame.send_frame_size = bytes;
        self
    }

    /// Accept frames a client did not mask, against RFC 6455 §5.1. Default off.
    pub fn danger_accept_unmasked_frames(mut self, accept: bool) -> Self {
        self.frame.danger_accept_unmasked_frames = accept;
        self
    }

    /// The largest HTTP head accepted during the handshake, in bytes; a server answers a
    /// larger one with 431. Default 16 KiB.
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.head.max_head_size = bytes;
        self
    }

    /// The most header fields accepted during the handshake; a server answers more with 431.
    /// Default 64.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.head.max_headers = count;
        self
    }

    /// How long the whole opening handshake may take, TCP connect included for
    /// [`connect`](crate::connect). Default 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long the closing handshake may take: from our Close until the peer's, and from
    /// the last Close until the TCP connection is closed. Default 5 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.frame.close_timeout = timeout;
        self
    }

    /// How long the peer may send nothing before a keepalive Ping goes out; `None` turns
    /// keepalive off. Any bytes from the peer count as life and push the Ping back. Default
    /// 20 s, as python `websockets`. Pings go out only while the connection is read (see
    /// [`WebSocket`](crate::WebSocket)); their Pongs are not handed to the application.
    pub fn ping_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.frame.ping_interval = interval.into();
        self
    }

    /// How long after a keepalive Ping the peer may still send nothing before it is taken
    /// for dead: the connection fails with 1011 and yields
    /// [`Error::KeepaliveTimeout`](crate::Error::KeepaliveTimeout). `None` keeps pinging
    /// without ever giving up. Default 20 s, so a peer that vanished is noticed 40 s after
    /// its last byte.
    pub fn ping_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.frame.ping_timeout = timeout.into();
        self
    }

    /// How long the connection may carry no text or binary message, in either direction,
    /// before it is closed with 1001 ("going away"); Pings and Pongs do not count. Default
    /// `None`: quiet connections stay open. For servers that shed idle clients. A message
    /// sent counts from the next read or timer after it, so a connection that only sends
    /// may be closed up to one timeout late, never early.
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.frame.idle_timeout = timeout.into();
        self
    }

    /// How many bytes may wait to be written before sending waits for the peer to read, and
    /// reading stops queueing automatic replies. Default 128 KiB.
    pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
        self.write_buffer_limit = bytes;
        self
    }

    /// How much room to make in the read buffer before each read. Default 32 KiB, so that a
    /// 16 KiB message arrives in one read. Idle connections hold no read buffer (they share
    /// a per-thread pool), so this costs memory only while a connection is receiving. A frame
    /// larger than this is read with room for the rest of it, but never more than twice what
    /// has already arrived: a peer's declared length alone allocates nothing.
    ///
    /// While a peer streams faster than it is read, each read that fills all its room
    /// doubles the room for the next, up to 8 times this (256 KiB by default), so that many
    /// messages arrive per system call; a read that fills less than half its room halves it
    /// again. Growing the buffer may double its allocation, so it can hold up to twice that.
    pub fn read_chunk(mut self, bytes: usize) -> Self {
        self.read_chunk = bytes.max(1);
        self
    }

    /// Enables permessage-deflate (RFC 7692): a client offers it, a server accepts an offer
    /// that fits. Off by default. Inflated messages count against
    /// [`Config::max_message_size`], so compression cannot be used to pass the limit.
    ///
    /// The presets trade a server's memory per connection against ratio:
    /// [`DeflateConfig::default`] (~38 KiB per connection once used; the server's compressor
    /// keeps no context), [`DeflateConfig::no_context_takeover`] (nothing held between
    /// messages), [`DeflateConfig::context_takeover`] (~350 KiB, the best ratio on short
    /// messages). No zlib stream is allocated before the first compressed message.
    pub fn deflate(self, deflate: DeflateConfig) -> Self {
        self.deflate_offers([deflate])
    }

    /// Enables permessage-deflate with several offers, in order of preference (client). A
    /// server uses the first to decide what to accept.
    pub fn deflate_offers(mut self, offers: impl IntoIterator<Item = DeflateConfig>) -> Self {
        self.deflate = offers.into_iter().collect();
        self
    }

    /// What an open connection keeps of its configuration.
    pub(crate) fn into_settings(self) -> Settings {
        Settings {
            frame: self.frame,
            write_buffer_limit: self.write_buffer_limit,
            read_chunk: self.read_chunk,
        }
    }

    /// The frame-level limits.
    pub fn frame(&self) -> &swell_frame::Config {
        &self.frame
    }

    /// The handshake head limits.
    pub fn head_limits(&self) -> &HeadLimits {
        &self.head
    }
}

/// The part of a [`Config`] an open connection needs: the frame layer's settings and the
/// facade's buffer sizes. Handshake settings are done with once the connection is open, and
/// a connection waiting for its stream (behind an HTTP upgrade) need not hold them.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) frame: swell_frame::Config,
    pub(crate) write_buffer_limit: usize,
    pub(crate) read_chunk: usize,
}
