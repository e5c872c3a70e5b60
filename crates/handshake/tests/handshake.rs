//! Both roles of the opening handshake: every rejection with its status, and the client's
//! checks of a server's answer.

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use swell_handshake::{
    ClientHandshake, Extension, HeadLimits, InvalidUri, RequestError, ResponseError,
    UpgradeRequest, accept_key, parse_request, write_response_head,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn valid_request() -> Request<()> {
    Request::builder()
        .uri("/chat")
        .header("host", "server.example.com")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("origin", "http://example.com")
        .header("sec-websocket-protocol", "chat, superchat")
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap()
}

fn with(f: impl FnOnce(&mut Request<()>)) -> Result<UpgradeRequest, RequestError> {
    let mut request = valid_request();
    f(&mut request);
    UpgradeRequest::validate(&request)
}

fn set(request: &mut Request<()>, name: &'static str, value: &'static str) {
    request.headers_mut().insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    );
}

#[test]
fn the_rfc_example_request_is_accepted() {
    let upgrade = UpgradeRequest::validate(&valid_request()).unwrap();
    assert_eq!(upgrade.protocols(), ["chat", "superchat"]);
    let response = upgrade.accept(Some("chat"), &[]).unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert!(upgrade.accept(Some("other"), &[]).is_err());
    // Tokens are compared without regard to case, and may share a list.
    let upgrade = with(|r| {
        set(r, "upgrade", "WebSocket");
        set(r, "connection", "keep-alive, upgrade");
    });
    assert!(upgrade.is_ok());
}

#[test]
fn every_rejection_has_its_status() {
    let cases: Vec<(Result<UpgradeRequest, RequestError>, RequestError, u16)> = vec![
        (
            with(|r| *r.method_mut() = http::Method::POST),
            RequestError::Method,
            405,
        ),
        (
            with(|r| *r.version_mut() = http::Version::HTTP_10),
            RequestError::Version,
            505,
        ),
        (
            with(|r| {
                r.headers_mut().remove("host");
            }),
            RequestError::Host,
            400,
        ),
        (
            with(|r| {
                r.headers_mut()
                    .append("host", HeaderValue::from_static("b"));
            }),
            RequestError::Host,
            400,
        ),
        (
            with(|r| {
                r.headers_mut().remove("upgrade");
            }),
            RequestError::NotUpgrade,
            426,
        ),
        (
            with(|r| set(r, "upgrade", "h2c")),
            RequestError::NotUpgrade,
            426,
        ),
        (
            with(|r| set(r, "connection", "keep-alive")),
            RequestError::ConnectionNotUpgrade,
            400,
        ),
        (
            with(|r| set(r, "sec-websocket-version", "8")),
            RequestError::UnsupportedVersion,
            426,
        ),
        (
            with(|r| {
                r.headers_mut().remove("sec-websocket-version");
            }),
            RequestError::UnsupportedVersion,
            426,
        ),
        (
            with(|r| {
                r.headers_mut().remove("sec-websocket-key");
            }),
            RequestError::Key,
            400,
        ),
        (
            with(|r| set(r, "sec-websocket-key", "c2hvcnQ=")),
            RequestError::Key,
            400,
        ),
        (
            with(|r| {
                r.headers_mut()
                    .append("sec-websocket-key", HeaderValue::from_static(KEY));
            }),
            RequestError::Key,
            400,
        ),
        (
            with(|r| set(r, "sec-websocket-protocol", "a b")),
            RequestError::InvalidHeader(swell_handshake::InvalidHeader("Sec-WebSocket-Protocol")),
            400,
        ),
        (
            with(|r| set(r, "sec-websocket-extensions", "x;")),
            RequestError::InvalidHeader(swell_handshake::InvalidHeader("Sec-WebSocket-Extensions")),
            400,
        ),
    ];
    for (result, expected, status) in cases {
        let error = result.unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(error.status().as_u16(), status, "{error}");
        let response = error.response();
        assert_eq!(response.status().as_u16(), status);
        assert!(response.body().contains(&error.to_string()));
        assert_eq!(
            response.headers()["content-length"],
            response.body().len().to_string().as_str()
        );
    }
    let response = RequestError::UnsupportedVersion.response();
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert_eq!(
        RequestError::NotUpgrade.response().headers()["upgrade"],
        "websocket"
    );
    assert_eq!(RequestError::Method.response().headers()["allow"], "GET");
}

fn head_len<T, E>(result: Result<Option<(T, usize)>, E>) -> Result<Option<usize>, E> {
    result.map(|head| head.map(|(_, len)| len))
}

