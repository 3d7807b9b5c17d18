//! tern-tokio's CoAP client against its CoAP server over real loopback UDP: the adapter's
//! promises, end to end, and the wire where the message type is the point (a raw socket
//! plays the client). The scenarios are tern-testkit's CoAP suite, shared with
//! tern-async-std; here they run on a multi-threaded tokio runtime.

use std::future::Future;

use tern_testkit::coap::Executor;
use tern_tokio::Tokio;

/// The suite on tokio: the handles on [`Tokio`], the test's own tasks on `tokio::spawn`.
struct OnTokio;

impl Executor for OnTokio {
    type Runtime = Tokio;

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }
}

/// Runs a scenario as `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` does.
fn block_on(scenario: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario);
}

tern_testkit::coap_suite!(OnTokio, block_on);
