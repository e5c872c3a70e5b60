//! `wss://`: our client against our TLS server (certificates made here), certificate
//! errors that say so, the platform's roots read as OpenSSL reads them, and interop with
//! tokio-tungstenite over TLS.

#![cfg(feature = "tls")]

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use swell::rustls::{CertificateError, Error as TlsError};
use swell::{ClientBuilder, CloseCode, CloseFrame, Config, ConnectError, DeflateConfig, Message};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;

use common::tls::{client_config, echo_server, pki, server_config};
use common::{binary_of, text_of};

const SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, 1 << 20, 20 << 20];

async fn round_trips(deflate: bool) {
    let pki = pki("swell test CA", &["localhost"]);
    let config = if deflate {
        Config::default().deflate(DeflateConfig::default())
    } else {
        Config::default()
    };
    let (addr, _failures) = echo_server(server_config(&pki), config.clone()).await;
    let (mut ws, response) = ClientBuilder::new(&format!("wss://localhost:{}/", addr.port()))
        .unwrap()
        .tls_config(client_config(&[&pki.ca]))
        .config(config)
        .connect()
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(ws.get_ref().is_tls());
    let session = ws.get_ref().tls().unwrap();
    assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(ws.deflate().is_some(), deflate);
    for size in SIZES {
        let text = Message::text(text_of(size));
        ws.send(text.clone()).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), text, "text of {size}");
        let binary = Message::binary(binary_of(size));
        ws.send(binary.clone()).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            binary,
            "binary of {size}"
        );
    }
    close_cleanly(ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_round_trips_0_b_to_20_mib() {
    round_trips(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_round_trips_0_b_to_20_mib_with_deflate() {
    round_trips(true).await;
}

/// Connects to `url` trusting `roots`, expecting a TLS error.
async fn refused(
    url: &str,
    roots: &[&swell::rustls::pki_types::CertificateDer<'static>],
) -> ConnectError {
    ClientBuilder::new(url)
        .unwrap()
        .tls_config(client_config(roots))
        .connect()
        .await
        .expect_err("the certificate must be refused")
}

#[tokio::test]
async fn a_wrong_host_name_is_a_certificate_error() {
    let pki = pki("swell test CA", &["localhost"]);
    let (addr, mut failures) = echo_server(server_config(&pki), Config::default()).await;
    let error = refused(&format!("wss://127.0.0.1:{}/", addr.port()), &[&pki.ca]).await;
    assert!(
        matches!(
            error.tls_error(),
            Some(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("TLS handshake with 127.0.0.1 failed: invalid peer certificate"),
        "{message}"
    );
    assert!(message.contains("not valid for name"), "{message}");
    // The server's handshake failed too, for this connection only.
    assert!(failures.recv().await.is_some());
}

#[tokio::test]
async fn an_unknown_ca_is_a_certificate_error() {
    let pki = pki("swell test CA", &["localhost"]);
    let other = common::tls::pki("another CA", &["localhost"]);
    let (addr, _failures) = echo_server(server_config(&pki), Config::default()).await;
    let error = refused(&format!("wss://localhost:{}/", addr.port()), &[&other.ca]).await;
    assert!(
        matches!(
            error.tls_error(),
            Some(TlsError::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("invalid peer certificate: UnknownIssuer"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tls_handshakes_end_their_connection_only() {
    let pki = pki("swell test CA", &["localhost"]);
    let other = common::tls::pki("another CA", &["localhost"]);
    let (addr, mut failures) = echo_server(server_config(&pki), Config::default()).await;
    let url = format!("wss://localhost:{}/", addr.port());
    // A client that distrusts the certificate, and one that speaks no TLS at all.
    refused(&url, &[&other.ca]).await;
    let error = swell::connect(&format!("ws://localhost:{}/", addr.port()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectError::Io(_) | ConnectError::Response(_)),
        "{error:?}"
    );
    for _ in 0..2 {
        let failure = tokio::time::timeout(Duration::from_secs(5), failures.recv()).await;
        assert!(failure.unwrap().is_some());
    }
    // The listener goes on.
    let (mut ws, _) = ClientBuilder::new(&url)
        .unwrap()
        .tls_config(client_config(&[&pki.ca]))
        .connect()
        .await
        .unwrap();
    ws.send("still here").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text("still here")
    );
}

/// The default configuration trusts what the platform trusts: here, the CA given by
/// `SSL_CERT_FILE` or found in `SSL_CERT_DIR`, as OpenSSL and curl read them. The store is
/// read once per process, so each case runs in a child process of this test binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_roots_are_the_platforms() {
    let pki = pki("swell test CA", &["localhost"]);
    let other = common::tls::pki("another CA", &["localhost"]);
    let (addr, _failures) = echo_server(server_config(&pki), Config::default()).await;
    let dir = std::env::temp_dir().join(format!("swell-roots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(dir.join("other.pem"), &other.ca_pem).unwrap();
    std::fs::write(dir.join("certs/test-ca.pem"), &pki.ca_pem).unwrap();
    let url = format!("wss://localhost:{}/", addr.port());
    let file = dir.join("ca.pem");
    let other_file = dir.join("other.pem");
    let certs = dir.join("certs");
    let cases: [(&str, &std::path::Path, &str); 3] = [
        ("SSL_CERT_FILE", &file, "connected"),
        ("SSL_CERT_DIR", &certs, "connected"),
        (
            "SSL_CERT_FILE",
            &other_file,
            "TLS handshake with localhost failed: invalid peer certificate: UnknownIssuer",
        ),
    ];
    for (var, path, expected) in cases {
        let stdout = common::peers::run_child(
            "child_connects_with_the_default_roots",
            &[(var, path.as_os_str()), ("SWELL_TEST_URL", url.as_ref())],
            &["SSL_CERT_FILE", "SSL_CERT_DIR"],
        )
        .await;
        assert!(
            stdout.contains(&format!("outcome: {expected}")),
            "{var}={path:?}: {stdout}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Run by `the_default_roots_are_the_platforms` in a child process.
#[tokio::test]
#[ignore = "a child process of the_default_roots_are_the_platforms"]
async fn child_connects_with_the_default_roots() {
    let url = std::env::var("SWELL_TEST_URL").expect("run by its parent test");
    match swell::connect(&url).await {
        Ok((mut ws, _)) => {
            ws.send("hi").await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
            println!("outcome: connected");
        }
        Err(e) => println!("outcome: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_with_a_tungstenite_server_over_tls() {
    let pki = pki("swell test CA", &["localhost"]);
    let acceptor = swell::tokio_rustls::TlsAcceptor::from(server_config(&pki));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() || message.is_binary() {
                ws.send(message).await.unwrap();
            }
        }
    });
    let (mut ws, _) = ClientBuilder::new(&format!("wss://localhost:{port}/"))
        .unwrap()
        .tls_config(client_config(&[&pki.ca]))
        .connect()
        .await
        .unwrap();
    for size in [0, 125, 65536, 16 << 20] {
        let message = Message::binary(binary_of(size));
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), message, "{size}");
    }
    close_cleanly(ws).await;
}

/// Closes with 1001: the server echoes the code, and the closing handshake ends cleanly
/// over TLS.
async fn close_cleanly(mut ws: swell::WebSocket<swell::MaybeTlsStream>) {
    let reply = ws
        .close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "done")))
        .await
        .unwrap();
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode::GOING_AWAY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tungstenite_client_over_tls_with_our_server() {
    let pki = pki("swell test CA", &["localhost"]);
    let (addr, _failures) = echo_server(server_config(&pki), Config::default()).await;
    let connector = tokio_tungstenite::Connector::Rustls(client_config(&[&pki.ca]));
    let (mut ws, response) = tokio_tungstenite::connect_async_tls_with_config(
        format!("wss://localhost:{}/", addr.port()),
        None,
        true,
        Some(connector),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 101);
    for size in [0, 125, 65536, 16 << 20] {
        let text = text_of(size);
        ws.send(TMessage::text(text.clone())).await.unwrap();
        match ws.next().await.unwrap().unwrap() {
            TMessage::Text(got) => assert_eq!(got.as_str(), text, "{size}"),
            other => panic!("expected text, got {other:?}"),
        }
    }
    ws.close(None).await.unwrap();
    assert!(matches!(ws.next().await, Some(Ok(TMessage::Close(_)))));
}

/// The caller's `ClientConfig` is used as given: here with a client certificate, which a
/// server that requires one checks. The server also sees the URL's host as the SNI name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_and_sni_from_the_url() {
    use swell::rustls::server::WebPkiClientVerifier;
    use swell::rustls::{ClientConfig, RootCertStore, ServerConfig};

    let server_pki = pki("swell test CA", &["localhost"]);
    let client_pki = pki("client CA", &["client.example"]);
    let provider = std::sync::Arc::new(swell::rustls::crypto::ring::default_provider());
    let mut client_roots = RootCertStore::empty();
    client_roots.add(client_pki.ca.clone()).unwrap();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(client_roots.into(), provider.clone())
            .build()
            .unwrap();
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(server_pki.chain.clone(), server_pki.key.clone_key())
        .unwrap();
    let acceptor = swell::tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen_tx) = (acceptor.clone(), seen_tx.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return drop(seen_tx.send(None));
                };
                let (_, session) = tls.get_ref();
                let sni = session.server_name().map(str::to_owned);
                let client_certs = session.peer_certificates().map_or(0, <[_]>::len);
                seen_tx.send(Some((sni, client_certs))).unwrap();
                let mut ws = swell::accept(tls).await.unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() {
                        ws.send(message).await.unwrap();
                    }
                }
            });
        }
    });
    let mut roots = RootCertStore::empty();
    roots.add(server_pki.ca.clone()).unwrap();
    let with_cert = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(client_pki.chain.clone(), client_pki.key.clone_key())
        .unwrap();
    let url = format!("wss://localhost:{port}/");
    let (mut ws, _) = ClientBuilder::new(&url)
        .unwrap()
        .tls_config(std::sync::Arc::new(with_cert))
        .connect()
        .await
        .unwrap();
    ws.send("with a certificate").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text("with a certificate")
    );
    assert_eq!(
        seen.recv().await.unwrap(),
        Some((Some("localhost".into()), 2))
    );

    // Without one, the server refuses (in TLS 1.3 after the client's side of the handshake
    // is done, so the refusal arrives while the upgrade is being read).
    let error = ClientBuilder::new(&url)
        .unwrap()
        .tls_config(client_config(&[&server_pki.ca]))
        .connect()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("CertificateRequired"), "{error}");
    assert_eq!(seen.recv().await.unwrap(), None);
}
