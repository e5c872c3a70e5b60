//! TLS for the `wss://` example servers: the certificate and key from PEM files, or a
//! throwaway CA and certificate for localhost made at start; and a TLS handshake bounded in
//! time, so that a client that connects and says nothing holds nothing for long.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use swell::rustls::ServerConfig;
use swell::rustls::pki_types::pem::PemObject;
use swell::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use swell::tokio_rustls::TlsAcceptor;
use swell::tokio_rustls::server::TlsStream;
use tokio::net::TcpStream;

/// How long a client may take over its TLS handshake.
pub(crate) const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS acceptor from `--cert CHAIN.pem --key KEY.pem` among `args`, or, without them, for
/// a certificate made now for localhost by a CA made now, whose certificate is written to
/// a file that a client can trust (`SSL_CERT_FILE`). ALPN: `alpn`.
pub(crate) fn acceptor(
    args: &[String],
    alpn: &[&[u8]],
) -> Result<TlsAcceptor, Box<dyn Error + Send + Sync>> {
    let value = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).map(PathBuf::from)
    };
    let (chain, key) = match (value("--cert"), value("--key")) {
        (Some(cert), Some(key)) => (
            CertificateDer::pem_file_iter(&cert)?.collect::<Result<Vec<_>, _>>()?,
            PrivateKeyDer::from_pem_file(&key)?,
        ),
        (None, None) => throwaway()?,
        _ => return Err("give both --cert and --key, or neither".into()),
    };
    let provider = Arc::new(swell::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A CA and a certificate it issued for localhost, 127.0.0.1 and ::1, for trying the
/// example: the CA's certificate goes to a file in the temporary directory.
fn throwaway()
-> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Box<dyn Error + Send + Sync>> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "swell example CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let cert = CertificateParams::new(names)?.signed_by(&key, &ca)?;
    let ca_file = std::env::temp_dir().join("swell-example-ca.pem");
    std::fs::write(&ca_file, ca.pem())?;
    eprintln!(
        "no --cert/--key: serving a certificate for localhost from a CA made now; trust it \
         with SSL_CERT_FILE={}",
        ca_file.display()
    );
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((vec![cert.der().clone(), ca.der().clone()], key))
}

/// The TLS handshake on `tcp`, within [`TLS_HANDSHAKE_TIMEOUT`]. Its failure (a client that
/// distrusts the certificate, speaks no TLS, or is too slow) is this connection's alone.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
) -> std::io::Result<TlsStream<TcpStream>> {
    tcp.set_nodelay(true)?;
    tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out"))?
}
