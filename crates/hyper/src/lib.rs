#![doc = include_str!("../README.md")]
//!
//! # What this crate knows
//!
//! Only hyper's upgrade machinery. The handshake rules live in swell-handshake, the
//! negotiation in [`swell::ServerUpgrade`] and [`swell::ClientUpgrade`], the protocol in
//! swell-frame; this crate moves requests, responses and the upgraded stream between hyper
//! and them.

#![forbid(unsafe_code)]

/// The axum extractor (feature `axum`): [`axum::WebSocketUpgrade`], HTTP/1.1 and HTTP/2.
#[cfg(feature = "axum")]
pub mod axum;
mod client;
mod http2;
mod server;

pub use crate::client::{ClientError, connect, handshake, handshake_http2};
pub use crate::http2::Http2Connection;
pub use crate::server::{Rejection, Upgrading, is_upgrade_request, upgrade, upgrade_with};

/// A WebSocket on a stream that hyper handed over after an upgrade.
pub type HyperWebSocket = swell::WebSocket<TokioIo<Upgraded>>;

pub use hyper::upgrade::Upgraded;
pub use hyper_util::rt::TokioIo;
/// The facade: [`swell::Config`], [`swell::Accept`], [`swell::ClientBuilder`], messages.
pub use swell;
