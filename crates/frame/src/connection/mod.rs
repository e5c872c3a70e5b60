//! The connection state machine: bytes in, messages out; messages in, bytes out. The type,
//! its settings and the hints for its driver live here; the receive path is in `receive.rs`,
//! the send path in `send.rs` and the deadlines in `timers.rs`.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use crate::extension::MessageExtension;
use crate::header::{FrameHeader, OpCode};
use crate::transmit::Transmit;
use crate::utf8::Utf8Validator;

/// Which end of the connection this is. Clients mask what they send; servers must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Limits, policy and deadlines for one connection.
///
/// The defaults suit the open internet: a message of up to 64 MiB, in as many frames as the
/// peer likes, and messages sent in frames of at most 1 MiB; a keepalive Ping after 20 s
/// without a byte from the peer, and the connection failed with 1011 if nothing answers it
/// within 20 s more; 5 s for the closing handshake. A peer that passes a size limit fails the
/// connection with close code 1009.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The longest frame payload accepted, in bytes, if frames are to be limited apart from
    /// messages. Default `None`: a frame is bounded by the message limit alone, so that any
    /// message that fits the limit gets through, however the peer frames it.
    ///
    /// A whole frame is held in memory before it is delivered, so the frame limit, or else
    /// the message limit, bounds the read buffer. A frame of a compressed message is bounded
    /// by the longest a message at the limit can be once encoded
    /// ([`MessageExtension::max_encoded_len`]): incompressible data grows a little.
    pub max_frame_size: Option<usize>,
    /// The longest message accepted, in bytes, counted over all its frames (after
    /// decompression). Default 64 MiB.
    pub max_message_size: usize,
    /// The longest frame payload sent, in bytes: a longer message leaves as fragments of this
    /// size (RFC 6455 §5.4), its first frame alone carrying RSV1 when it is compressed.
    /// Default 1 MiB, which every common receiver's frame limit admits (tungstenite's is
    /// 16 MiB; browsers, node's `ws` and python `websockets` have no frame limit below their
    /// message limit) and which costs 14 header bytes per MiB. A value of 0 is taken as 1.
    pub send_frame_size: usize,
    /// Accept frames a client did not mask. RFC 6455 §5.1 requires a server to fail such a
    /// connection; only turn this on for peers that are known to break the rule. Default off.
    pub danger_accept_unmasked_frames: bool,
    /// How long the peer may send nothing before a keepalive Ping goes out; `None` sends
    /// none. Any bytes from the peer count as life and push the Ping back. Default 20 s, as
    /// python `websockets`.
    pub ping_interval: Option<Duration>,
    /// How long after a keepalive Ping the peer may still send nothing, neither the Pong nor
    /// anything else, before it is taken for dead and the connection failed with 1011
    /// ([`Timeout::Keepalive`]); `None` never gives up. Default 20 s.
    pub ping_timeout: Option<Duration>,
    /// How long the connection may carry no data message, in either direction, before it is
    /// closed with 1001 ([`Timeout::Idle`]); Pings and Pongs do not count. Default `None`:
    /// a quiet connection stays open (for servers that want to shed idle clients).
    ///
    /// A message received counts from when its bytes arrived; one sent, from the next
    /// instant the driver passes in ([`Connection::handle_received`],
    /// [`Connection::handle_timeout`]), so a connection that only sends may be closed up to
    /// one `idle_timeout` late, never early.
    pub idle_timeout: Option<Duration>,
    /// How long the end of the connection may take, from when it starts (a Close sent or
    /// received, or a failure) until the transport is closed ([`Timeout::Close`]): the peer's
    /// answer to our Close, the server closing TCP after the handshake, the linger after a
    /// failure. Default 5 s.
    pub close_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: None,
            max_message_size: 64 << 20,
            send_frame_size: 1 << 20,
            danger_accept_unmasked_frames: false,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            idle_timeout: None,
            close_timeout: Duration::from_secs(5),
        }
    }
}

