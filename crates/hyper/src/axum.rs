//! An axum extractor, shaped like axum's own `WebSocketUpgrade` so that moving from
//! `axum::extract::ws` is a change of import: HTTP/1.1 upgrades and HTTP/2 extended
//! CONNECT (RFC 8441) alike, permessage-deflate, subprotocols, swell's limits.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use swell::{Accept, AcceptError, Config, DeflateConfig, ServerUpgrade};

use crate::HyperWebSocket;
use crate::server::{Rejection, protocol};

/// Extracts a WebSocket request, HTTP/1.1 or HTTP/2, for a handler that answers it with
/// [`WebSocketUpgrade::on_upgrade`].
///
/// ```no_run
/// use axum::Router;
/// use axum::response::Response;
/// use axum::routing::any;
/// use swell_hyper::axum::WebSocketUpgrade;
///
/// async fn handler(ws: WebSocketUpgrade) -> Response {
///     ws.protocols(["chat"])
///         .deflate(swell::DeflateConfig::default())
///         .on_upgrade(|mut socket| async move {
///             while let Some(Ok(message)) = socket.recv().await {
///                 if message.is_data() && socket.send(message).await.is_err() {
///                     break;
///                 }
///             }
///         })
/// }
///
/// // `any`: an HTTP/2 WebSocket arrives as CONNECT, not GET.
/// let app: Router = Router::new().route("/ws", any(handler));
/// ```
///
/// The request is validated when it is extracted: a request that is not a valid WebSocket
/// request is rejected with the status swell answers it with (400, 405, 426, 505; over
/// HTTP/2, 400 or 426), a [`WebSocketUpgradeRejection`] axum returns as it is. The
/// connection must be served with upgrades enabled (HTTP/1.1) and extended CONNECT allowed
/// (HTTP/2, `enable_connect_protocol`); without the upgrade machinery the request is
/// rejected with 426.
#[must_use = "a WebSocketUpgrade does nothing until on_upgrade turns it into the response"]
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    /// The request's head, kept to negotiate against once the settings are final.
    head: Request<()>,
    on_upgrade: OnUpgrade,
    config: Config,
    /// The subprotocols we speak, in our order.
    protocols: Vec<Cow<'static, str>>,
    /// The client's first offered subprotocol that we speak.
    selected: Option<HeaderValue>,
    on_failed_upgrade: F,
}

impl<F> fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("version", &self.head.version())
            .field("protocols", &self.protocols)
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

impl<F> WebSocketUpgrade<F> {
    /// The connection's settings, in place of swell's defaults (no deflate, 64 MiB
    /// messages, keepalive on).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Offers permessage-deflate: accepted when the client offers it too.
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.config = self.config.deflate(deflate);
        self
    }

    /// The largest message accepted, after decompression (default 64 MiB); larger ones are
    /// refused with 1009.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_message_size(bytes);
        self
    }

    /// The largest frame accepted (default: the message limit).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config = self.config.max_frame_size(bytes);
        self
    }

    /// How many bytes may wait to be written before sending waits (backpressure).
    pub fn max_write_buffer_size(mut self, bytes: usize) -> Self {
        self.config = self.config.write_buffer_limit(bytes);
        self
    }

    /// The subprotocols this endpoint speaks. As in axum, the first protocol the client
    /// offers (in its order) that is among these is chosen; if none is, the connection
    /// opens without one.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        let offered = swell::offered_protocols(&self.head);
        self.selected = offered
            .iter()
            .find(|p| self.protocols.iter().any(|ours| ours == p.as_str()))
            .and_then(|p| HeaderValue::from_str(p).ok());
        self
    }

    /// The subprotocol that [`WebSocketUpgrade::on_upgrade`] will answer with, if any.
    pub fn selected_protocol(&self) -> Option<&HeaderValue> {
        self.selected.as_ref()
    }

    /// What to do if the response was sent but hyper could not hand the stream over (the
    /// client went away, or the connection was not served with upgrades).
    pub fn on_failed_upgrade<C>(self, callback: C) -> WebSocketUpgrade<C>
    where
        C: OnFailedUpgrade,
    {
        WebSocketUpgrade {
            head: self.head,
            on_upgrade: self.on_upgrade,
            config: self.config,
            protocols: self.protocols,
            selected: self.selected,
            on_failed_upgrade: callback,
        }
    }

    /// Accepts: returns the response for the handler to return (101, or 200 over HTTP/2)
    /// and, once hyper has sent it and handed the stream over, runs `callback` with the
    /// WebSocket on a spawned task.
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(HyperWebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        let version = self.head.version();
        let accepted = upgrade(&self.head, self.config).and_then(|upgrade| {
            let mut accept = Accept::new();
            if let Some(protocol) = &self.selected {
                let protocol = protocol.to_str().expect("chosen from a valid header");
                accept = accept.protocol(protocol);
            }
            upgrade.accept(accept)
        });
        let (response, established) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => return Rejection::of(error, version).into_response(),
        };
        let on_upgrade = self.on_upgrade;
        let on_failed_upgrade = self.on_failed_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    callback(established.into_websocket(TokioIo::new(upgraded), &[])).await;
                }
                Err(error) => on_failed_upgrade.call(error),
            }
        });
        response.map(|()| Body::empty())
    }
}

