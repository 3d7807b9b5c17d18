//! CoAP over TCP and WebSockets framing (RFC 8323), being written.
