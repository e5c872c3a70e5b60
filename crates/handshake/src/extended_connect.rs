//! RFC 8441: the opening handshake of a WebSocket over one stream of an HTTP/2 connection
//! (and, by RFC 9220, of HTTP/3), both roles.
//!
//! The request is an extended CONNECT: `:method` CONNECT, `:protocol` websocket,
//! `:scheme`, `:path` and `:authority`, with `Sec-WebSocket-Version: 13` and the usual
//! subprotocol and extension offers, but no key, `Upgrade` or `Connection` (RFC 8441 §5:
//! the stream, not a connection, is what changes protocol). A 2xx answer opens the
//! WebSocket; it carries the chosen subprotocol and extensions, and no accept key.
//!
//! `:protocol` has no place in `http` types: the HTTP/2 stack carries it (hyper as the
//! `hyper::ext::Protocol` request extension), so the server passes its value in and the
//! client's HTTP/2 stack sets it.

use http::header::SEC_WEBSOCKET_VERSION;
use http::uri::{Parts, Scheme};
use http::{Method, Request, Response, Uri, Version};

use crate::client::{ClientHandshake, Negotiated, ResponseError, is_secure};
use crate::grammar;
use crate::server::{RequestError, UpgradeRequest};

/// The value of `:protocol` that asks for a WebSocket.
pub const PROTOCOL: &str = "websocket";

impl UpgradeRequest {
    /// Checks an extended CONNECT request (RFC 8441 §4, §5) that an HTTP/2 (or HTTP/3)
    /// server received. `protocol` is the request's `:protocol` as the HTTP stack gives it
    /// (hyper: the `hyper::ext::Protocol` extension), `None` when there is none.
    ///
    /// The request must be a CONNECT with `:protocol` websocket and an `:authority` (its
    /// URI's authority), and `Sec-WebSocket-Version: 13`; subprotocol and extension offers
    /// are read as over HTTP/1.1. The HTTP/2 layer has already checked the pseudo-headers'
    /// syntax, and that the connection offered `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
    ///
    /// # Errors
    ///
    /// [`RequestError::ExtendedConnect`] (400) for anything but a websocket extended
    /// CONNECT, [`RequestError::UnsupportedVersion`] (426), or a header's grammar (400).
    pub fn validate_extended_connect<B>(
        request: &Request<B>,
        protocol: Option<&str>,
    ) -> Result<Self, RequestError> {
        let websocket = protocol.is_some_and(|p| p.eq_ignore_ascii_case(PROTOCOL));
        if request.method() != Method::CONNECT || !websocket || request.uri().authority().is_none()
        {
            return Err(RequestError::ExtendedConnect);
        }
        let headers = request.headers();
        let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
        match (versions.next(), versions.next()) {
            (Some(v), None) if v == "13" => {}
            _ => return Err(RequestError::UnsupportedVersion),
        }
        Ok(Self {
            key: None,
            protocols: grammar::parse_protocols(headers)?,
            extensions: grammar::parse_extensions(headers)?,
        })
    }
}

