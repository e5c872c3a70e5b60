//! permessage-deflate (RFC 7692) for swell: negotiation of all four parameters in both roles,
//! and compression with and without context takeover, with inflation capped by the message
//! limit whatever the compression ratio.
//!
//! A negotiated session ([`Deflate`]) plugs into `swell-frame`'s [`MessageExtension`] hook:
//! the frame layer keeps RSV1 to the first frame of compressed messages, rejects it anywhere
//! else, and hands each frame of a compressed message to [`Deflate`] as it arrives, so text
//! is still checked as it is inflated and memory stays bounded by the limit, not by the peer.
//! This crate knows nothing of sockets or HTTP parsing: offers and responses are
//! `swell-handshake` [`Extension`](swell_handshake::Extension)s.
//!
//! # Example
//!
//! Negotiation in memory, then one compressed message from client to server:
//!
//! ```
//! use bytes::Buf;
//! use swell_deflate::{DeflateConfig, accept, accept_response};
//! use swell_frame::{Config, Connection, Message};
//!
//! let config = DeflateConfig::default();
//! let offer = config.offer(); // the client's Sec-WebSocket-Extensions
//! let (response, server_session) = accept(&[offer], &config).expect("acceptable");
//! let client_session = accept_response(&[response], &[config])?.expect("accepted");
//!
//! let mut client = Connection::client(Config::default(), || [1, 2, 3, 4]);
//! client.set_extension(Box::new(client_session));
//! let mut server = Connection::server(Config::default());
//! server.set_extension(Box::new(server_session));
//!
//! let text = "a message that repeats, repeats, repeats, repeats itself";
//! client.send(Message::text(text))?;
//! let out = client.transmit();
//! let wire = out.copy_to_bytes(out.remaining());
//! assert!(wire.len() < text.len()); // compressed on the wire
//! assert_eq!(wire[0] & 0x40, 0x40); // with RSV1 set
//! server.handle_read(&wire);
//! assert_eq!(server.poll_message()?, Some(Message::text(text)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`MessageExtension`]: swell_frame::MessageExtension

#![forbid(unsafe_code)]

mod codec;
mod negotiate;
mod params;
mod pool;

pub use crate::codec::Deflate;
pub use crate::negotiate::{DeflateConfig, NegotiationError, accept, accept_response};
pub use crate::params::{InvalidParams, NAME, Params};
