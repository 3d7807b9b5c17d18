//! CoAP URIs (being written).