impl ClientHandshake {
    /// The extended CONNECT request that opens this WebSocket over an HTTP/2 connection
    /// (RFC 8441 §4): method CONNECT, version HTTP/2, and the absolute URI an HTTP/2 client
    /// takes `:scheme` (`https` for `wss://`, `http` for `ws://`), `:authority` and `:path`
    /// from; `Sec-WebSocket-Version: 13`, the offers, `Origin` and the extra headers, but no
    /// `Host`, `Upgrade`, `Connection` or key.
    ///
    /// Set `:protocol` to [`PROTOCOL`] through the HTTP/2 stack (hyper:
    /// `request.extensions_mut().insert(hyper::ext::Protocol::from_static("websocket"))`).
    ///
    /// ```
    /// use swell_handshake::ClientHandshake;
    ///
    /// let handshake = ClientHandshake::new("wss://example.com/chat?room=7".parse()?, [7; 16])?;
    /// let request = handshake.extended_connect_request();
    /// assert_eq!(request.method(), "CONNECT");
    /// assert_eq!(request.uri(), "https://example.com/chat?room=7");
    /// assert_eq!(request.headers()["sec-websocket-version"], "13");
    /// assert!(request.headers().get("sec-websocket-key").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extended_connect_request(&self) -> Request<()> {
        let mut parts = Parts::default();
        parts.scheme = Some(if is_secure(&self.uri) == Some(true) {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        });
        parts.authority = self.uri.authority().cloned();
        parts.path_and_query = match self.uri.path_and_query() {
            Some(target) if target.as_str().starts_with('/') => Some(target.clone()),
            Some(target) => format!("/{target}").parse().ok(),
            None => None,
        }
        .or_else(|| Some("/".parse().expect("a valid path")));
        let mut request = Request::new(());
        *request.method_mut() = Method::CONNECT;
        *request.version_mut() = Version::HTTP_2;
        *request.uri_mut() = Uri::from_parts(parts).expect("parts of a valid URI");
        let mut headers = self.headers.clone();
        self.insert_offers(&mut headers);
        *request.headers_mut() = headers;
        request
    }

    /// Checks the answer to [`ClientHandshake::extended_connect_request`] (RFC 8441 §5): a
    /// 2xx status, and a subprotocol and extensions among those offered. There is no accept
    /// key to check.
    ///
    /// # Errors
    ///
    /// [`ResponseError::Status`] for any other status; then as
    /// [`ClientHandshake::check_response`].
    pub fn check_extended_connect_response<B>(
        &self,
        response: &Response<B>,
    ) -> Result<Negotiated, ResponseError> {
        if !response.status().is_success() {
            return Err(ResponseError::Status(response.status()));
        }
        self.check_offers(response.headers())
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use http::header::HeaderValue;

    use super::*;
    use crate::Extension;

    fn handshake(url: &str) -> ClientHandshake {
        ClientHandshake::new(url.parse().unwrap(), [9; 16])
            .unwrap()
            .protocol("chat")
            .protocol("superchat")
            .extension(Extension::new("permessage-deflate"))
    }

    #[test]
    fn a_request_the_server_accepts_with_200() {
        let client = handshake("ws://example.com:8080/room");
        let request = client.extended_connect_request();
        assert_eq!(request.version(), Version::HTTP_2);
        assert_eq!(request.uri(), "http://example.com:8080/room");
        for absent in ["host", "upgrade", "connection", "sec-websocket-key"] {
            assert!(request.headers().get(absent).is_none(), "{absent}");
        }
        let upgrade =
            UpgradeRequest::validate_extended_connect(&request, Some("websocket")).unwrap();
        assert!(upgrade.is_extended_connect());
        assert_eq!(upgrade.key(), None);
        assert_eq!(upgrade.protocols(), ["chat", "superchat"]);
        assert_eq!(upgrade.extensions()[0].name(), "permessage-deflate");

        let response = upgrade.accept(Some("superchat"), &[]).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        for absent in ["upgrade", "connection", "sec-websocket-accept"] {
            assert!(response.headers().get(absent).is_none(), "{absent}");
        }
        let negotiated = client.check_extended_connect_response(&response).unwrap();
        assert_eq!(negotiated.protocol.as_deref(), Some("superchat"));
        // A 101 answer is for HTTP/1.1; over HTTP/2 it is a refusal.
        let mut switching = Response::new(());
        *switching.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        assert_eq!(
            client.check_extended_connect_response(&switching),
            Err(ResponseError::Status(StatusCode::SWITCHING_PROTOCOLS))
        );
    }

    #[test]
    fn requests_that_are_not_a_websocket_extended_connect() {
        let request = handshake("wss://example.com/").extended_connect_request();
        assert_eq!(request.uri(), "https://example.com/");
        let check = |request: &Request<()>, protocol| {
            UpgradeRequest::validate_extended_connect(request, protocol).map(|_| ())
        };
        assert_eq!(check(&request, Some("WebSocket")), Ok(()));
        assert_eq!(check(&request, None), Err(RequestError::ExtendedConnect));
        assert_eq!(
            check(&request, Some("webtransport")),
            Err(RequestError::ExtendedConnect)
        );
        let mut get = request.clone();
        *get.method_mut() = Method::GET;
        assert_eq!(
            check(&get, Some("websocket")),
            Err(RequestError::ExtendedConnect)
        );
        let mut no_authority = request.clone();
        *no_authority.uri_mut() = Uri::from_static("/");
        assert_eq!(
            check(&no_authority, Some("websocket")),
            Err(RequestError::ExtendedConnect)
        );
        let mut old = request.clone();
        old.headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(
            check(&old, Some("websocket")),
            Err(RequestError::UnsupportedVersion)
        );

        // Rejections over HTTP/2 carry no connection-specific fields.
        let response = RequestError::UnsupportedVersion.response_for(Version::HTTP_2);
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
        assert!(response.headers().get("connection").is_none());
        let response = RequestError::ExtendedConnect.response_for(Version::HTTP_2);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.body().contains("RFC 8441"));
    }
}