#[test]
fn request_heads_are_bounded() {
    let limits = HeadLimits::default();
    let huge = format!(
        "GET / HTTP/1.1\r\nX: {}\r\n",
        "a".repeat(limits.max_head_size)
    );
    assert_eq!(
        head_len(parse_request(huge.as_bytes(), &limits)),
        Err(RequestError::HeadTooLarge)
    );
    let many: String = std::iter::once("GET / HTTP/1.1\r\n".to_owned())
        .chain((0..=limits.max_headers).map(|i| format!("h{i}: v\r\n")))
        .chain(std::iter::once("\r\n".to_owned()))
        .collect();
    assert_eq!(
        head_len(parse_request(many.as_bytes(), &limits)),
        Err(RequestError::TooManyHeaders)
    );
    assert_eq!(
        head_len(parse_request(b"GARBAGE\r\n\r\n", &limits)),
        Err(RequestError::Malformed)
    );
    assert_eq!(
        RequestError::HeadTooLarge.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

fn client() -> ClientHandshake {
    ClientHandshake::new(
        "ws://localhost:9001/x?y=1".parse().unwrap(),
        *b"the sample nonce",
    )
    .unwrap()
    .protocol("chat")
    .extension(Extension::new("permessage-deflate"))
}

fn answer(f: impl FnOnce(&mut Response<()>)) -> Result<(), ResponseError> {
    let mut response = Response::builder()
        .status(101)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", accept_key(KEY.as_bytes()))
        .body(())
        .unwrap();
    f(&mut response);
    client().check_response(&response).map(drop)
}

#[test]
fn client_requests_carry_the_required_headers() {
    let c = client()
        .origin(HeaderValue::from_static("http://localhost"))
        .header(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer t"),
        );
    let request = c.request();
    let h = request.headers();
    // Origin form: the target alone, the authority in Host.
    assert_eq!(request.uri(), "/x?y=1");
    assert_eq!(request.uri().scheme(), None);
    assert_eq!(h["host"], "localhost:9001");
    assert_eq!(h["upgrade"], "websocket");
    assert_eq!(h["connection"], "Upgrade");
    assert_eq!(h["sec-websocket-key"], KEY);
    assert_eq!(h["sec-websocket-version"], "13");
    assert_eq!(h["sec-websocket-protocol"], "chat");
    assert_eq!(h["sec-websocket-extensions"], "permessage-deflate");
    assert_eq!(h["origin"], "http://localhost");
    assert_eq!(h["authorization"], "Bearer t");
    // The server side accepts what the client side builds.
    assert!(UpgradeRequest::validate(&request).is_ok());
    // Default ports stay out of Host.
    let c = ClientHandshake::new("ws://[::1]:80/".parse().unwrap(), [0; 16]).unwrap();
    assert_eq!(c.request().headers()["host"], "[::1]");
}

#[test]
fn client_uris_are_checked() {
    let new = |uri: &str| ClientHandshake::new(uri.parse().unwrap(), [0; 16]).map(drop);
    assert_eq!(new("ftp://a/"), Err(InvalidUri::Scheme("ftp".into())));
    assert_eq!(new("/relative"), Err(InvalidUri::NoScheme));
    assert!(new("http://a/").is_ok(), "http is taken as ws (WHATWG)");
    assert!(new("HTTPS://a/").is_ok());
    assert!(new("wss://a/").is_ok());
}

#[test]
fn client_checks_every_part_of_the_response() {
    assert_eq!(answer(|_| {}), Ok(()));
    assert_eq!(
        answer(|r| *r.status_mut() = StatusCode::OK),
        Err(ResponseError::Status(StatusCode::OK))
    );
    assert_eq!(
        answer(|r| {
            r.headers_mut().remove("upgrade");
        }),
        Err(ResponseError::Upgrade)
    );
    assert_eq!(
        answer(|r| {
            r.headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
        }),
        Err(ResponseError::Connection)
    );
    assert_eq!(
        answer(|r| {
            r.headers_mut()
                .insert("sec-websocket-accept", HeaderValue::from_static("wrong"));
        }),
        Err(ResponseError::Accept)
    );
    assert_eq!(
        answer(|r| {
            r.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("superchat"),
            );
        }),
        Err(ResponseError::Protocol)
    );
    assert_eq!(
        answer(|r| {
            r.headers_mut().insert(
                "sec-websocket-extensions",
                HeaderValue::from_static("x-other"),
            );
        }),
        Err(ResponseError::Extension("x-other".into()))
    );
    assert_eq!(
        answer(|r| {
            r.headers_mut().insert(
                "sec-websocket-extensions",
                HeaderValue::from_static("permessage-deflate; server_no_context_takeover"),
            );
            r.headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static("chat"));
        }),
        Ok(())
    );
}

#[test]
fn a_response_split_anywhere_parses_once_complete() {
    let upgrade = UpgradeRequest::validate(&client().request()).unwrap();
    let mut wire = Vec::new();
    write_response_head(&upgrade.accept(None, &[]).unwrap(), &mut wire);
    let c = client();
    for cut in 0..wire.len() {
        assert!(matches!(
            c.parse_response(&wire[..cut], &HeadLimits::default()),
            Ok(None)
        ));
    }
    let (_, negotiated, len) = c
        .parse_response(&wire, &HeadLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(len, wire.len());
    assert_eq!(negotiated.protocol, None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Arbitrary bytes never panic the parsers or the validators.
        #[test]
        fn arbitrary_heads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let limits = HeadLimits::default();
            if let Ok(Some((request, len))) = parse_request(&bytes, &limits) {
                prop_assert!(len <= bytes.len());
                if let Err(e) = UpgradeRequest::validate(&request) {
                    let _ = e.response();
                }
            }
            let _ = client().parse_response(&bytes, &limits);
        }

        /// Header-shaped input with random values never panics either.
        #[test]
        fn arbitrary_header_values_never_panic(
            upgrade in "[ -~]{0,20}", connection in "[ -~]{0,20}",
            key in "[ -~]{0,30}", protocols in "[ -~]{0,30}", extensions in "[ -~]{0,60}",
        ) {
            let head = format!(
                "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: {upgrade}\r\nConnection: {connection}\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\
                 Sec-WebSocket-Protocol: {protocols}\r\nSec-WebSocket-Extensions: {extensions}\r\n\r\n"
            );
            if let Ok(Some((request, _))) = parse_request(head.as_bytes(), &HeadLimits::default()) {
                let _ = UpgradeRequest::validate(&request);
            }
        }
    }
}
