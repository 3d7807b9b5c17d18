//! tern-async-std over TLS (feature `tls`): testkit's TLS-terminating proxy in front of the
//! in-process `TestBroker`.
#![cfg(feature = "tls")]

use tern_async_std::{Error, MqttOptions, QoS, ReasonCode, TlsOptions};
use tern_testkit::broker::TestBroker;
use tern_testkit::tls::{fixture, tls_proxy};

fn options(port: u16, id: &str, ca: &str) -> MqttOptions {
    let tls = TlsOptions::from_pem_files(&fixture(ca), None).unwrap();
    MqttOptions::new("localhost", port, id).unwrap().tls(tls)
}

#[test]
fn publish_and_subscribe_over_tls_and_refuse_a_foreign_ca() {
    let broker = TestBroker::start();
    let port = tls_proxy(broker.port());
    smol::block_on(async {
        let (client, mut messages) = tern_async_std::connect(options(port, "tls", "ca.pem"))
            .await
            .unwrap();
        client
            .subscribe(&[("secure/#", QoS::AtLeastOnce)])
            .await
            .unwrap();
        let code = client
            .publish("secure/t", "sealed", QoS::AtLeastOnce, false)
            .await
            .unwrap();
        assert_eq!(code, ReasonCode::Success);
        assert_eq!(messages.recv().await.unwrap().payload, "sealed");
        client.disconnect().await.unwrap();

        let e = tern_async_std::connect(options(port, "tls-bad", "other-ca.pem"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Tls(_)), "{e:?}");
    });
}
