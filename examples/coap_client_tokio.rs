//! The CoAP seed scenario with tokio: GET a resource and print the response's code and
//! payload, then POST "world" to it and print the code.
//!
//! ```text
//! cargo run -p tern-examples --example coap_client_tokio -- [URI]
//! ```
//!
//! URI defaults to `coap://localhost/hello`; the `coap_server_tokio` example serves it.

use tern_tokio::coap::CoapClient;

#[tokio::main]
async fn main() -> Result<(), tern_tokio::coap::Error> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "coap://localhost/hello".into());

    // Completes when the response arrives (the endpoint retransmits the request as RFC 7252
    // says); a 4.xx or 5.xx response is a response too, so the code is printed either way.
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
