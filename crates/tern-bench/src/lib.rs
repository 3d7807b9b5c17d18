//! Benchmarks of tern's MQTT codec against rumqttc's and mqttrs's, and of its CoAP codec against
//! coap-lite's and coap-message-implementations', on the same packets.
//!
//! Not published. The library holds what the two front ends share:
//!
//! - [`fixtures`]: the packets (built as tern values, encoded by tern) and their translations
//!   into each peer's types, plus summaries used to check that every decoder extracts the same
//!   fields and every encoder writes the same bytes;
//! - [`cases`]: the cases and their runners, which time only the codec work (buffer refills
//!   happen outside the timed region);
//! - [`coap`]: the CoAP datagrams, the peers' decoders and encoders, and their cases (built
//!   with the runners of [`cases`]);
//! - [`alloc_count`]: a counting global allocator for allocations per operation.
//!
//! The front ends are the interleaved runner `src/bin/tern-bench.rs` (`cargo xtask bench`, the
//! numbers we report: it alternates implementations in short slices and takes the median of
//! per-round ratios, which is robust to the machine slowing down for a while) and the criterion
//! bench `benches/codec.rs` (`cargo bench -p tern-bench`).

pub mod alloc_count;
pub mod cases;
pub mod coap;
pub mod fixtures;
