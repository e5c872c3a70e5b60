#![doc = include_str!("../README.md")]
//!
//! # Errors
//!
//! Each stage has its own error: [`AcceptError`] and [`ConnectError`] for the opening
//! handshake, [`Error`] for an open connection. A peer that breaks the protocol gets a Close
//! with the right code (1002, 1007, 1009) before the [`Error::Protocol`] reaches you.

#![forbid(unsafe_code)]

mod client;
mod config;
mod error;
mod head;
mod pool;
mod rng;
mod server;
mod split;
mod upgrade;
mod websocket;

pub use crate::client::{ClientBuilder, MaybeTlsStream, Proxy, ProxyError, connect};
pub use crate::config::Config;
pub use crate::error::{AcceptError, ConnectError, Error};
pub use crate::server::{accept, accept_with, accept_with_async, offered_protocols};
pub use crate::split::{ReadHalf, WriteHalf};
pub use crate::upgrade::{Accept, ClientUpgrade, Established, ServerUpgrade};
pub use crate::websocket::{WebSocket, future};

/// The payload type of messages: cheaply cloned and sliced, shared without copying.
pub use bytes::Bytes;
/// The `http` crate, whose types the handshake uses.
pub use http;
/// rustls, for [`ClientBuilder::tls_config`] and for servers that accept `wss://`.
#[cfg(feature = "tls")]
pub use rustls;
/// permessage-deflate: [`Config::deflate`] takes its [`DeflateConfig`].
pub use swell_deflate as deflate;
pub use swell_deflate::DeflateConfig;
/// The sans-IO frame layer, for driving a connection without tokio.
pub use swell_frame as frame;
pub use swell_frame::{
    CloseCode, CloseFrame, Message, ProtocolError, Role, SendError, State, Utf8Bytes,
};
/// The sans-IO handshake layer.
pub use swell_handshake as handshake;
/// tokio-rustls: a server accepts `wss://` with its `TlsAcceptor`, then [`accept`].
#[cfg(feature = "tls")]
pub use tokio_rustls;
