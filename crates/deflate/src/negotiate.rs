//! Negotiation (RFC 7692 §5, §7.1): the client's offers, the server's choice among them, and
//! the client's check of the server's answer.

use std::fmt;

use swell_handshake::Extension;

use crate::codec::Deflate;
use crate::params::{InvalidParams, NAME, Params};

/// What to offer, as a client, or to accept, as a server; and how to compress.
///
/// The defaults offer and accept everything RFC 7692 allows at full windows, with context
/// takeover, at zlib's default level, and compress messages of 32 bytes and more. Each field
/// has a setter of its name:
///
/// ```
/// let config = swell_deflate::DeflateConfig::default()
///     .level(3)
///     .server_no_context_takeover(true);
/// assert_eq!(config.level, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "a DeflateConfig does nothing until it is used to offer or accept"]
pub struct DeflateConfig {
    /// Compression level, 0 (none) to 9 (best). Default 6.
    pub level: u32,
    /// Ask that the server reset its compressor after each message (client), or do so
    /// always (server). Costs ratio, saves the server 32 KiB of window between messages.
    pub server_no_context_takeover: bool,
    /// Reset our compressor after each message (client), or ask the client to (server).
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with, 8-15 (2^N bytes). Default 15.
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with, 8-15. Default 15.
    pub client_max_window_bits: u8,
    /// Messages shorter than this are sent uncompressed: below a few dozen bytes DEFLATE's
    /// block overhead eats the gain. Default 32.
    pub min_size: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            min_size: 32,
        }
    }
}

impl DeflateConfig {
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
                    || config.server_no_context_takeover,
                client_no_context_takeover: offered.client_no_context_takeover
                    || config.client_no_context_takeover,
                server_max_window_bits: server_bits,
                client_max_window_bits: client_bits.map(Some),
            };
            let session = Deflate::new(
                config.level,
                server_bits.unwrap_or(15),
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
            params.client_no_context_takeover || offer.client_no_context_takeover,
            params.server_no_context_takeover,
            offer.min_size,
        )));
    }
    Err(NegotiationError::NotOffered)
}
