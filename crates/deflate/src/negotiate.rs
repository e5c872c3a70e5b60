//! Negotiation (RFC 7692 §5, §7.1): the client's offers, the server's choice among them, and
//! the client's check of the server's answer.

use std::fmt;

use swell_handshake::Extension;

use crate::codec::Deflate;
use crate::params::{InvalidParams, NAME, Params};

/// What to offer, as a client, or to accept, as a server; and how to compress.
///
/// Memory is what a compressed connection costs a server, so the presets differ in which
/// direction keeps its context (the LZ77 window that lets a message refer back to earlier
/// ones) between messages. A stream that keeps no context is not the connection's: it is
/// lent by a per-thread pool for one message, so it costs a connection nothing between
/// messages. A server's memory per connection once traffic has flowed, in all (1.5 KiB
/// without deflate; no zlib stream is allocated before the first compressed message in
/// either direction, so a connection that never sends one holds ~1.7 KiB in every preset):
///
/// | preset | server's compressor | client's compressor (server's decompressor) | server memory per connection | chat stream, server→client / client→server | 1 KiB JSON messages |
/// | --- | --- | --- | ---: | ---: | ---: |
/// | [`default()`](Self::default) | no context, shared | keeps context | ~38 KiB | 0.98 / 0.20 | 0.28 / 0.14 |
/// | [`no_context_takeover()`](Self::no_context_takeover) | no context, shared | no context (asked of the client) | ~1.7 KiB | 0.98 / 0.98 | 0.28 / 0.28 |
/// | [`context_takeover()`](Self::context_takeover) | keeps context | keeps context | ~350 KiB | 0.20 / 0.20 | 0.14 / 0.14 |
///
/// The ratios are bytes on the wire over bytes of JSON, for a browser-like client and a
/// stream of ~70-byte chat messages, then of ~1 KiB ones (swell-benches' `deflate_presets`);
/// the memory is the echo benchmark's, 10,000 connections each after one 16 KiB echo.
///
/// A zlib-rs compressor that keeps context costs at least 134 KiB whatever its window and
/// memory level (its hash table has 64 Ki entries), and a decompressor 46 KiB (its window is
/// 32 KiB whatever the window agreed). So a server keeps context by default only for what
/// the client sends: browsers keep theirs, and the server's decompressor is the cheaper
/// half. What the server sends is compressed message by message, which costs ratio on short
/// messages that repeat each other (the README has a table). As a client, the default offers
/// what browsers offer and keeps context both ways.
///
/// Each field has a setter of its name:
///
/// ```
/// let config = swell_deflate::DeflateConfig::context_takeover()
///     .level(3)
///     .server_max_window_bits(12)
///     .mem_level(5);
/// assert_eq!(config.level, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "a DeflateConfig does nothing until it is used to offer or accept"]
pub struct DeflateConfig {
    /// Compression level, 0 (none) to 9 (best). Default 6.
    pub level: u32,
    /// Ask that the server reset its compressor after each message (client), or do so
    /// always (server). Default off.
    pub server_no_context_takeover: bool,
    /// Reset our compressor after each message (client), or ask the client to (server: in
    /// the answer even when the offer did not hold it, as RFC 7692 §7.1.1.2 allows; the
    /// server's decompressor is then lent by the pool for each message). Default off.
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with, 8-15 (2^N bytes). Default 15.
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with, 8-15. Default 15.
    pub client_max_window_bits: u8,
    /// Server only: compress without context takeover, with a compressor lent by a
    /// per-thread pool for each message, so that a connection holds none (uWebSockets' shared
    /// compressor). The answer then says `server_no_context_takeover`, which RFC 7692
    /// §7.1.1.1 lets a server add to any offer. Default on; off in
    /// [`context_takeover()`](Self::context_takeover).
    pub shared_compressor: bool,
    /// zlib's memory level for our compressor, 1-9: the size of its buffer of pending
    /// symbols (zlib-rs keeps its hash table at 64 Ki entries whatever this is). Default 8.
    pub mem_level: u8,
    /// Messages shorter than this are sent uncompressed: below a few dozen bytes DEFLATE's
    /// block overhead eats the gain. Default 32.
    pub min_size: usize,
}

impl Default for DeflateConfig {
    /// A server's compressor keeps no context ([`shared_compressor`]), the client's does;
    /// a client offers what browsers offer. See the table on [`DeflateConfig`].
    ///
    /// [`shared_compressor`]: #structfield.shared_compressor
    fn default() -> Self {
        Self {
            shared_compressor: true,
            ..Self::context_takeover()
        }
    }
}

impl DeflateConfig {
    /// Neither side keeps context between messages: every stream is lent by a per-thread
    /// pool for one message, and an idle compressed connection holds no zlib state. The
    /// lowest memory and the lowest ratio on streams of short, similar messages.
    pub fn no_context_takeover() -> Self {
        Self {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            shared_compressor: true,
            ..Self::context_takeover()
        }
    }

    /// Both sides keep context, with full windows: the best ratio and, for a server, a
    /// compressor of its own per connection (~350 KiB with the decompressor). For servers
    /// with few connections that carry long streams of short, similar messages.
    pub fn context_takeover() -> Self {
        Self {
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            shared_compressor: false,
            mem_level: 8,
            min_size: 32,
        }
    }