/// Where the connection is in its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close and wait for the peer's. Messages still arrive; none may be sent.
    Closing,
    /// Close frames went both ways: the closing handshake is complete (the last one may still
    /// wait in the transmit buffer). The server closes the TCP connection next; the client
    /// waits for it.
    Closed,
    /// The peer broke the protocol. A Close with the error's code may wait in the transmit
    /// buffer; after it the TCP connection should be closed.
    Failed,
}

mod receive;
mod send;
mod timers;

pub use timers::Timeout;
use timers::Timers;

/// Payloads at least this long are queued by reference instead of copied, when they are not
/// masked; below it, one contiguous copy is cheaper than another entry in a vectored write.
const SHARE_PAYLOAD_AT: usize = 4096;
// A copied payload's frame has a header of at most 4 bytes, as `Connection::send` reserves.
const _: () = assert!(SHARE_PAYLOAD_AT <= 1 << 16);

/// One end of a WebSocket connection, after the opening handshake. It does no I/O and reads
/// no clock.
///
/// The caller moves bytes and time between it and the world:
///
/// 1. When the connection opens, call [`Connection::handle_timeout`] with the current instant
///    to start its clocks.
/// 2. Append bytes read from the peer to [`Connection::read_buf`] (or pass them to
///    [`Connection::handle_read`]), then call [`Connection::handle_received`] with the instant
///    they arrived.
/// 3. Call [`Connection::poll_message`] until it returns `Ok(None)`, which means it needs more
///    bytes. Each `Ok(Some(_))` is a complete message or a control frame. An `Err` means the
///    peer broke the protocol: the connection is [`State::Failed`] and a Close is queued.
/// 4. Queue messages with [`Connection::send`] and friends.
/// 5. Write [`Connection::transmit`] to the peer whenever it is not empty. Automatic Pongs,
///    keepalive Pings and Close replies are queued there too, so write it after polling, after
///    a timeout and after sending.
/// 6. Keep one timer armed at [`Connection::poll_timeout`], asking again after each of the
///    steps above; when it fires, call [`Connection::handle_timeout`] and act on what it
///    returns. [`Timeout::Close`] means the connection is over: close the transport.
///
/// Once the state is [`State::Closed`] or [`State::Failed`] and the transmit buffer is empty,
/// the connection is over: a server closes the transport; a client waits for the server to
/// close it first (RFC 6455 §7.1.1); either way no longer than the close timeout.
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    /// Received bytes not yet consumed: at most the frame being read and what came after it.
    read_buf: BytesMut,
    /// Small whole messages taken from the front of the read buffer, unmasked and checked,
    /// their frames back to back with their headers: handed out before anything else.
    ready: Bytes,
    /// The frame whose header has been decoded and whose payload is still arriving.
    frame: Option<InFrame>,
    /// The fragmented message being assembled. Boxed: few messages are fragmented, and
    /// every connection holds this room.
    message: Option<Box<InMessage>>,
    /// Checks the text message being received, frame by frame and read by read.
    utf8: Utf8Validator,
    transmit: Transmit,
    /// The kind of the fragmented message being sent, if one is unfinished.
    sending: Option<OpCode>,
    /// Client only: where masking keys come from.
    mask_keys: Option<Box<dyn FnMut() -> [u8; 4] + Send>>,
    /// The negotiated per-message extension, if any; it owns RSV1.
    extension: Option<Box<dyn MessageExtension>>,
    /// The deadlines and what they are measured from.
    timers: Timers,
}

struct InFrame {
    header: FrameHeader,
    /// At most [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN); small, as every connection holds
    /// an `InFrame`'s room.
    header_len: u8,
    /// Payload bytes already unmasked (and checked, for text) in place.
    processed: usize,
    /// Whether the raw payload is text to check as it arrives (an uncompressed text message).
    text: bool,
    /// Whether the payload belongs to a message the extension must decode (RSV1).
    encoded: bool,
}

struct InMessage {
    opcode: OpCode,
    /// The message so far; decoded, if it is `encoded`.
    data: BytesMut,
    encoded: bool,
}

