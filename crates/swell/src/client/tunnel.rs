//! Opening the TCP stream to the destination: directly, or as a tunnel through an HTTP
//! (`CONNECT`) or SOCKS5 proxy.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::BytesMut;
use swell_handshake::{HeadLimits, parse_response};
use tokio::net::TcpStream;
use tokio_socks::tcp::Socks5Stream;

use crate::client::proxy::{Proxy, ProxyError, ProxyKind};
use crate::error::ConnectError;
use crate::head;

/// A TCP connection to `host:port`, or through `proxy` to it, with Nagle's algorithm off.
pub(crate) async fn open(
    proxy: Option<&Proxy>,
    host: &str,
    port: u16,
    limits: &HeadLimits,
) -> Result<TcpStream, ConnectError> {
    let Some(proxy) = proxy else {
        let tcp =
            TcpStream::connect((host, port))
                .await
                .map_err(|error| ConnectError::Connect {
                    address: host_port(host, port),
                    error,
                })?;
        tcp.set_nodelay(true)?;
        return Ok(tcp);
    };
    let failed = |error| ConnectError::Proxy {
        proxy: proxy.to_string(),
        error,
    };
    let tcp = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| failed(ProxyError::Connect(e)))?;
    tcp.set_nodelay(true)?;
    match proxy.kind {
        ProxyKind::Http => http_connect(tcp, proxy, host, port, limits)
            .await
            .map_err(failed),
        ProxyKind::Socks5 { remote_dns } => socks5(tcp, proxy, host, port, remote_dns)
            .await
            .map_err(failed),
    }
}

/// `host:port`, an IPv6 address in brackets as in a URL.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Asks an HTTP proxy for a tunnel (RFC 9110 §9.3.6) and reads its answer with our own
/// head parser, under the same head limits as the upgrade's answer.
async fn http_connect(
    mut tcp: TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    limits: &HeadLimits,
) -> Result<TcpStream, ProxyError> {
    let target = host_port(host, port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((user, password)) = &proxy.credentials {
        let token = STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    head::write_all(&mut tcp, request.as_bytes(), &[])
        .await
        .map_err(ProxyError::Io)?;
    let mut buf = BytesMut::with_capacity(512);
    let (response, head_len) = head::read_head(&mut tcp, &mut buf, limits.max_head_size, |b| {
        parse_response(b, limits)
    })
    .await
    .map_err(ProxyError::Io)?
    .map_err(|e| ProxyError::Protocol(e.to_string()))?;
    if !response.status().is_success() {
        return Err(ProxyError::Refused(Box::new(response)));
    }
    if buf.len() > head_len {
        // A 2xx answer to CONNECT has no body (RFC 9110 §9.3.6), and the destination has
        // nothing to say before our first bytes, the upgrade request or the TLS hello.
        return Err(ProxyError::Protocol(format!(
            "{} bytes after its {} answer, before the tunnel was used",
            buf.len() - head_len,
            response.status()
        )));
    }
    Ok(tcp)
}

/// A SOCKS5 `CONNECT` (RFC 1928), with username and password (RFC 1929) when the proxy's
/// URL has them; the destination goes by name when the proxy resolves it, else by the
/// first address our resolver gives.
async fn socks5(
    tcp: TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    remote_dns: bool,
) -> Result<TcpStream, ProxyError> {
    let address = if remote_dns || host.parse::<std::net::IpAddr>().is_ok() {
        None
    } else {
        let mut found = tokio::net::lookup_host((host, port))
            .await
            .map_err(ProxyError::Resolve)?;
        Some(found.next().ok_or_else(|| {
            ProxyError::Resolve(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} resolves to no address"),
            ))
        })?)
    };
    let stream = match (&proxy.credentials, address) {
        (None, None) => Socks5Stream::connect_with_socket(tcp, (host, port)).await,
        (None, Some(address)) => Socks5Stream::connect_with_socket(tcp, address).await,
        (Some((user, password)), None) => {
            Socks5Stream::connect_with_password_and_socket(tcp, (host, port), user, password).await
        }
        (Some((user, password)), Some(address)) => {
            Socks5Stream::connect_with_password_and_socket(tcp, address, user, password).await
        }
    };
    stream.map(Socks5Stream::into_inner).map_err(socks_error)
}

fn socks_error(e: tokio_socks::Error) -> ProxyError {
    use tokio_socks::Error as E;
    match e {
        E::Io(e) => ProxyError::Io(e),
        E::GeneralSocksServerFailure => ProxyError::SocksReply(1),
        E::ConnectionNotAllowedByRuleset => ProxyError::SocksReply(2),
        E::NetworkUnreachable => ProxyError::SocksReply(3),
        E::HostUnreachable => ProxyError::SocksReply(4),
        E::ConnectionRefused => ProxyError::SocksReply(5),
        E::TtlExpired => ProxyError::SocksReply(6),
        E::CommandNotSupported => ProxyError::SocksReply(7),
        E::AddressTypeNotSupported => ProxyError::SocksReply(8),
        E::PasswordAuthFailure(_) => ProxyError::SocksAuth,
        E::NoAcceptableAuthMethods => ProxyError::SocksNoAcceptableMethod,
        other => ProxyError::Protocol(other.to_string()),
    }
}
