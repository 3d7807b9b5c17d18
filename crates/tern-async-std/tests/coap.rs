//! tern-async-std's CoAP client against its CoAP server over real loopback UDP, under
//! async-std (and one scenario under smol): the adapter's promises, end to end, and the wire
//! where the message type is the point (a raw socket plays the client). The scenarios are
//! tern-testkit's CoAP suite, shared with tern-tokio.

use std::future::Future;

use tern_async_std::AsyncIo;
use tern_async_std::coap::CoapServer;
use tern_testkit::coap::{Executor, round_trip, store_router};

/// The suite on async-std: the handles on [`AsyncIo`], the test's own tasks on async-std's
/// executor.
struct OnAsyncStd;

impl Executor for OnAsyncStd {
    type Runtime = AsyncIo;

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        async_std::task::spawn(task);
    }
}

tern_testkit::coap_suite!(OnAsyncStd, async_std::task::block_on);

#[test]
fn get_post_put_delete_round_trip_under_smol() {
    smol::block_on(async {
        let server = CoapServer::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr();
        smol::spawn(server.serve(store_router())).detach();
        round_trip::<OnAsyncStd>(addr).await;
    });
}
