//! The echo service of the hyper example servers: WebSocket requests are upgraded and
//! every text and binary message comes back unchanged.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use swell_hyper::HyperWebSocket;

/// Upgrades WebSocket requests; anything else gets a short explanation.
pub(crate) async fn handle(
    mut request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !swell_hyper::is_upgrade_request(&request) {
        let mut response =
            Response::new(Full::from("WebSocket echo; connect with ws:// or wss://\n"));
        *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
        return Ok(response);
    }
    let config = swell::Config::default().deflate(swell::DeflateConfig::default());
    match swell_hyper::upgrade(&mut request, config) {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                match upgrading.await {
                    Ok(ws) => {
                        if let Err(e) = echo(ws).await {
                            eprintln!("connection failed: {e}");
                        }
                    }
                    Err(e) => eprintln!("upgrade failed: {e}"),
                }
            });
            Ok(response)
        }
        Err(rejection) => Ok(rejection.into_http_response()),
    }
}

async fn echo(mut ws: HyperWebSocket) -> Result<(), swell::Error> {
    while let Some(message) = ws.recv().await {
        let message = message?;
        // `feed` queues the reply; `recv` writes every queued reply before it waits for
        // more, so a burst of messages is answered with one write.
        if message.is_data() {
            ws.feed(message).await?;
        }
    }
    Ok(())
}
