//! Reading and writing HTTP/1.1 heads, bounded in size and header count.

use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};

/// Bounds on an HTTP head read from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadLimits {
    /// The most bytes the head may take, request or status line included. Default 16 KiB.
    pub max_head_size: usize,
    /// The most header fields. Default 64.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self {
            max_head_size: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// Why a head could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    TooLarge,
    /// Too large, and its first line (a request's target, most likely) did not even end
    /// within the limit.
    LineTooLong,
    TooManyHeaders,
    Malformed,
}

fn map_httparse(error: httparse::Error) -> HeadError {
    match error {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        _ => HeadError::Malformed,
    }
}

/// Converts parsed header fields, rejecting names and values `http` refuses.
fn copy_headers(
    parsed: &[httparse::Header<'_>],
    dst: &mut http::HeaderMap,
) -> Result<(), HeadError> {
    dst.reserve(parsed.len());
    for h in parsed {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| HeadError::Malformed)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| HeadError::Malformed)?;
        dst.append(name, value);
    }
    Ok(())
}

fn version(minor: Option<u8>) -> Version {
    match minor {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    }
}

/// The head's length once `status` says it is complete, `None` while it is not; either way
/// bounded by [`HeadLimits::max_head_size`], so a head that never ends cannot grow past it.
fn head_len(
    status: Result<httparse::Status<usize>, httparse::Error>,
    src: &[u8],
    limits: &HeadLimits,
) -> Result<Option<usize>, HeadError> {
    let len = match status.map_err(map_httparse)? {
        httparse::Status::Partial => None,
        httparse::Status::Complete(len) => Some(len),
    };
    if len.unwrap_or(src.len()) > limits.max_head_size {
        let within = &src[..limits.max_head_size.min(src.len())];
        if !within.contains(&b'\n') {
            return Err(HeadError::LineTooLong);
        }
        return Err(HeadError::TooLarge);
    }
    Ok(len)
}

pub(crate) fn parse_request(
    src: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(Request<()>, usize)>, HeadError> {
    let mut fields = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Request::new(&mut fields);
    let Some(len) = head_len(parsed.parse(src), src, limits)? else {
        return Ok(None);
    };
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| HeadError::Malformed)?;
    let uri: Uri = parsed
        .path
        .unwrap_or_default()
        .parse()
        .map_err(|_| HeadError::Malformed)?;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version(parsed.version);
    copy_headers(parsed.headers, request.headers_mut())?;
    Ok(Some((request, len)))
}

pub(crate) fn parse_response(
    src: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(Response<()>, usize)>, HeadError> {
    let mut fields = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Response::new(&mut fields);
    let Some(len) = head_len(parsed.parse(src), src, limits)? else {
        return Ok(None);
    };
    let status =
        StatusCode::from_u16(parsed.code.unwrap_or_default()).map_err(|_| HeadError::Malformed)?;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version(parsed.version);
    copy_headers(parsed.headers, response.headers_mut())?;
    Ok(Some((response, len)))
}

fn write_headers(headers: &http::HeaderMap, dst: &mut Vec<u8>) {
    for (name, value) in headers {
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

/// Appends the HTTP/1.1 head of `request` (request line and headers, not the body) to `dst`.
pub fn write_request_head<B>(request: &Request<B>, dst: &mut Vec<u8>) {
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let target = if target.is_empty() { "/" } else { target };
    dst.extend_from_slice(request.method().as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(target.as_bytes());
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    write_headers(request.headers(), dst);
}

/// Appends the HTTP/1.1 head of `response` (status line and headers, not the body) to `dst`.
pub fn write_response_head<B>(response: &Response<B>, dst: &mut Vec<u8>) {
    let status = response.status();
    dst.extend_from_slice(b"HTTP/1.1 ");
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    dst.extend_from_slice(b"\r\n");
    write_headers(response.headers(), dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_round_trip_and_report_their_length() {
        let raw = b"GET /chat?x=1 HTTP/1.1\r\nhost: a\r\nx: 1\r\nx: 2\r\n\r\nrest";
        let (req, len) = parse_request(raw, &HeadLimits::default()).unwrap().unwrap();
        assert_eq!(&raw[len..], b"rest");
        assert_eq!(req.uri(), "/chat?x=1");
        assert_eq!(req.headers().get_all("x").iter().count(), 2);
        let mut out = Vec::new();
        write_request_head(&req, &mut out);
        assert_eq!(out, &raw[..len]);
    }

    fn head_len(
        result: Result<Option<(Request<()>, usize)>, HeadError>,
    ) -> Result<Option<usize>, HeadError> {
        result.map(|head| head.map(|(_, len)| len))
    }

    #[test]
    fn partial_heads_wait_and_large_ones_fail() {
        let limits = HeadLimits {
            max_head_size: 64,
            max_headers: 2,
        };
        assert_eq!(
            head_len(parse_request(b"GET / HTTP/1.1\r\nHo", &limits)),
            Ok(None)
        );
        let long = [b"GET / HTTP/1.1\r\nA: ".as_slice(), &[b'a'; 60]].concat();
        assert_eq!(
            head_len(parse_request(&long, &limits)),
            Err(HeadError::TooLarge)
        );
        let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            head_len(parse_request(many, &limits)),
            Err(HeadError::TooManyHeaders)
        );
        assert_eq!(
            head_len(parse_request(b"GET / HTTP/1.1\r\n\x01: x\r\n\r\n", &limits)),
            Err(HeadError::Malformed)
        );
    }

    #[test]
    fn response_heads_parse() {
        let raw = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n\x81\x00";
        let (resp, len) = parse_response(raw, &HeadLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(&raw[len..], b"\x81\x00");
        let mut out = Vec::new();
        write_response_head(&resp, &mut out);
        assert_eq!(out, &raw[..len]);
    }
}