/// What a header tells about its payload.
struct PayloadKind {
    text: bool,
    encoded: bool,
}

impl Connection {
    /// A server's end of a connection.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client's end of a connection. `mask_keys` is called for the masking key of every
    /// frame sent; RFC 6455 §5.3 asks for keys from a strong source of entropy, unpredictable
    /// to the applications that supply payloads.
    pub fn client(config: Config, mask_keys: impl FnMut() -> [u8; 4] + Send + 'static) -> Self {
        Self::new(Role::Client, config, Some(Box::new(mask_keys)))
    }

    fn new(
        role: Role,
        config: Config,
        mask_keys: Option<Box<dyn FnMut() -> [u8; 4] + Send>>,
    ) -> Self {
        Self {
            role,
            config,
            state: State::Open,
            read_buf: BytesMut::new(),
            ready: Bytes::new(),
            frame: None,
            message: None,
            utf8: Utf8Validator::default(),
            transmit: Transmit::default(),
            sending: None,
            mask_keys,
            extension: None,
            timers: Timers::default(),
        }
    }

    /// Installs the per-message extension negotiated in the handshake, such as
    /// permessage-deflate. It owns RSV1: with one installed, RSV1 may start a data message;
    /// without, RSV1 fails the connection. Install it before any frame is processed.
    pub fn set_extension(&mut self, extension: Box<dyn MessageExtension>) {
        self.extension = Some(extension);
    }

    /// Whether a per-message extension is installed.
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    /// This end's role.
    #[inline]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its lifetime.
    #[inline]
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether input from the peer can still matter: the state is [`State::Open`] or
    /// [`State::Closing`].
    #[inline]
    pub fn wants_read(&self) -> bool {
        matches!(self.state, State::Open | State::Closing)
    }

    /// The buffer bytes from the peer are appended to, for reading straight from a transport.
    ///
    /// Only append: the start of the buffer may hold a frame already partly processed in place.
    #[inline]
    pub fn read_buf(&mut self) -> &mut BytesMut {
        if !self.wants_read() {
            // Input after the end is ignored; do not let it pile up.
            self.read_buf.clear();
        }
        &mut self.read_buf
    }

    /// Appends bytes received from the peer.
    pub fn handle_read(&mut self, data: &[u8]) {
        self.read_buf().extend_from_slice(data);
    }

    /// Bytes received and not yet handled by [`Connection::poll_message`]: while there are
    /// any, more messages may be ready without reading.
    #[inline]
    pub fn buffered(&self) -> usize {
        let handled = self
            .frame
            .as_ref()
            .map_or(0, |frame| usize::from(frame.header_len) + frame.processed);
        self.ready.len() + self.read_buf.len() - handled
    }

    /// Payload bytes of the frame being received that have not arrived yet; 0 between
    /// frames. A hint for sizing the next read, never a reason to allocate by itself: the
    /// length is the peer's claim.
    #[inline]
    pub fn frame_missing(&self) -> usize {
        self.frame.as_ref().map_or(0, |frame| {
            let arrived = self.read_buf.len() - usize::from(frame.header_len);
            usize::try_from(frame.header.payload_len)
                .unwrap_or(usize::MAX)
                .saturating_sub(arrived)
        })
    }

    /// The encoded frames waiting to be written to the peer.
    #[inline]
    pub fn transmit(&mut self) -> &mut Transmit {
        &mut self.transmit
    }

    /// Whether a received message is partly buffered: a frame or fragments whose rest has not
    /// arrived.
    #[inline]
    pub fn is_receiving(&self) -> bool {
        self.frame.is_some()
            || self.message.is_some()
            || !self.ready.is_empty()
            || !self.read_buf.is_empty()
    }

    /// Frees the read and write buffers if they hold nothing, so that an idle connection holds
    /// no buffer memory. They are allocated again as needed.
    pub fn shrink_buffers(&mut self) {
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        }
        self.transmit.shrink();
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered", &self.read_buf.len())
            .field("transmit", &self.transmit.remaining())
            .finish_non_exhaustive()
    }
}
