//! Opening handshakes over HTTP spoken by someone else.
//!
//! [`accept`](crate::accept) and [`connect`](crate::connect) read and write the HTTP head
//! themselves. An HTTP server or client such as hyper reads and writes it instead; these types
//! are the rest of the handshake, so that it negotiates the same way on either path: request
//! validation, subprotocol choice, permessage-deflate, and the [`WebSocket`] built on the
//! stream that the HTTP stack hands over.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response};
use swell_deflate::{Deflate, NAME, Params};
use swell_frame::Role;
use swell_handshake::{ClientHandshake, Negotiated, RequestError, UpgradeRequest};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::config::{Config, Settings};
use crate::error::{AcceptError, ConnectError};
use crate::websocket::WebSocket;

/// A server's decision to accept an upgrade, made by the callback of [`accept_with`](crate::accept_with): the
/// subprotocol chosen among those the client offered, and extra response headers.
#[derive(Clone, Debug, Default)]
#[must_use = "an Accept does nothing until the accept callback returns it"]
pub struct Accept {
    pub(crate) protocol: Option<String>,
    pub(crate) headers: HeaderMap,
}

impl Accept {
    /// Accepts with no subprotocol and no extra headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses a subprotocol; it must be one the client offered (see
    /// [`offered_protocols`](crate::offered_protocols)).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Adds a header to the 101 response. Headers the handshake sets itself take precedence.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}

/// The server side of a handshake whose request someone else has read.
///
/// [`ServerUpgrade::new`] validates the request (RFC 6455 §4.2.1); [`ServerUpgrade::accept`]
/// chooses the subprotocol, negotiates permessage-deflate as [`Config::deflate`] allows, and
/// returns the 101 response to send. Once it is sent and the HTTP stack has handed over the
/// stream, [`Established::into_websocket`] opens the connection.
#[derive(Debug)]
pub struct ServerUpgrade {
    request: UpgradeRequest,
    config: Config,
}

impl ServerUpgrade {
    /// Validates `request` as a WebSocket upgrade.
    ///
    /// # Errors
    ///
    /// The first rule the request breaks; [`RequestError::response`] is the answer to send.
    pub fn new<B>(request: &Request<B>, config: Config) -> Result<Self, RequestError> {
        let request = UpgradeRequest::validate(request)?;
        Ok(Self { request, config })
    }

