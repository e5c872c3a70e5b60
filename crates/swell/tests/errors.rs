//! Errors that explain themselves: each cause said once along the `source` chain, refusals
//! and connect failures that say who and what, URLs checked as the WHATWG standard says.

use std::io;

use swell::{AcceptError, ConnectError, Error, ProtocolError, SendError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The messages along an error's `source` chain, outermost first.
fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut next = error.source();
    while let Some(e) = next {
        out.push(e.to_string());
        next = e.source();
    }
    out
}

fn assert_each_cause_said_once(error: &(dyn std::error::Error + 'static)) {
    let messages = chain(error);
    for (i, outer) in messages.iter().enumerate() {
        for inner in &messages[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{outer:?} repeats its source {inner:?} (chain {messages:?})"
            );
        }
    }
}

fn broken_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "broken pipe")
}

#[test]
fn no_error_repeats_its_source() {
    let errors: Vec<Box<dyn std::error::Error>> = vec![
        Box::new(Error::Io(broken_pipe())),
        Box::new(Error::Protocol(ProtocolError::InvalidUtf8)),
        Box::new(Error::Send(SendError::Closed)),
        Box::new(Error::CloseTimeout),
        Box::new(AcceptError::Io(broken_pipe())),
        Box::new(AcceptError::Request(
            swell::handshake::RequestError::UnsupportedVersion,
        )),
        Box::new(ConnectError::Url(
            "http://[".parse::<http::Uri>().unwrap_err(),
        )),
        Box::new(swell::ClientBuilder::new("ftp://example.com/").unwrap_err()),
        Box::new(ConnectError::Connect {
            address: "example.com:80".into(),
            error: io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused"),
        }),
        Box::new(ConnectError::Io(broken_pipe())),
        Box::new(ConnectError::Response(
            swell::handshake::ResponseError::Accept,
        )),
    ];
    for error in &errors {
        assert_each_cause_said_once(error.as_ref());
    }
    // The message still says what happened, once.
    assert_eq!(
        Error::Io(broken_pipe()).to_string(),
        "I/O error: broken pipe"
    );
}

#[test]
fn urls_follow_the_whatwg_rule() {
    let error = swell::ClientBuilder::new("ftp://example.com/").unwrap_err();
    assert!(error.to_string().contains("\"ftp\""), "{error}");
    let error = swell::ClientBuilder::new("example.com/chat").unwrap_err();
    assert!(error.to_string().contains("no scheme"), "{error}");
    for ok in ["ws://a/", "wss://a/", "http://a/", "https://a/", "WS://a/"] {
        assert!(swell::ClientBuilder::new(ok).is_ok(), "{ok}");
    }
}

#[tokio::test]
async fn a_failed_connect_names_the_host_and_port() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = swell::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ConnectError::Connect { address, .. } if *address == format!("127.0.0.1:{port}")),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert_each_cause_said_once(&error);
}

#[tokio::test]
async fn a_refusal_keeps_the_status_the_headers_and_the_start_of_the_body() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = format!("token expired{}", " ".repeat(10_000));
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0; 4096];
        let _ = stream.read(&mut request).await.unwrap();
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        // Keep the connection open: the client must not wait for its end.
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    });
    let error = swell::connect(&format!("ws://{addr}/")).await.unwrap_err();
    let response = error.response().expect("a refusal");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.body().len(), 4096, "bounded to 4 KiB");
    assert!(response.body().starts_with(b"token expired"));
    assert_eq!(
        error.to_string(),
        "the server refused the upgrade with 401 Unauthorized: token expired"
    );
}

#[tokio::test]
async fn a_request_target_too_long_gets_414() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        swell::accept(stream).await.map(drop)
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let target = "a".repeat(20_000);
    let request = format!("GET /{target} HTTP/1.1\r\nHost: x\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 414"), "{response}");
    drop(stream);
    let error = server.await.unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            AcceptError::Request(swell::handshake::RequestError::UriTooLong)
        ),
        "{error:?}"
    );
}
