//! The CoAP seed scenario with async-std: GET a resource and print the response's code and
//! payload, then POST "world" to it and print the code. The same code runs under smol with
//! `smol::block_on`.
//!
//! ```text
//! cargo run -p tern-examples --example coap_client_async_std -- [URI]
//! ```
//!
//! URI defaults to `coap://localhost/hello`; the `coap_server_tokio` example serves it.

use tern_async_std::coap::CoapClient;

#[async_std::main]
async fn main() -> Result<(), tern_async_std::coap::Error> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "coap://localhost/hello".into());

    // A 4.xx or 5.xx response is a response too, so the code is printed either way.
    let client = CoapClient::new().await?;
    let response = client.get(&uri).await?;
    println!(
        "{} {}",
        response.code,
        String::from_utf8_lossy(&response.payload)
    );

    let response = client.post(&uri, "world").await?;
    println!("{}", response.code);
    Ok(())
}
