//! TLS client and server configurations with rustls (feature `tls`).
//!
//! The adapters run the handshake; this module builds the [`rustls::ClientConfig`] they use,
//! from PEM files as mosquitto's `--cafile`, `--cert` and `--key` name them, or takes one the
//! application built itself. The crypto provider is ring.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// TLS for a connection: the rustls configuration and, optionally, the name the server's
/// certificate must carry when it is not the host connected to.
///
/// ```no_run
/// use std::path::Path;
/// use tern_io::tls::TlsOptions;
/// use tern_io::MqttOptions;
///
/// let tls = TlsOptions::from_pem_files(Path::new("ca.crt"), None)?;
/// let options = MqttOptions::new("broker.example", 8883, "thermo-1")?.tls(tls);
/// # Ok::<(), tern_io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The rustls client configuration.
    pub config: Arc<rustls::ClientConfig>,
    /// The server name to verify instead of the host name (`None`: the host).
    pub server_name: Option<String>,
}

impl TlsOptions {
    /// TLS with a configuration the application built.
    pub fn new(config: Arc<rustls::ClientConfig>) -> Self {
        TlsOptions {
            config,
            server_name: None,
        }
    }

    /// Trusts the certificate authorities in the PEM file `ca_file`; with `client`, also
    /// authenticates with a certificate chain and private key from PEM files.
    pub fn from_pem_files(ca_file: &Path, client: Option<(&Path, &Path)>) -> Result<Self, Error> {
        let mut roots = rustls::RootCertStore::empty();
        let mut found = 0;
        for cert in certificates(ca_file)? {
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("{}: {e}", ca_file.display())))?;
            found += 1;
        }
        if found == 0 {
            return Err(Error::Tls(format!(
                "{}: no certificate in the file",
                ca_file.display()
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some((cert_file, key_file)) => {
                let chain = certificates(cert_file)?;
                let key = PrivateKeyDer::from_pem_file(key_file)
                    .map_err(|e| Error::Tls(format!("{}: {e}", key_file.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::Tls(format!("client certificate: {e}")))?
            }
        };
        Ok(TlsOptions::new(Arc::new(config)))
    }

    /// Verifies the server's certificate against `name` instead of the host name.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }
}

/// A TLS server configuration for a listener (the broker's): its certificate chain and key
/// from PEM files, as mosquitto's `certfile` / `keyfile` name them; with `client_ca`, client
/// certificates signed by those authorities are required (mosquitto's `cafile` with
/// `require_certificate true`).
///
/// ```no_run
/// use std::path::Path;
/// use tern_io::tls::server_config;
///
/// let config = server_config(Path::new("server.crt"), Path::new("server.key"), None)?;
/// # Ok::<(), tern_io::Error>(())
/// ```
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = certificates(cert_file)?;
    if chain.is_empty() {
        return Err(Error::Tls(format!(
            "{}: no certificate in the file",
            cert_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| Error::Tls(format!("{}: {e}", key_file.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(ca_file)? {
                roots
                    .add(cert)
                    .map_err(|e| Error::Tls(format!("{}: {e}", ca_file.display())))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| Error::Tls(format!("{}: {e}", ca_file.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(format!("{}: {e}", cert_file.display())))?;
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_an_error_that_names_the_file() {
        let missing = Path::new("/nonexistent/ca.crt");
        let e = TlsOptions::from_pem_files(missing, None).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.crt"), "{e}");

        let empty = std::env::temp_dir().join(format!("tern-io-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "no pem here\n").unwrap();
        let e = TlsOptions::from_pem_files(&empty, None).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
        std::fs::remove_file(&empty).unwrap();
    }
}
