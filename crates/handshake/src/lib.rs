//! Sans-IO RFC 6455 §4: the WebSocket opening handshake on [`http`] types, for both roles.
//!
//! A client builds its upgrade request with [`ClientHandshake`] and checks the server's
//! response against it. A server reads a request head with [`parse_request`], checks it with
//! [`UpgradeRequest::validate`], and answers with [`UpgradeRequest::accept`] or with the
//! rejection each [`RequestError`] knows (400, 405, 426, 431, 505). Over HTTP/2, RFC 8441's
//! extended CONNECT takes the upgrade's place:
//! [`ClientHandshake::extended_connect_request`] and
//! [`UpgradeRequest::validate_extended_connect`], answered with 200. Subprotocol lists and the
//! `Sec-WebSocket-Extensions` grammar are parsed here; what an extension's parameters mean is
//! the extension's business. No I/O happens here, heads are bounded by [`HeadLimits`], and
//! each parser reports how many bytes the head took so that no frame sent right behind it is
//! lost.
//!
//! # Example
//!
//! Both sides of a handshake, in memory:
//!
//! ```
//! use swell_handshake::{ClientHandshake, HeadLimits, UpgradeRequest, parse_request, write_response_head};
//!
//! let client = ClientHandshake::new("ws://localhost/chat".parse()?, [42; 16])?.protocol("chat");
//! let mut wire = Vec::new();
//! client.write_request(&mut wire);
//! wire.extend_from_slice(b"\x81\x80....");  // a first frame, sent right behind the request
//!
//! // The server reads the head, validates it and accepts.
//! let (request, head_len) = parse_request(&wire, &HeadLimits::default())?.expect("complete");
//! assert_eq!(&wire[head_len..], b"\x81\x80....");
//! let upgrade = UpgradeRequest::validate(&request)?;
//! assert_eq!(upgrade.protocols(), ["chat"]);
//! let response = upgrade.accept(Some("chat"), &[])?;
//! let mut reply = Vec::new();
//! write_response_head(&response, &mut reply);
//!
//! // The client checks the answer.
//! let (_, negotiated, _) = client.parse_response(&reply, &HeadLimits::default())?.expect("complete");
//! assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod client;
mod extended_connect;
mod grammar;
mod http1;
mod key;
mod server;

pub use crate::client::{
    ClientHandshake, InvalidUri, Negotiated, ResponseError, is_secure, parse_response,
};
pub use crate::extended_connect::PROTOCOL;
pub use crate::grammar::{
    Extension, InvalidHeader, format_extensions, parse_extensions, parse_protocols,
};
pub use crate::http1::{HeadLimits, write_request_head, write_response_head};
pub use crate::key::{accept_key, generate_key};
pub use crate::server::{
    ProtocolNotOffered, RequestError, UpgradeRequest, is_upgrade_request, parse_request,
};
