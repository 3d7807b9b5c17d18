//! TLS for the adapter tests (feature `tls`): a TLS-terminating proxy made with rustls that
//! forwards the plaintext to a [`TestBroker`](crate::broker::TestBroker), and the test
//! certificates in `crates/tern-testkit/tls/` (see the README there).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A test certificate file: `ca.pem` (the CA the proxy's certificate is signed by),
/// `other-ca.pem` (an unrelated CA), `server.pem`, `server.key` (for `localhost` and
/// `127.0.0.1`).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tls").join(name)
}

/// Accepts TLS on an ephemeral port of 127.0.0.1 and forwards the plaintext to `backend`.
pub fn tls_proxy(backend: u16) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let config = config.clone();
            thread::spawn(move || proxy(client, backend, config));
        }
    });
    port
}

/// One proxied connection: this thread owns the TLS session; two readers feed it.
fn proxy(mut client: TcpStream, backend: u16, config: Arc<rustls::ServerConfig>) {
    let mut broker = TcpStream::connect(("127.0.0.1", backend)).unwrap();
    let mut tls = rustls::ServerConnection::new(config).unwrap();
    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    for (from_client, mut socket) in [
        (true, client.try_clone().unwrap()),
        (false, broker.try_clone().unwrap()),
    ] {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut buf = [0; 8192];
            loop {
                let n = socket.read(&mut buf).unwrap_or(0);
                if tx.send((from_client, buf[..n].to_vec())).is_err() || n == 0 {
                    return;
                }
            }
        });
    }
    let close = |client: &TcpStream, broker: &TcpStream| {
        let _ = client.shutdown(Shutdown::Both);
        let _ = broker.shutdown(Shutdown::Both);
    };
    for (from_client, bytes) in rx {
        if bytes.is_empty() {
            return close(&client, &broker);
        }
        if from_client {
            let mut input = &bytes[..];
            while !input.is_empty() {
                tls.read_tls(&mut input).unwrap();
                if tls.process_new_packets().is_err() {
                    let _ = tls.write_tls(&mut client);
                    return close(&client, &broker);
                }
            }
            let mut plain = Vec::new();
            let _ = tls.reader().read_to_end(&mut plain);
            if broker.write_all(&plain).is_err() {
                return close(&client, &broker);
            }
        } else {
            tls.writer().write_all(&bytes).unwrap();
        }
        while tls.wants_write() {
            if tls.write_tls(&mut client).is_err() {
                return close(&client, &broker);
            }
        }
    }
}