    /// Sets [`DeflateConfig::level`](#structfield.level).
    pub fn level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// Sets [`DeflateConfig::server_no_context_takeover`](#structfield.server_no_context_takeover).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`DeflateConfig::client_no_context_takeover`](#structfield.client_no_context_takeover).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`DeflateConfig::server_max_window_bits`](#structfield.server_max_window_bits).
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// Sets [`DeflateConfig::client_max_window_bits`](#structfield.client_max_window_bits).
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// Sets [`DeflateConfig::shared_compressor`](#structfield.shared_compressor).
    pub fn shared_compressor(mut self, on: bool) -> Self {
        self.shared_compressor = on;
        self
    }

    /// Sets [`DeflateConfig::mem_level`](#structfield.mem_level).
    pub fn mem_level(mut self, level: u8) -> Self {
        self.mem_level = level;
        self
    }

    /// Sets [`DeflateConfig::min_size`](#structfield.min_size).
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// The offer a client sends for this configuration. It always carries
    /// `client_max_window_bits`, so the server may ask for a smaller client window.
    pub fn offer(&self) -> Extension {
        let client_bits = self.client_max_window_bits.clamp(8, 15);
        let server_bits = self.server_max_window_bits.clamp(8, 15);
        Params {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (server_bits < 15).then_some(server_bits),
            client_max_window_bits: Some((client_bits < 15).then_some(client_bits)),
        }
        .to_extension()
    }
}

/// Server side: answers the first acceptable `permessage-deflate` offer among `offers` (in
/// the client's order of preference), with the response to send and the session to install.
/// Offers with unknown, repeated or invalid parameters are declined; `None` means no offer
/// was acceptable, and the connection goes on without compression (not a failure).
///
/// A window of 8 bits asked of our compressor is accepted, but zlib cannot compress raw
/// DEFLATE with a 256-byte window: messages we send then go uncompressed, which RFC 7692
/// allows for any message. Received messages are always inflated with a 15-bit window, which
/// decodes data made with any smaller one.
pub fn accept(offers: &[Extension], config: &DeflateConfig) -> Option<(Extension, Deflate)> {
    offers
        .iter()
        .filter(|offer| offer.name() == NAME)
        .find_map(|offer| {
            let offered = Params::parse(offer).ok()?;
            let ours = config.server_max_window_bits.clamp(8, 15);
            let server_bits = match offered.server_max_window_bits {
                Some(bits) => Some(bits.min(ours)),
                None => (ours < 15).then_some(ours),
            };
            // The client's window may be limited only if it said it supports the parameter.
            let client_bits = offered.client_max_window_bits.and_then(|limit| {
                let wanted = config.client_max_window_bits.clamp(8, 15);
                (wanted < limit.unwrap_or(15)).then_some(wanted)
            });
            let response = Params {
                server_no_context_takeover: offered.server_no_context_takeover
                    || config.server_no_context_takeover
                    || config.shared_compressor,
                client_no_context_takeover: offered.client_no_context_takeover
                    || config.client_no_context_takeover,
                server_max_window_bits: server_bits,
                client_max_window_bits: client_bits.map(Some),
            };
            let session = Deflate::new(
                config.level,
                server_bits.unwrap_or(15),
                config.mem_level,
                response.server_no_context_takeover,
                response.client_no_context_takeover,
                config.min_size,
            );
            Some((response.to_extension(), session))
        })
}

/// Why a client refuses the server's `permessage-deflate` response; the client fails the
/// connection (RFC 7692 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The response's parameters break RFC 7692 §7.1.
    Invalid(InvalidParams),
    /// The response holds more than one `permessage-deflate` element.
    Repeated,
    /// The response fits none of the offers (for example, it drops a
    /// `server_no_context_takeover` or raises a `server_max_window_bits` that was offered).
    NotOffered,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(e) => write!(f, "invalid {NAME} response: {e}"),
            Self::Repeated => write!(f, "{NAME} accepted more than once"),
            Self::NotOffered => write!(f, "the {NAME} response fits none of the offers"),
        }
    }
}

impl std::error::Error for NegotiationError {}

/// Client side: checks the extensions the server accepted against the `offers` that were
/// sent (each made with [`DeflateConfig::offer`], in the same order) and returns the session
/// to install, or `None` if the server declined compression.
///
/// # Errors
///
/// [`NegotiationError`] for a response the offers do not allow.
pub fn accept_response(
    accepted: &[Extension],
    offers: &[DeflateConfig],
) -> Result<Option<Deflate>, NegotiationError> {
    let mut ours = accepted.iter().filter(|e| e.name() == NAME);
    let Some(response) = ours.next() else {
        return Ok(None);
    };
    if ours.next().is_some() {
        return Err(NegotiationError::Repeated);
    }
    let params = Params::parse(response).map_err(NegotiationError::Invalid)?;
    if params.client_max_window_bits == Some(None) {
        // In a response the parameter must carry a value.
        return Err(NegotiationError::Invalid(InvalidParams::Value(
            "client_max_window_bits",
        )));
    }
    for offer in offers {
        let asked = offer.server_max_window_bits.clamp(8, 15);
        // An offered server window must be granted, at that size or smaller.
        if asked < 15
            && params
                .server_max_window_bits
                .is_none_or(|bits| bits > asked)
        {
            continue;
        }
        if offer.server_no_context_takeover && !params.server_no_context_takeover {
            continue;
        }
        let window = params
            .client_max_window_bits
            .flatten()
            .unwrap_or(15)
            .min(offer.client_max_window_bits.clamp(8, 15));
        return Ok(Some(Deflate::new(
            offer.level,
            window,
            offer.mem_level,
            params.client_no_context_takeover || offer.client_no_context_takeover,
            params.server_no_context_takeover,
            offer.min_size,
        )));
    }
    Err(NegotiationError::NotOffered)
}
