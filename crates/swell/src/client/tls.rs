//! TLS for `wss://`: rustls, trusting the platform's roots unless the caller brings a
//! `rustls::ClientConfig` of their own.

use std::sync::{Arc, Mutex};

use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::client::stream::MaybeTlsStream;
use crate::error::ConnectError;

/// The default configuration, made once: reading the platform's store costs milliseconds.
/// A failure is not kept, so that a store fixed later is found by the next connection.
static DEFAULT: Mutex<Option<Arc<ClientConfig>>> = Mutex::new(None);

/// The configuration a `wss://` connection uses when the caller gave none: the roots the
/// platform trusts (on Linux, as OpenSSL finds them: `SSL_CERT_FILE`, `SSL_CERT_DIR`, then
/// the distribution's bundle), plus Mozilla's with the `webpki-roots` feature; ALPN
/// `http/1.1`; the process's default crypto provider if one was installed, else ring.
pub(crate) fn default_config() -> Result<Arc<ClientConfig>, ConnectError> {
    let mut slot = DEFAULT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(config) = &*slot {
        return Ok(Arc::clone(config));
    }
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if roots.is_empty() {
        let mut why = format!("{added} certificates found in the platform's store");
        for error in &found.errors {
            why.push_str("; ");
            why.push_str(&error.to_string());
        }
        return Err(ConnectError::TlsSetup(format!(
            "no trusted root certificates ({why}); set SSL_CERT_FILE, install the \
             distribution's CA bundle, or enable swell's webpki-roots feature"
        )));
    }
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::TlsSetup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    *slot = Some(Arc::clone(&config));
    Ok(config)
}

/// The TLS handshake over `tcp`, with `host` as the server name (SNI, unless an IP
/// address) and the name the certificate must be valid for.
pub(crate) async fn connect(
    config: Option<Arc<ClientConfig>>,
    host: &str,
    tcp: TcpStream,
) -> Result<MaybeTlsStream, ConnectError> {
    let config = match config {
        Some(config) => config,
        None => default_config()?,
    };
    let name = ServerName::try_from(host.to_owned()).map_err(|e| ConnectError::Tls {
        host: host.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
    })?;
    let tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|error| ConnectError::Tls {
            host: host.to_owned(),
            error,
        })?;
    Ok(MaybeTlsStream::Rustls(Box::new(tls)))
}
