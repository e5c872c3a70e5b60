//! Header grammar: token lists (`Connection`, `Upgrade`, `Sec-WebSocket-Protocol`) and the
//! `Sec-WebSocket-Extensions` grammar of RFC 6455 §9.1.

use std::fmt;

use http::HeaderMap;
use http::header::{AsHeaderName, HeaderValue};

/// Whether `byte` may appear in an RFC 7230 token.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Whether `s` is a non-empty RFC 7230 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// The comma-separated elements of every `name` header, trimmed, empty elements skipped
/// (RFC 7230 §7). `None` if a value is not visible ASCII.
pub(crate) fn list_elements(headers: &HeaderMap, name: impl AsHeaderName) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let value = value.to_str().ok()?;
        out.extend(value.split(',').map(str::trim).filter(|e| !e.is_empty()));
    }
    Some(out)
}

/// Whether a token-list header contains `token`, compared without regard to case.
pub(crate) fn has_token(headers: &HeaderMap, name: impl AsHeaderName, token: &str) -> bool {
    list_elements(headers, name)
        .is_some_and(|elements| elements.iter().any(|e| e.eq_ignore_ascii_case(token)))
}

/// The subprotocols a `Sec-WebSocket-Protocol` header lists, in order.
///
/// # Errors
///
/// [`InvalidHeader`] if an element is not a token.
pub fn parse_protocols(headers: &HeaderMap) -> Result<Vec<String>, InvalidHeader> {
    let elements = list_elements(headers, http::header::SEC_WEBSOCKET_PROTOCOL)
        .ok_or(InvalidHeader("Sec-WebSocket-Protocol"))?;
    elements
        .into_iter()
        .map(|p| {
            if is_token(p) {
                Ok(p.to_owned())
            } else {
                Err(InvalidHeader("Sec-WebSocket-Protocol"))
            }
        })
        .collect()
}

/// A header that breaks its grammar; holds the header's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidHeader(pub &'static str);

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed {} header", self.0)
    }
}

impl std::error::Error for InvalidHeader {}

/// One extension in a `Sec-WebSocket-Extensions` header: a name and its parameters, in order.
///
/// Its [`Display`](fmt::Display) form is the header syntax, e.g.
/// `permessage-deflate; client_max_window_bits`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension with no parameters.
    ///
    /// # Panics
    ///
    /// If `name` is not a token.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        assert!(is_token(&name), "extension name {name:?} is not a token");
        Self {
            name,
            params: Vec::new(),
        }
    }

    /// Adds a parameter, with or without a value.
    ///
    /// # Panics
    ///
    /// If the name or the value is not a token.
    pub fn with_param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        let name = name.into();
        assert!(is_token(&name), "parameter name {name:?} is not a token");
        if let Some(value) = &value {
            assert!(is_token(value), "parameter value {value:?} is not a token");
        }
        self.params.push((name, value));
        self
    }

    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters, in the order they were given.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(value) => write!(f, "; {name}={value}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// Writes `extensions` as one `Sec-WebSocket-Extensions` value.
pub fn format_extensions(extensions: &[Extension]) -> HeaderValue {
    let text = extensions
        .iter()
        .map(Extension::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::try_from(text).expect("tokens make a valid header value")
}

/// Parses every `Sec-WebSocket-Extensions` header (RFC 6455 §9.1), in order.
///
/// ```text
/// extension-list = 1#extension
/// extension      = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
///
/// A quoted value must be a token once unquoted.
///
/// # Errors
///
/// [`InvalidHeader`] for anything that breaks the grammar.
pub fn parse_extensions(headers: &HeaderMap) -> Result<Vec<Extension>, InvalidHeader> {
    const NAME: InvalidHeader = InvalidHeader("Sec-WebSocket-Extensions");
    let mut out = Vec::new();
    for value in headers.get_all(http::header::SEC_WEBSOCKET_EXTENSIONS) {
        let mut p = Parser {
            s: value.as_bytes(),
            i: 0,
        };
        loop {
            p.skip_ws();
            if p.eat(b',') {
                continue; // empty list element
            }
            if p.done() {
                break;
            }
            let name = p.token().ok_or(NAME)?;
            let mut extension = Extension {
                name,
                params: Vec::new(),
            };
            loop {
                p.skip_ws();
                if !p.eat(b';') {
                    break;
                }
                p.skip_ws();
                let param = p.token().ok_or(NAME)?;
                p.skip_ws();
                let value = if p.eat(b'=') {
                    p.skip_ws();
                    Some(p.token_or_quoted().ok_or(NAME)?)
                } else {
                    None
                };
                extension.params.push((param, value));
            }
            out.push(extension);
            p.skip_ws();
            if !p.done() && !p.eat(b',') {
                return Err(NAME);
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&byte);
        self.i += usize::from(hit);
        hit
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.s.get(self.i).copied().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn token_or_quoted(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return self.token();
        }
        let mut value = Vec::new();
        loop {
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    value.push(*self.s.get(self.i + 1)?);
                    self.i += 2;
                }
                byte => {
                    value.push(byte);
                    self.i += 1;
                }
            }
        }
        let value = String::from_utf8(value).ok()?;
        is_token(&value).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::SEC_WEBSOCKET_EXTENSIONS;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn parses_offers_with_params_quotes_and_several_headers() {
        let parsed = parse_extensions(&headers(&[
            "permessage-deflate; client_max_window_bits, permessage-deflate;server_max_window_bits=\"10\"",
            " x-foo ;a = b ; c",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            [
                Extension::new("permessage-deflate").with_param("client_max_window_bits", None),
                Extension::new("permessage-deflate")
                    .with_param("server_max_window_bits", Some("10".into())),
                Extension::new("x-foo")
                    .with_param("a", Some("b".into()))
                    .with_param("c", None),
            ]
        );
        assert_eq!(
            parsed[1].to_string(),
            "permessage-deflate; server_max_window_bits=10"
        );
        assert_eq!(parse_extensions(&headers(&[", ,"])).unwrap(), []);
    }

    #[test]
    fn rejects_what_breaks_the_grammar() {
        for bad in [
            "permessage-deflate;",
            "permessage-deflate; a=",
            "a b",
            "a; b=\"c d\"",
            "a; b=\"unterminated",
            "(bad)",
            "a;; b",
        ] {
            assert_eq!(
                parse_extensions(&headers(&[bad])),
                Err(InvalidHeader("Sec-WebSocket-Extensions")),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_lists() {
        let mut map = HeaderMap::new();
        map.append(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        map.append(
            "sec-websocket-protocol",
            HeaderValue::from_static("chat, superchat"),
        );
        map.append(
            "sec-websocket-protocol",
            HeaderValue::from_static("v2.json"),
        );
        assert!(has_token(&map, "connection", "upgrade"));
        assert!(!has_token(&map, "connection", "close"));
        assert_eq!(
            parse_protocols(&map).unwrap(),
            ["chat", "superchat", "v2.json"]
        );
        map.append("sec-websocket-protocol", HeaderValue::from_static("a b"));
        assert!(parse_protocols(&map).is_err());
    }
}
