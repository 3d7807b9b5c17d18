//! A CoAP server with tokio: `/hello` answers GET with "Hello, world!", or with the payload
//! last POSTed or PUT to it (answered 2.04 Changed). `/.well-known/core` lists it.
//!
//! ```text
//! cargo run -p tern-examples --example coap_server_tokio -- [ADDR]
//! ```
//!
//! ADDR defaults to `[::]:5683` (IPv4 too where sockets are dual-stack); the address bound is
//! printed on stderr as `listening on ADDR`. Try it with the `coap_client_tokio` example.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tern_tokio::coap::{CoapServer, Code, Error, Incoming, Response, Router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "[::]:5683".into())
        .parse()?;

    let greeting: Arc<Mutex<Bytes>> = Arc::new(Mutex::new(Bytes::from_static(b"Hello, world!")));
    let stored = greeting.clone();
    let store = move |incoming: Incoming| {
        *stored.lock().unwrap_or_else(|e| e.into_inner()) = incoming.request.payload.clone();
        incoming.respond(Response::new(Code::CHANGED));
    };
    let router = Router::new()
        .get("/hello", move |incoming: Incoming| {
            let body = greeting.lock().unwrap_or_else(|e| e.into_inner()).clone();
            incoming.respond(Response::new(Code::CONTENT).with_payload(body));
        })
        .attributes(r#"rt="greeting";ct=0"#)
        .post("/hello", store.clone())
        .put("/hello", store);

    let server = CoapServer::bind(addr).await?;
    eprintln!("listening on {}", server.local_addr());
    server.serve(router).await.map_err(|e: Error| e.into())
}
