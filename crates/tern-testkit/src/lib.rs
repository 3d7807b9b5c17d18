//! Test helpers shared by tern's test suites (a dev-dependency only, not published).
//!
//! - [`load_vectors`]: the captured peer vectors in `shared/vectors/`, beside the repository,
//!   with one policy for a missing file: the test fails, unless `TERN_SKIP_VECTORS=1` asks to
//!   skip, and then the skip is printed where it cannot be missed.
//! - [`hex`] and [`unhex`]: lowercase hex as the vectors and tshark write it.
//! - [`broker::TestBroker`]: an in-process MQTT broker for the adapters' integration tests.
//! - `coap` (feature `coap`): the CoAP suite of the async adapters, written once over
//!   tern-io's runtime trait; each adapter runs it with `coap_suite!`.

use std::io::Write;

pub mod broker;
#[cfg(feature = "coap")]
pub mod coap;
pub mod dissection;
#[cfg(feature = "tls")]
pub mod tls;

/// Where the shared vectors live: `shared/vectors/` next to the repository (CI copies
/// `shared/` there).
pub const VECTORS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors");

/// The text of `shared/vectors/{file}`, or `None` when it is missing and `TERN_SKIP_VECTORS=1`
/// asked for the skip. `what` names the test in the messages.
///
/// # Panics
///
/// When the file cannot be read and no skip was asked for: a vector test that silently checks
/// nothing would pass as green.
pub fn load_vectors(file: &str, what: &str) -> Option<String> {
    let path = format!("{VECTORS_DIR}/{file}");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if std::env::var("TERN_SKIP_VECTORS").as_deref() == Ok("1") => {
            // Straight to the process's stderr, past libtest's capture: a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {what}: {path}: {e} (TERN_SKIP_VECTORS=1) ***\n"
            );
            None
        }
        Err(e) => panic!(
            "{what}: cannot read the vectors at {path}: {e}\n\
             They live in `shared/vectors/` beside the repository (CI copies `shared/` there). \
             Set TERN_SKIP_VECTORS=1 to skip this test on purpose."
        ),
    }
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex (either case) as bytes; `None` for an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_bad_input() {
        assert_eq!(hex(&[0, 0xab, 0x7f]), "00ab7f");
        assert_eq!(unhex("00AB7f"), Some(vec![0, 0xab, 0x7f]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn the_shared_vectors_are_found() {
        // The same policy the suites use: fails when missing unless skipped on purpose.
        if let Some(text) = load_vectors("mqtt.jsonl", "tern-testkit's own test") {
            assert!(text.lines().count() > 100);
        }
    }
}
