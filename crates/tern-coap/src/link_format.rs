//! RFC 6690 CoRE Link Format (being written).
