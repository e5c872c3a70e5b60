//! The client through real proxies, started here: tinyproxy (HTTP `CONNECT`) and
//! microsocks (SOCKS5), both from Debian's packages (`cargo xtask test` installs them),
//! to `ws://` and `wss://` servers, with credentials right, wrong and missing; proxies
//! taken from the environment; the handshake timeout over the whole way.

#![cfg(feature = "tls")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use swell::{ClientBuilder, Config, ConnectError, Message, Proxy, ProxyError};
use tokio::net::TcpListener;

use common::peers::{Daemon, microsocks, run_child, tinyproxy};
use common::tls::{client_config, echo_server, pki, server_config};

/// A `ws://` echo server on loopback.
async fn plain_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut ws = swell::accept(tcp).await.unwrap();
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A `ws://` and a `wss://` echo server, and how to reach each through a proxy.
struct Servers {
    plain: SocketAddr,
    tls: SocketAddr,
    roots: std::sync::Arc<swell::rustls::ClientConfig>,
}

async fn servers() -> Servers {
    let pki = pki("swell test CA", &["localhost"]);
    let (tls, _failures) = echo_server(server_config(&pki), Config::default()).await;
    Servers {
        plain: plain_echo_server().await,
        tls,
        roots: client_config(&[&pki.ca]),
    }
}

impl Servers {
    /// Connects to both servers through `proxy` (by the name `localhost`) and echoes a
    /// message of each kind over each.
    async fn echo_through(&self, proxy: &str) {
        for url in [
            format!("ws://localhost:{}/", self.plain.port()),
            format!("wss://localhost:{}/", self.tls.port()),
        ] {
            let (mut ws, _) = ClientBuilder::new(&url)
                .unwrap()
                .proxy(Proxy::new(proxy).unwrap())
                .tls_config(self.roots.clone())
                .connect()
                .await
                .unwrap_or_else(|e| panic!("{url} through {proxy}: {e}"));
            assert_eq!(ws.get_ref().is_tls(), url.starts_with("wss"));
            for message in [
                Message::text("through the proxy"),
                Message::binary(vec![7; 100_000]),
            ] {
                ws.send(message.clone()).await.unwrap();
                assert_eq!(ws.recv().await.unwrap().unwrap(), message, "{url}");
            }
            ws.close(None).await.unwrap();
        }
    }

    /// Connects to both servers through `proxy`, expecting the proxy to fail the attempt.
    async fn refused_by(&self, proxy: &str) -> Vec<ConnectError> {
        let mut errors = Vec::new();
        for url in [
            format!("ws://localhost:{}/", self.plain.port()),
            format!("wss://localhost:{}/", self.tls.port()),
        ] {
            let error = ClientBuilder::new(&url)
                .unwrap()
                .proxy(Proxy::new(proxy).unwrap())
                .tls_config(self.roots.clone())
                .connect()
                .await
                .expect_err("the proxy must refuse");
            errors.push(error);
        }
        errors
    }
}

