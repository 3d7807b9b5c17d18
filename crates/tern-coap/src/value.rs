//! Typed option values (Block, Content-Format, Observe, ...), being written.
