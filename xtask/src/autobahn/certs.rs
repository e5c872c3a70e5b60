//! The certificates of a run over TLS, made for it: a CA, and a certificate it issued for
//! 127.0.0.1 and localhost that the fuzzing server and our server agents present. Our
//! client agent trusts the CA through `SSL_CERT_FILE`, as it would trust a platform's.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use super::suite::Certs;

/// Writes the CA's certificate, the server certificate and its key into `dir`.
pub(crate) fn write(dir: &Path) -> Result<Certs, String> {
    let error = |e: rcgen::Error| format!("making the TLS certificates: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(error)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "swell autobahn CA");
    let ca =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(error)?).map_err(error)?;
    let key = KeyPair::generate().map_err(error)?;
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let cert = CertificateParams::new(names)
        .map_err(error)?
        .signed_by(&key, &ca)
        .map_err(error)?;
    let certs = Certs {
        ca_file: "ca.pem".into(),
        cert_file: "server.pem".into(),
        key_file: "server.key".into(),
    };
    for (file, contents) in [
        (&certs.ca_file, ca.pem()),
        (&certs.cert_file, cert.pem()),
        (&certs.key_file, key.serialize_pem()),
    ] {
        std::fs::write(dir.join(file), contents).map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(certs)
}