fn proxy_error(error: &ConnectError) -> (&str, &ProxyError) {
    match error {
        ConnectError::Proxy { proxy, error } => (proxy, error),
        other => panic!("expected a proxy error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_http_proxy_with_credentials() {
    let Some(proxy) = tinyproxy(Some(("alice", "s3cret")), false).await else {
        return;
    };
    let servers = servers().await;
    let port = proxy.port;
    servers
        .echo_through(&format!("http://alice:s3cret@127.0.0.1:{port}"))
        .await;

    // What tinyproxy says: 407 without credentials, 401 for wrong ones.
    for (url, status) in [
        (
            format!("http://alice:wrong@127.0.0.1:{port}"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!("http://127.0.0.1:{port}"),
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        ),
    ] {
        for error in servers.refused_by(&url).await {
            let (named, why) = proxy_error(&error);
            assert_eq!(
                named,
                format!("http://127.0.0.1:{port}"),
                "no credentials shown"
            );
            match why {
                ProxyError::Refused(response) => assert_eq!(response.status(), status),
                other => panic!("{url}: {other:?}"),
            }
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "proxy http://127.0.0.1:{port}: the proxy refused the tunnel with {status} \
                     (it asks for Basic realm=\"Tinyproxy\")"
                )),
                "{message}"
            );
            assert!(
                !message.contains("s3cret") && !message.contains("wrong"),
                "{message}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_proxy_that_forbids_the_port() {
    let Some(proxy) = tinyproxy(None, true).await else {
        return;
    };
    let servers = servers().await;
    for error in servers
        .refused_by(&format!("127.0.0.1:{}", proxy.port))
        .await
    {
        match proxy_error(&error).1 {
            ProxyError::Refused(response) => assert_eq!(response.status(), StatusCode::FORBIDDEN),
            other => panic!("{other:?}"),
        }
        assert!(
            error
                .to_string()
                .ends_with("refused the tunnel with 403 Forbidden"),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_socks5_proxy_with_credentials() {
    let Some(proxy) = microsocks("alice", "s3cret").await else {
        return;
    };
    let servers = servers().await;
    let port = proxy.port;
    // The name resolved by the proxy, and here.
    servers
        .echo_through(&format!("socks5h://alice:s3cret@127.0.0.1:{port}"))
        .await;
    servers
        .echo_through(&format!("socks5://alice:s3cret@127.0.0.1:{port}"))
        .await;

    for error in servers
        .refused_by(&format!("socks5h://alice:wrong@127.0.0.1:{port}"))
        .await
    {
        assert!(
            matches!(proxy_error(&error).1, ProxyError::SocksAuth),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "proxy socks5h://127.0.0.1:{port}: the proxy refused the username and password"
            )
        );
    }
    for error in servers
        .refused_by(&format!("socks5h://127.0.0.1:{port}"))
        .await
    {
        assert!(
            matches!(proxy_error(&error).1, ProxyError::SocksNoAcceptableMethod),
            "{error:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socks5_proxy_that_cannot_reach_the_destination() {
    let Some(proxy) = microsocks("alice", "s3cret").await else {
        return;
    };
    // A port nobody listens on.
    let closed = common::peers::free_port();
    let error = ClientBuilder::new(&format!("ws://127.0.0.1:{closed}/"))
        .unwrap()
        .proxy(Proxy::new(&format!("socks5h://alice:s3cret@127.0.0.1:{}", proxy.port)).unwrap())
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(proxy_error(&error).1, ProxyError::SocksReply(5)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("the proxy could not connect: connection refused (SOCKS5 reply 5)"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_proxy_is_named() {
    let port = common::peers::free_port();
    let error = ClientBuilder::new("ws://localhost:1/")
        .unwrap()
        .proxy(Proxy::new(&format!("http://127.0.0.1:{port}")).unwrap())
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(proxy_error(&error).1, ProxyError::Connect(_)),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "proxy http://127.0.0.1:{port}: cannot connect to the proxy: "
        )),
        "{error}"
    );
}

/// `Config::handshake_timeout` covers the proxy's part of the way, and the TLS handshake.
#[tokio::test]
async fn the_handshake_timeout_covers_the_proxy_and_tls() {
    // A proxy, and a wss:// server, that accept the connection and say nothing.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            held.push(tcp);
        }
    });
    let config = Config::default().handshake_timeout(Duration::from_millis(300));
    for (url, proxy) in [
        (
            "ws://localhost:1/".to_owned(),
            Some(format!("http://127.0.0.1:{port}")),
        ),
        (
            "ws://localhost:1/".to_owned(),
            Some(format!("socks5h://127.0.0.1:{port}")),
        ),
        (format!("wss://localhost:{port}/"), None),
    ] {
        let mut builder = ClientBuilder::new(&url).unwrap().config(config.clone());
        if let Some(proxy) = &proxy {
            builder = builder.proxy(Proxy::new(proxy).unwrap());
        }
        let started = std::time::Instant::now();
        let error = builder.connect().await.unwrap_err();
        assert!(
            matches!(error, ConnectError::Timeout),
            "{url} {proxy:?}: {error:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

/// The environment's proxy, read by `proxy_from_env` as curl reads it: the proxy is used
/// (here it refuses our missing credentials, which proves it was asked), and `no_proxy`
/// sends the connection around it. Each case runs in a child process, whose environment
/// it sets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_from_the_environment() {
    let Some(proxy) = tinyproxy(Some(("alice", "s3cret")), false).await else {
        return;
    };
    let servers = servers().await;
    let plain = format!("ws://localhost:{}/", servers.plain.port());
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let with_credentials = format!("http://alice:s3cret@127.0.0.1:{}", proxy.port);
    let unset = [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "ws_proxy",
        "WS_PROXY",
        "wss_proxy",
        "WSS_PROXY",
        "no_proxy",
        "NO_PROXY",
    ];
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("http_proxy", &proxy_url)],
            "407 Proxy Authentication Required",
        ),
        (
            &[("ALL_PROXY", &proxy_url)],
            "407 Proxy Authentication Required",
        ),
        (&[("http_proxy", &with_credentials)], "connected"),
        (
            &[("http_proxy", &proxy_url), ("NO_PROXY", "localhost")],
            "connected",
        ),
        // HTTP_PROXY is not read, as in curl.
        (&[("HTTP_PROXY", &proxy_url)], "connected"),
    ];
    for (vars, expected) in cases {
        let mut env: Vec<(&str, &std::ffi::OsStr)> = vars
            .iter()
            .map(|(k, v)| (*k, std::ffi::OsStr::new(*v)))
            .collect();
        env.push(("SWELL_TEST_URL", plain.as_ref()));
        let stdout = run_child("child_connects_with_the_environments_proxy", &env, &unset).await;
        let outcome = stdout
            .lines()
            .find_map(|l| l.strip_prefix("outcome: "))
            .unwrap();
        assert!(outcome.contains(expected), "{vars:?}: {outcome}");
    }
    drop::<Daemon>(proxy);
}

/// Run by `proxies_from_the_environment` in a child process.
#[tokio::test]
#[ignore = "a child process of proxies_from_the_environment"]
async fn child_connects_with_the_environments_proxy() {
    let url = std::env::var("SWELL_TEST_URL").expect("run by its parent test");
    let connected = async { ClientBuilder::new(&url)?.proxy_from_env()?.connect().await };
    match connected.await {
        Ok((mut ws, _)) => {
            ws.send("hi").await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("hi"));
            println!("outcome: connected");
        }
        Err(e) => println!("outcome: {e}"),
    }
}
