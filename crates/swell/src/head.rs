//! Reading an HTTP head off a stream, and writing one.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads from `io` into `buf` until `parse` finds a complete head (or an error).
///
/// Bytes past the head stay in `buf`: they belong to the WebSocket stream. `parse` enforces
/// the head's size limit, `max_head_size`; the caller bounds the time.
pub(crate) async fn read_head<S, T, E>(
    io: &mut S,
    buf: &mut BytesMut,
    max_head_size: usize,
    parse: impl Fn(&[u8]) -> Result<Option<T>, E>,
) -> io::Result<Result<T, E>>
where
    S: AsyncRead + Unpin,
{
    let mut scanned = 0;
    loop {
        // A head ends with a line feed: parse again only when one arrived, or when the size
        // limit may have been passed, so that a trickled head costs no quadratic work.
        if buf[scanned..].contains(&b'\n') || buf.len() > max_head_size {
            match parse(buf) {
                Ok(Some(head)) => return Ok(Ok(head)),
                Err(e) => return Ok(Err(e)),
                Ok(None) => {}
            }
        }
        scanned = buf.len();
        buf.reserve(2048);
        if io.read_buf(buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection during the handshake",
            ));
        }
    }
}

/// Reads what the peer sends of a body behind a head, up to `max` bytes: the `buf` holds
/// the start of it already. Stops at `len` bytes (the `Content-Length`, if known), at the
/// end of the stream, on an error, or after `wait`: a refusal is worth reporting with what
/// arrived in time, never worth waiting for.
pub(crate) async fn read_body_prefix<S>(
    io: &mut S,
    buf: &mut BytesMut,
    len: Option<usize>,
    max: usize,
    wait: std::time::Duration,
) -> bytes::Bytes
where
    S: AsyncRead + Unpin,
{
    let want = len.unwrap_or(max).min(max);
    let _ = tokio::time::timeout(wait, async {
        while buf.len() < want {
            buf.reserve(want - buf.len());
            match io.read_buf(buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    buf.truncate(want);
    buf.split().freeze()
}

/// Writes `head` and `body` and flushes.
pub(crate) async fn write_all<S>(io: &mut S, head: &[u8], body: &[u8]) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    io.write_all(head).await?;
    io.write_all(body).await?;
    io.flush().await
}
