//! How a CoAP socket behaves: the endpoint's configuration, the client's own deadline, and a
//! hook that sees every datagram (for a protocol log such as `tern coap -v`).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tern_coap::endpoint::EndpointConfig;

/// Which way a datagram went through the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent to `peer`.
    Sent,
    /// Received from `peer`.
    Received,
}

/// A datagram seen by the [`Config::on_datagram`] hook.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// Sent or received.
    pub direction: Direction,
    /// The other side.
    pub peer: SocketAddr,
    /// The datagram's bytes (a CoAP message, or whatever a peer sent).
    pub bytes: &'a [u8],
}

pub(crate) type Hook = Arc<dyn Fn(&Datagram<'_>) + Send + Sync>;

/// The configuration of a [`CoapClient`](super::CoapClient)'s or a
/// [`CoapServer`](super::CoapServer)'s socket.
///
/// ```
/// use std::time::Duration;
/// use tern_blocking::coap::{CoapClient, Config, Direction};
///
/// let config = Config::new()
///     .timeout(Duration::from_secs(5))
///     .on_datagram(|d| {
///         let arrow = if d.direction == Direction::Sent { ">" } else { "<" };
///         eprintln!("{arrow} {} bytes, {}", d.bytes.len(), d.peer);
///     });
/// let client = CoapClient::with_config(config)?;
/// # Ok::<(), tern_blocking::coap::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Config {
    pub(crate) endpoint: EndpointConfig,
    pub(crate) timeout: Option<Duration>,
    pub(crate) on_datagram: Option<Hook>,
}

impl Config {
    /// The defaults: RFC 7252's transmission parameters, no deadline beyond the endpoint's
    /// own (MAX_TRANSMIT_WAIT, 93 s, for a request nobody acknowledges), no hook.
    pub fn new() -> Config {
        Config::default()
    }

    /// The endpoint's configuration: transmission parameters, token length, limits.
    ///
    /// ```
    /// use tern_blocking::coap::Config;
    /// use tern_coap::endpoint::EndpointConfig;
    ///
    /// let config = Config::new().endpoint(EndpointConfig { token_length: 4, ..EndpointConfig::default() });
    /// ```
    pub fn endpoint(mut self, endpoint: EndpointConfig) -> Config {
        self.endpoint = endpoint;
        self
    }

    /// The longest a client call waits for its response; after it, the request is
    /// cancelled and the call fails with [`Error::Timeout`](super::Error::Timeout). Without
    /// it, only the endpoint's own timeouts apply.
    pub fn timeout(mut self, timeout: Duration) -> Config {
        self.timeout = Some(timeout);
        self
    }

    /// Calls `hook` for every datagram sent or received, on the socket's driver thread, before
    /// a received one is handled (so a hook that records the last response sees it before the
    /// call that waits for it returns). Keep it short: the socket waits for it.
    pub fn on_datagram(mut self, hook: impl Fn(&Datagram<'_>) + Send + Sync + 'static) -> Config {
        self.on_datagram = Some(Arc::new(hook));
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("on_datagram", &self.on_datagram.as_ref().map(|_| ".."))
            .finish()
    }
}
