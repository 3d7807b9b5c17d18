//! Runnable examples for tern. Run one with `cargo run -p tern-examples --example NAME`:
//!
//! - `mqtt_codec`: encode an MQTT 5.0 PUBLISH and decode it from bytes that arrive in pieces.
//! - `coap_codec`: build a CoAP POST, encode it, decode it back and read its typed options.

// The README's Rust snippets are compiled and run as doctests of this crate, so the README
// cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
