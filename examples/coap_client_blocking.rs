//! The CoAP seed scenario without an async runtime: GET a resource and print the response's
//! code and payload, then POST "world" to it and print the code.
//!
//! ```text
//! cargo run -p tern-examples --example coap_client_blocking -- [URI]
//! ```
//!
//! URI defaults to `coap://localhost/hello`; `tern coap serve` serves it.

use tern_blocking::coap::CoapClient;

fn main() -> Result<(), tern_blocking::coap::Error> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "coap://localhost/hello".into());

    // Blocks until the response arrives, retransmitting the request as RFC 7252 says; a 4.xx
    // or 5.xx response is a response too, so the code is printed either way.
    let client = CoapClient::new()?;
    let response = client.get(&uri)?;
    println!(
        "{} {}",
        response.code,
        String::from_utf8_lossy(&response.payload)
    );

    let response = client.post(&uri, "world")?;
    println!("{}", response.code);
    Ok(())
}
