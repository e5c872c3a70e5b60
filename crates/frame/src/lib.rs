//! Sans-IO RFC 6455: WebSocket frames, masking, fragmentation, control frames, close codes,
//! UTF-8 and limits, and the connection state machine that ties them together.
//!
//! This crate does no I/O, spawns nothing and reads no clock: bytes, messages and time go
//! in, bytes and messages come out, and the same input gives the same output. Any transport
//! can drive it; the `swell` crate drives it over tokio. Its deadlines — keepalive Pings,
//! dead-peer detection, the idle timeout, the bound on the closing handshake — run on the
//! instants the driver passes in ([`Connection::handle_timeout`],
//! [`Connection::poll_timeout`]). No input from a peer makes it panic: every
//! violation is a [`ProtocolError`] that knows its close code, and every buffer is bounded by
//! a limit in [`Config`].
//!
//! # Example
//!
//! A client and a server wired together in memory:
//!
//! ```
//! use bytes::Buf;
//! use swell_frame::{Config, Connection, Message};
//!
//! let mut client = Connection::client(Config::default(), || [0x12, 0x34, 0x56, 0x78]);
//! let mut server = Connection::server(Config::default());
//!
//! client.send(Message::text("Hello"))?;
//! // Move the client's bytes to the server, as a socket would.
//! let out = client.transmit();
//! let wire = out.copy_to_bytes(out.remaining());
//! server.handle_read(&wire);
//! assert_eq!(server.poll_message()?, Some(Message::text("Hello")));
//! assert_eq!(server.poll_message()?, None); // needs more bytes
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Time, as a driver passes it in: the clocks start at the first instant, and a connection
//! that hears nothing sends a keepalive Ping when its deadline comes.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use swell_frame::{Config, Connection};
//!
//! let mut server = Connection::server(Config::default());
//! let start = Instant::now();
//! server.handle_timeout(start);
//! let deadline = server.poll_timeout().expect("keepalive is on by default");
//! assert_eq!(deadline, start + Duration::from_secs(20));
//! assert_eq!(server.handle_timeout(deadline), None); // not a failure: a Ping was queued
//! assert!(!server.transmit().is_empty());
//! ```

mod close;
mod connection;
mod error;
mod extension;
mod header;
mod mask;
mod message;
mod transmit;
mod utf8;

pub use crate::close::{CloseCode, CloseFrame};
pub use crate::connection::{Config, Connection, Role, State, Timeout};
pub use crate::error::{ProtocolError, SendError};
pub use crate::extension::{DecodeError, MessageExtension};
pub use crate::header::{FrameHeader, MAX_HEADER_LEN, OpCode};
pub use crate::mask::{apply_mask, apply_mask_at};
pub use crate::message::Message;
pub use crate::transmit::Transmit;
pub use crate::utf8::Utf8Bytes;
