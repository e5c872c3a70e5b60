//! A real browser: headless Chromium loads a page over HTTPS with HTTP/2 from a swell-hyper
//! server (hyper-util's auto server, TLS with ALPN `h2`, extended CONNECT allowed), and the
//! page's WebSocket arrives at the server as an extended CONNECT on that HTTP/2 connection
//! (RFC 8441) and exchanges messages. The test CA goes into Chromium's own trust store (an
//! NSS database under a HOME made for the test), not past an ignored certificate error,
//! which may keep Chromium from pooling the WebSocket onto the page's HTTP/2 connection
//! (not tried here).
//!
//! Chromium and certutil come from Debian (`cargo xtask test` installs them); without them
//! the test is skipped, unless `SWELL_REQUIRE_PEERS` is set.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use swell::Message;
use swell::rustls::ServerConfig;
use swell::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use swell::tokio_rustls::TlsAcceptor;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::mpsc;

const PAGE: &str = r#"<!doctype html>
<title>swell over HTTP/2</title>
<script>
  const ws = new WebSocket("wss://" + location.host + "/ws");
  ws.onopen = () => ws.send("hello from the browser");
  ws.onmessage = (event) => ws.send("got: " + event.data);
</script>
"#;

/// A program on `PATH`, or `None` (the test skips) unless the peers are required.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("SWELL_REQUIRE_PEERS").is_none(),
            "{name} is not installed; `cargo xtask test` installs it"
        );
        eprintln!("skipped: {name} is not installed (`cargo xtask test` installs it)");
    }
    found
}

/// What the server saw of the browser's WebSocket.
#[derive(Debug, PartialEq)]
struct Seen {
    version: Version,
    page_version: Version,
    reply: String,
}

/// The page at `/`, the WebSocket at `/ws`: it answers the browser's first message and
/// reports the browser's answer to that, with the HTTP versions of both requests.
async fn handle(
    mut request: Request<Incoming>,
    seen: mpsc::UnboundedSender<Seen>,
    page_version: Arc<std::sync::Mutex<Option<Version>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !swell_hyper::is_upgrade_request(&request) {
        *page_version.lock().unwrap() = Some(request.version());
        let mut response = Response::new(Full::from(PAGE));
        response
            .headers_mut()
            .insert("content-type", "text/html".parse().unwrap());
        return Ok(response);
    }
    let version = request.version();
    match swell_hyper::upgrade(&mut request, swell::Config::default()) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                let mut ws = upgrading.await.unwrap();
                let Some(Ok(Message::Text(hello))) = ws.recv().await else {
                    return;
                };
                ws.send(format!("echo: {hello}")).await.unwrap();
                if let Some(Ok(Message::Text(reply))) = ws.recv().await {
                    let page_version = page_version.lock().unwrap().unwrap_or(Version::HTTP_09);
                    let _ = seen.send(Seen {
                        version,
                        page_version,
                        reply: reply.to_string(),
                    });
                }
                let _ = ws.close(None).await;
            });
            Ok(response)
        }
        Err(rejection) => Ok(rejection.into_http_response()),
    }
}

/// A test CA, and a certificate from it for localhost: the CA's PEM and the server's TLS
/// configuration (ALPN h2, then http/1.1).
fn certificates() -> (String, Arc<ServerConfig>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "swell browser test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = Arc::new(swell::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (ca.pem(), Arc::new(config))
}

/// An NSS database under `home` that trusts `ca_pem` for TLS servers, where Chromium on
/// Linux looks for the user's certificates.
async fn trust(certutil: &Path, home: &Path, ca_pem: &str) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(home.join("ca.pem"), ca_pem).unwrap();
    let db = format!("sql:{}", db.display());
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec!["-A", "-d", &db, "-t", "C,,", "-n", "swell test CA", "-i"],
    ] {
        let mut command = Command::new(certutil);
        command.args(&args);
        if args[0] == "-A" {
            command.arg(home.join("ca.pem"));
        }
        let status = command.status().await.unwrap();
        assert!(status.success(), "certutil {args:?}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_opens_a_websocket_over_http2() {
    let (Some(chromium), Some(certutil)) = (program("chromium"), program("certutil")) else {
        return;
    };
    let (ca_pem, tls) = certificates();
    let home = std::env::temp_dir().join(format!("swell-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    trust(&certutil, &home, &ca_pem).await;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(tls);
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let page_version = Arc::new(std::sync::Mutex::new(None));
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, seen_tx, page_version) =
                (acceptor.clone(), seen_tx.clone(), page_version.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut server = auto::Builder::new(TokioExecutor::new());
                server.http2().enable_connect_protocol();
                let service = service_fn(move |request| {
                    handle(request, seen_tx.clone(), page_version.clone())
                });
                let _ = server
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let mut browser = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            home.join("profile").display()
        ))
        .arg(format!("https://localhost:{port}/"))
        .env("HOME", &home)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), seen.recv()).await;
    let _ = browser.kill().await;
    let stderr = match browser.stderr.take() {
        Some(mut err) => {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut err, &mut text).await;
            text
        }
        None => String::new(),
    };
    let _ = std::fs::remove_dir_all(&home);
    let seen = outcome
        .unwrap_or_else(|_| panic!("no WebSocket from Chromium within 60 s; it said:\n{stderr}"))
        .unwrap();
    assert_eq!(
        seen,
        Seen {
            version: Version::HTTP_2,
            page_version: Version::HTTP_2,
            reply: "got: echo: hello from the browser".into(),
        },
        "Chromium said:\n{stderr}"
    );
}
