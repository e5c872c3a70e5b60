//! Certificates made in the test (rcgen), and a `wss://` echo server the way the
//! `wss_echo_server` example serves it: tokio-rustls, then `swell::accept_with`, each
//! connection in its own task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use swell::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use swell::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use swell::tokio_rustls::TlsAcceptor;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A test CA and a server certificate it issued.
pub struct Pki {
    /// The CA's certificate, PEM, as a trust store file holds it.
    pub ca_pem: String,
    /// The CA's certificate, DER.
    pub ca: CertificateDer<'static>,
    /// The server's certificate, then the CA's.
    pub chain: Vec<CertificateDer<'static>>,
    /// The server's key.
    pub key: PrivateKeyDer<'static>,
}

/// A new CA, named `ca_name`, and a server certificate from it for `names` (DNS names or
/// IP addresses).
pub fn pki(ca_name: &str, names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        ca: ca.der().clone(),
        chain: vec![cert.der().clone(), ca.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration for `pki`'s certificate, with ALPN `http/1.1`.
pub fn server_config(pki: &Pki) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A client configuration that trusts `roots` alone, with ALPN `http/1.1`.
pub fn client_config(roots: &[&CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add((*root).clone()).unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A `wss://` echo server on loopback with `config`. Each failed TLS handshake is sent on
/// the returned channel, and the listener goes on.
pub async fn echo_server(
    tls: Arc<ServerConfig>,
    config: swell::Config,
) -> (SocketAddr, mpsc::UnboundedReceiver<std::io::Error>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(tls);
    let (failures, failed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let config = config.clone();
            let failures = failures.clone();
            tokio::spawn(async move {
                let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
                let stream = match handshake.await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => return drop(failures.send(e)),
                    Err(_) => return drop(failures.send(std::io::ErrorKind::TimedOut.into())),
                };
                let Ok(mut ws) =
                    swell::accept_with(stream, config, |_| Ok(swell::Accept::new())).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.feed(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, failed)
}