    /// Validates `request`, received on an HTTP/2 (or HTTP/3) connection, as RFC 8441's
    /// extended CONNECT for a WebSocket; `protocol` is its `:protocol`, which the HTTP
    /// stack carries (hyper: the `hyper::ext::Protocol` extension). [`ServerUpgrade::accept`]
    /// then answers 200 instead of 101, and the stream's DATA frames carry the WebSocket.
    ///
    /// # Errors
    ///
    /// As [`UpgradeRequest::validate_extended_connect`]; answer with
    /// [`RequestError::response_for`] the request's version.
    pub fn extended_connect<B>(
        request: &Request<B>,
        protocol: Option<&str>,
        config: Config,
    ) -> Result<Self, RequestError> {
        let request = UpgradeRequest::validate_extended_connect(request, protocol)?;
        Ok(Self { request, config })
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn offered_protocols(&self) -> &[String] {
        self.request.protocols()
    }

    /// Accepts the upgrade as `accept` says, and returns the response (101, or 200 for an
    /// extended CONNECT) with the connection to open once it is sent.
    ///
    /// # Errors
    ///
    /// [`AcceptError::ProtocolNotOffered`] if `accept` chose a subprotocol the client did not
    /// offer.
    pub fn accept(self, accept: Accept) -> Result<(Response<()>, Established), AcceptError> {
        let deflate = self
            .config
            .deflate
            .first()
            .and_then(|offer| swell_deflate::accept(self.request.extensions(), offer));
        let accepted: Vec<_> = deflate
            .iter()
            .map(|(response, _)| response.clone())
            .collect();
        let mut response = self
            .request
            .accept(accept.protocol.as_deref(), &accepted)
            .map_err(|_| AcceptError::ProtocolNotOffered)?;
        // Extra headers, except those the handshake sets itself.
        let mut current: Option<(HeaderName, bool)> = None;
        for (name, value) in accept.headers {
            if let Some(name) = name {
                let keep = !response.headers().contains_key(&name);
                current = Some((name, keep));
            }
            if let Some((name, true)) = &current {
                response.headers_mut().append(name.clone(), value);
            }
        }
        let established = Established {
            role: Role::Server,
            settings: self.config.into_settings(),
            protocol: accept.protocol,
            deflate_params: accepted.first().and_then(|e| Params::parse(e).ok()),
            deflate: deflate.map(|(_, session)| session),
        };
        Ok((response, established))
    }
}

/// The client side of a handshake whose request someone else sends, made by
/// [`ClientBuilder::upgrade`](crate::ClientBuilder::upgrade).
#[derive(Debug)]
pub struct ClientUpgrade {
    pub(crate) handshake: ClientHandshake,
    pub(crate) config: Config,
    /// Whether the request was an extended CONNECT (RFC 8441), answered with 2xx.
    pub(crate) extended_connect: bool,
}

impl ClientUpgrade {
    /// Checks the server's response (RFC 6455 §4.1; RFC 8441 §5 for an extended CONNECT)
    /// and its permessage-deflate parameters against our offers (RFC 7692 §5).
    ///
    /// # Errors
    ///
    /// [`ConnectError::Refused`] for a status other than 101 (2xx for an extended CONNECT;
    /// with an empty body: the HTTP stack reads it), [`ConnectError::Response`] if the
    /// response breaks the handshake, [`ConnectError::Deflate`] if it agrees to deflate
    /// parameters we did not offer.
    pub fn finish<B>(self, response: &Response<B>) -> Result<Established, ConnectError> {
        let opened = if self.extended_connect {
            response.status().is_success()
        } else {
            response.status() == http::StatusCode::SWITCHING_PROTOCOLS
        };
        if !opened {
            // The HTTP stack owns the body; status and headers say who refused.
            let mut refused = Response::new(bytes::Bytes::new());
            *refused.status_mut() = response.status();
            *refused.headers_mut() = response.headers().clone();
            return Err(ConnectError::Refused(Box::new(refused)));
        }
        let negotiated = if self.extended_connect {
            self.handshake.check_extended_connect_response(response)
        } else {
            self.handshake.check_response(response)
        };
        self.negotiated(negotiated.map_err(ConnectError::Response)?)
    }

    /// Completes the handshake with what the checked response agreed to.
    pub(crate) fn negotiated(self, negotiated: Negotiated) -> Result<Established, ConnectError> {
        let deflate = swell_deflate::accept_response(&negotiated.extensions, &self.config.deflate)
            .map_err(ConnectError::Deflate)?;
        let deflate_params = deflate.as_ref().and_then(|_| {
            let response = negotiated.extensions.iter().find(|e| e.name() == NAME)?;
            Params::parse(response).ok()
        });
        Ok(Established {
            role: Role::Client,
            settings: self.config.into_settings(),
            protocol: negotiated.protocol,
            deflate_params,
            deflate,
        })
    }
}

/// A completed opening handshake, waiting for its stream.
#[derive(Debug)]
pub struct Established {
    role: Role,
    /// What the connection keeps of the `Config`; the handshake's own settings are done.
    settings: Settings,
    protocol: Option<String>,
    deflate_params: Option<Params>,
    deflate: Option<Deflate>,
}

impl Established {
    /// The subprotocol agreed on, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Opens the connection on `io`. `buffered` holds bytes read from the stream after the
    /// HTTP head, if the HTTP stack handed any over: they are the first frames.
    pub fn into_websocket<S>(self, io: S, buffered: &[u8]) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut ws = WebSocket::from_settings(io, self.role, self.settings, buffered);
        if let Some(session) = self.deflate {
            ws = ws.with_extension(Box::new(session));
        }
        ws.set_protocol(self.protocol);
        ws.set_deflate(self.deflate_params);
        ws
    }
}
