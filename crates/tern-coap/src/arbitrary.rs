//! Generators of valid messages for fuzzing and property tests, being written.
