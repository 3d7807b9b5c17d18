//! tern-blocking over TLS (feature `tls`): a TLS-terminating proxy made with rustls in front of
//! the in-process `TestBroker`, with the test certificates in `tests/tls/` (see its README).
#![cfg(feature = "tls")]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tern_blocking::{Error, MqttOptions, QoS, ReasonCode, TlsOptions};
use tern_testkit::broker::TestBroker;

const WAIT: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
}

/// Accepts TLS on an ephemeral port of 127.0.0.1 and forwards the plaintext to `backend`.
fn tls_proxy(backend: u16) -> u16 {
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

fn options(host: &str, port: u16, id: &str, ca: &str) -> MqttOptions {
    let tls = TlsOptions::from_pem_files(&fixture(ca), None).unwrap();
    MqttOptions::new(host, port, id).unwrap().tls(tls)
}

#[test]
fn publish_and_subscribe_over_tls() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    // By name (the certificate's DNS name) and by address (its IP address).
    for host in ["localhost", "127.0.0.1"] {
        let (client, mut messages) =
            tern_blocking::connect(options(host, port, &format!("tls-{host}"), "ca.pem")).unwrap();
        client.subscribe(&[("secure/#", QoS::ExactlyOnce)]).unwrap();
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let code = client.publish("secure/t", "sealed", qos, false).unwrap();
            assert_eq!(code, ReasonCode::Success);
            let m = messages.recv_timeout(WAIT).unwrap().unwrap();
            assert_eq!(&m.payload[..], b"sealed");
            assert_eq!(m.qos, qos);
        }
        client.disconnect().unwrap();
        assert_eq!(messages.recv_timeout(WAIT), Ok(None));
    }
}

#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let e =
        tern_blocking::connect(options("localhost", port, "tls-bad", "other-ca.pem")).unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert_eq!(broker.connections(), 0);
}

#[test]
fn a_name_the_certificate_does_not_carry_is_refused() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let tls = TlsOptions::from_pem_files(&fixture("ca.pem"), None)
        .unwrap()
        .server_name("broker.example");
    let options = MqttOptions::new("127.0.0.1", port, "tls-name")
        .unwrap()
        .tls(tls);
    let e = tern_blocking::connect(options).unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
}

#[test]
fn tls_connections_are_re_established() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    let options = options("localhost", port, "tls-kicked", "ca.pem").reconnect(Some(
        tern_blocking::Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            jitter_permille: 0,
        },
    ));
    let (client, mut messages) = tern_blocking::connect(options).unwrap();
    client.subscribe(&[("again", QoS::AtLeastOnce)]).unwrap();
    broker.kick_all();
    broker.wait_connections(2, WAIT);
    // Resubscribed by the client on its own (the broker kept no session), then:
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        client
            .publish("again", "x", QoS::AtLeastOnce, false)
            .unwrap();
        if let Ok(Some(m)) = messages.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(&m.payload[..], b"x");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message after reconnecting"
        );
    }
}
