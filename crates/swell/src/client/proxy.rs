//! Proxies for the client: which one (given, or from the environment as curl reads it) and
//! what went wrong with it.

use std::fmt;
use std::io;
use std::net::IpAddr;

use http::header::{PROXY_AUTHENTICATE, WWW_AUTHENTICATE};
use http::{Response, Uri};

/// A proxy a client connects through, set with
/// [`ClientBuilder::proxy`](crate::ClientBuilder::proxy).
///
/// - `http://[user:password@]host[:port]`: an HTTP proxy, asked for a tunnel with
///   `CONNECT` (for `ws://` as for `wss://`: a proxy that forwards requests would not
///   forward an upgrade reliably). Credentials go as `Proxy-Authorization: Basic`.
/// - `socks5h://[user:password@]host[:port]`: SOCKS5 (RFC 1928), the proxy resolves the
///   host's name; `socks5://`: SOCKS5 with the name resolved here, as curl does.
///   Credentials by RFC 1929.
///
/// As in curl, a URL without a scheme is an HTTP proxy and the port is 1080 unless given;
/// credentials are percent-decoded.
///
/// ```
/// let proxy = swell::Proxy::new("http://alice:s3cret@proxy.example:3128")?;
/// assert_eq!(proxy.to_string(), "http://proxy.example:3128"); // no credentials shown
/// # Ok::<(), swell::ConnectError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub(crate) kind: ProxyKind,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProxyKind {
    Http,
    /// SOCKS5; `remote_dns` when the proxy resolves the name (`socks5h://`).
    Socks5 {
        remote_dns: bool,
    },
}

impl Proxy {
    /// Parses a proxy URL (see the type's documentation).
    ///
    /// # Errors
    ///
    /// [`ConnectError::ProxyUrl`](crate::ConnectError::ProxyUrl) for a URL that does not
    /// parse or names a kind of proxy swell does not speak (`https://`, `socks4://`).
    pub fn new(url: &str) -> Result<Self, crate::ConnectError> {
        let bad = |why: &str| crate::ConnectError::ProxyUrl(format!("{url:?}: {why}"));
        let with_scheme;
        let url_with_scheme = if url.contains("://") {
            url
        } else {
            with_scheme = format!("http://{url}");
            &with_scheme
        };
        let uri: Uri = url_with_scheme.parse().map_err(|e| bad(&format!("{e}")))?;
        let kind = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => ProxyKind::Http,
            Some("socks5") => ProxyKind::Socks5 { remote_dns: false },
            Some("socks5h") => ProxyKind::Socks5 { remote_dns: true },
            Some(other) => {
                return Err(bad(&format!(
                    "{other}:// proxies are not supported (http://, socks5:// and socks5h:// are)"
                )));
            }
            None => return Err(bad("no scheme")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let credentials = match authority.as_str().rsplit_once('@') {
            Some((userinfo, _)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Some((
                    percent_decode(user).ok_or_else(|| bad("bad percent-encoding"))?,
                    percent_decode(password).ok_or_else(|| bad("bad percent-encoding"))?,
                ))
            }
            None => None,
        };
        Ok(Self {
            kind,
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(1080),
            credentials,
        })
    }

    /// The proxy curl would use for `target`, from the environment: for `ws://`,
    /// `ws_proxy`, `WS_PROXY`, then `http_proxy` (only in lower case, as curl: `HTTP_PROXY`
    /// can be set by a CGI request's `Proxy:` header); for `wss://`, `wss_proxy`,
    /// `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY`; then `all_proxy`, `ALL_PROXY`. None when
    /// none is set (an empty value is unset) or when `no_proxy` (or `NO_PROXY`) names the
    /// host: `*` for every host, a name for itself and its subdomains (a leading dot or
    /// not), an IP address, or an IP range in CIDR notation, separated by commas or spaces.
    ///
    /// # Errors
    ///
    /// [`ConnectError::ProxyUrl`](crate::ConnectError::ProxyUrl) when the variable that
    /// applies does not hold a proxy URL.
    pub fn from_env(target: &Uri) -> Result<Option<Self>, crate::ConnectError> {
        Self::from_env_with(target, |name| std::env::var(name).ok())
    }

    /// [`Proxy::from_env`] over any source of variables.
    pub(crate) fn from_env_with(
        target: &Uri,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, crate::ConnectError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let secure = swell_handshake::is_secure(target) == Some(true);
        let names: &[&str] = if secure {
            &["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY"]
        } else {
            &["ws_proxy", "WS_PROXY", "http_proxy"]
        };
        let found = names
            .iter()
            .chain(&["all_proxy", "ALL_PROXY"])
            .find_map(|name| Some((*name, var(name)?)));
        let Some((name, url)) = found else {
            return Ok(None);
        };
        let host = target.host().unwrap_or_default();
        if let Some(list) = var("no_proxy").or_else(|| var("NO_PROXY")) {
            if no_proxy_matches(&list, host) {
                return Ok(None);
            }
        }
        Self::new(url.trim()).map(Some).map_err(|e| match e {
            crate::ConnectError::ProxyUrl(why) => {
                crate::ConnectError::ProxyUrl(format!("{name}={why}"))
            }
            other => other,
        })
    }
}

/// Whether a `no_proxy` list names `host`, by curl's rules.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let ip: Option<IpAddr> = host.parse().ok();
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some(ip) = ip {
                let entry = entry.trim_start_matches('[').trim_end_matches(']');
                return match entry.split_once('/') {
                    Some((net, bits)) => in_cidr(ip, net, bits),
                    None => entry.parse() == Ok(ip),
                };
            }
            let entry = entry.trim_start_matches('.').trim_end_matches('.');
            host.eq_ignore_ascii_case(entry)
                || (host.len() > entry.len()
                    && host.as_bytes()[host.len() - entry.len() - 1] == b'.'
                    && host[host.len() - entry.len()..].eq_ignore_ascii_case(entry))
        })
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The proxy's URL without its credentials: what errors name.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 { remote_dns: false } => "socks5",
            ProxyKind::Socks5 { remote_dns: true } => "socks5h",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// As [`Display`](fmt::Display), with whether there are credentials, never what they are.
impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &format_args!("{self}"))
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

/// What went wrong with a proxy, in [`ConnectError::Proxy`](crate::ConnectError::Proxy).
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// No TCP connection could be made to the proxy.
    Connect(io::Error),
    /// The HTTP proxy answered `CONNECT` with another status than 2xx: 407 when it wants
    /// credentials (its `Proxy-Authenticate` header says which; tinyproxy answers wrong
    /// ones with 401), 403 when its rules forbid the destination. The answer's head,
    /// without its body.
    Refused(Box<Response<()>>),
    /// The SOCKS5 proxy could not or would not connect to the destination: the reply code
    /// of RFC 1928 §6 (1 general failure, 2 not allowed by its rules, 3 network
    /// unreachable, 4 host unreachable, 5 connection refused, 6 TTL expired, 7 command not
    /// supported, 8 address type not supported).
    SocksReply(u8),
    /// The SOCKS5 proxy refused our username and password (RFC 1929).
    SocksAuth,
    /// The SOCKS5 proxy accepts none of the authentication methods we offered: it wants
    /// credentials and we had none, or it wants a method swell does not speak.
    SocksNoAcceptableMethod,
    /// The proxy's answer broke its protocol.
    Protocol(String),
    /// The destination's name could not be resolved here, for a `socks5://` proxy
    /// (`socks5h://` leaves it to the proxy).
    Resolve(io::Error),
    /// The connection to the proxy failed while it was being asked for the tunnel.
    Io(io::Error),
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "cannot connect to the proxy: {e}"),
            Self::Refused(response) => {
                write!(f, "the proxy refused the tunnel with {}", response.status())?;
                // Some proxies (tinyproxy) answer wrong credentials with 401 and a
                // WWW-Authenticate challenge.
                let headers = response.headers();
                let challenge = headers.get(PROXY_AUTHENTICATE).or(headers.get(WWW_AUTHENTICATE));
                if let Some(challenge) = challenge {
                    let challenge = String::from_utf8_lossy(challenge.as_bytes());
                    write!(f, " (it asks for {challenge})")?;
                }
                Ok(())
            }
            Self::SocksReply(code) => {
                let what = match code {
                    1 => "general SOCKS server failure",
                    2 => "connection not allowed by its rules",
                    3 => "network unreachable",
                    4 => "host unreachable",
                    5 => "connection refused",
                    6 => "TTL expired",
                    7 => "command not supported",
                    8 => "address type not supported",
                    _ => "unassigned reply code",
                };
                write!(f, "the proxy could not connect: {what} (SOCKS5 reply {code})")
            }
            Self::SocksAuth => f.write_str("the proxy refused the username and password"),
            Self::SocksNoAcceptableMethod => f.write_str(
                "the proxy accepts none of the authentication methods offered (credentials needed?)",
            ),
            Self::Protocol(why) => write!(f, "the proxy's answer is invalid: {why}"),
            Self::Resolve(e) => write!(f, "cannot resolve the destination for the proxy: {e}"),
            Self::Io(e) => write!(f, "I/O error talking to the proxy: {e}"),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect(e) | Self::Io(e) | Self::Resolve(e) => e.source(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn chosen(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        Proxy::from_env_with(&url.parse().unwrap(), env(vars))
            .unwrap()
            .map(|p| p.to_string())
    }

    #[test]
    fn parses_each_kind_with_curls_defaults() {
        let p = Proxy::new("http://a%40b:p%3Ass@proxy.example:3128").unwrap();
        assert_eq!(p.kind, ProxyKind::Http);
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 3128));
        assert_eq!(p.credentials, Some(("a@b".into(), "p:ss".into())));
        assert_eq!(
            format!("{p:?}"),
            "Proxy { url: http://proxy.example:3128, credentials: true }"
        );

        let p = Proxy::new("proxy.example").unwrap();
        assert_eq!(
            (p.kind, p.port, p.credentials),
            (ProxyKind::Http, 1080, None)
        );
        let p = Proxy::new("SOCKS5H://u@[::1]:9050").unwrap();
        assert_eq!(p.kind, ProxyKind::Socks5 { remote_dns: true });
        assert_eq!(p.to_string(), "socks5h://[::1]:9050");
        assert_eq!(p.credentials, Some(("u".into(), String::new())));
        assert_eq!(
            Proxy::new("socks5://h").unwrap().kind,
            ProxyKind::Socks5 { remote_dns: false }
        );

        for bad in [
            "https://proxy:443",
            "socks4://h",
            "http://",
            "http://u:%zz@h",
        ] {
            let e = Proxy::new(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn environment_follows_curl() {
        let all = [
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
            ("https_proxy", "http://secure:3"),
            ("HTTPS_PROXY", "http://secure-upper:4"),
            ("ALL_PROXY", "socks5h://all:5"),
        ];
        assert_eq!(chosen("ws://h/", &all).unwrap(), "http://lower:1");
        assert_eq!(chosen("wss://h/", &all).unwrap(), "http://secure:3");
        // HTTP_PROXY is never read; HTTPS_PROXY is.
        let upper = [
            ("HTTP_PROXY", "http://upper:2"),
            ("HTTPS_PROXY", "http://s:4"),
        ];
        assert_eq!(chosen("ws://h/", &upper), None);
        assert_eq!(chosen("wss://h/", &upper).unwrap(), "http://s:4");
        // ws_proxy first, ALL_PROXY last, an empty value is unset.
        let ws = [
            ("ws_proxy", "http://ws:6"),
            ("http_proxy", "http://lower:1"),
        ];
        assert_eq!(chosen("ws://h/", &ws).unwrap(), "http://ws:6");
        let fallback = [("http_proxy", ""), ("ALL_PROXY", "socks5h://all:5")];
        assert_eq!(chosen("ws://h/", &fallback).unwrap(), "socks5h://all:5");
        assert_eq!(chosen("ws://h/", &[]), None);
        // A bad value names its variable.
        let e = Proxy::from_env_with(
            &"ws://h/".parse().unwrap(),
            env(&[("all_proxy", "ftp://x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("all_proxy=\"ftp://x\""), "{e}");
    }

    #[test]
    fn no_proxy_follows_curl() {
        let matches = |list, host| no_proxy_matches(list, host);
        assert!(matches("*", "anything.example"));
        assert!(matches("example.com", "example.com"));
        assert!(matches("example.com", "WWW.Example.COM."));
        assert!(matches(".example.com", "a.b.example.com"));
        assert!(matches(".example.com", "example.com"));
        assert!(!matches("example.com", "badexample.com"));
        assert!(!matches("example.com", "example.com.evil"));
        assert!(matches("foo, bar example.com", "example.com"));
        assert!(matches("10.0.0.0/8", "10.1.2.3"));
        assert!(!matches("10.0.0.0/8", "11.1.2.3"));
        assert!(matches("127.0.0.1", "127.0.0.1"));
        assert!(!matches("127.0.0.1", "127.0.0.2"));
        assert!(matches("::1", "[::1]"));
        assert!(matches("fd00::/8", "[fd12::1]"));
        assert!(matches("0.0.0.0/0", "1.2.3.4"));
        // An address is not matched as a name.
        assert!(!matches("0.1", "10.0.0.1"));

        let vars = [
            ("http_proxy", "http://p:1"),
            ("NO_PROXY", "localhost,.internal"),
        ];
        assert_eq!(chosen("ws://localhost:9/", &vars), None);
        assert_eq!(chosen("ws://db.internal/", &vars), None);
        assert_eq!(chosen("ws://example.com/", &vars).unwrap(), "http://p:1");
    }
}