/// The negotiation for `head`, an HTTP/1.1 upgrade or an HTTP/2 extended CONNECT.
fn upgrade(head: &Request<()>, config: Config) -> Result<ServerUpgrade, AcceptError> {
    if head.version() >= Version::HTTP_2 {
        ServerUpgrade::extended_connect(head, protocol(head), config)
    } else {
        ServerUpgrade::new(head, config)
    }
    .map_err(AcceptError::Request)
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut head = Request::new(());
        *head.method_mut() = parts.method.clone();
        *head.uri_mut() = parts.uri.clone();
        *head.version_mut() = parts.version;
        *head.headers_mut() = parts.headers.clone();
        if let Some(protocol) = parts.extensions.get::<hyper::ext::Protocol>() {
            head.extensions_mut().insert(protocol.clone());
        }
        // Refused at once if it is no valid WebSocket request, whatever the settings.
        upgrade(&head, Config::default())
            .map_err(|e| WebSocketUpgradeRejection::Handshake(Rejection::of(e, parts.version)))?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(WebSocketUpgradeRejection::NotUpgradable)?;
        Ok(Self {
            head,
            on_upgrade,
            config: Config::default(),
            protocols: Vec::new(),
            selected: None,
            on_failed_upgrade: DefaultOnFailedUpgrade,
        })
    }
}

/// What to do when hyper could not hand the stream of an accepted upgrade over.
pub trait OnFailedUpgrade: Send + 'static {
    /// Called with hyper's error, on the task that would have run the WebSocket.
    fn call(self, error: hyper::Error);
}

impl<F> OnFailedUpgrade for F
where
    F: FnOnce(hyper::Error) + Send + 'static,
{
    fn call(self, error: hyper::Error) {
        self(error);
    }
}

/// The default [`OnFailedUpgrade`]: nothing; the client that went away is gone.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, _error: hyper::Error) {}
}

/// Why [`WebSocketUpgrade`] refused a request; axum returns it as a response.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebSocketUpgradeRejection {
    /// Not a valid WebSocket request: answered with the status swell gives it.
    Handshake(Rejection),
    /// The request carries no upgrade machinery: its connection is not served with
    /// upgrades (hyper's `with_upgrades`), or the request was rebuilt without its
    /// extensions. 426.
    NotUpgradable,
}

impl fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(rejection) => rejection.fmt(f),
            Self::NotUpgradable => f.write_str(
                "the request cannot be upgraded: its connection is not served with upgrades",
            ),
        }
    }
}

impl std::error::Error for WebSocketUpgradeRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Handshake(rejection) => std::error::Error::source(rejection),
            Self::NotUpgradable => None,
        }
    }
}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Handshake(rejection) => rejection.into_response(),
            Self::NotUpgradable => {
                let mut response = Response::new(Body::from(format!("{self}\n")));
                *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
                response
            }
        }
    }
}

/// axum returns a [`Rejection`] as the response it carries.
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.into_http_response().map(Body::new)
    }
}
