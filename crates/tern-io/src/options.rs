use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use tern_mqtt::client::{Backoff, ClientConfig};
use tern_mqtt::{MqttString, Properties, Property, PropertyId, ProtocolVersion, Will};

use crate::Error;

/// Where an MQTT client connects and how: the broker's address, the
/// [`ClientConfig`] of the state machine, and what the adapter adds around it.
///
/// ```
/// use std::time::Duration;
/// use tern_io::{MqttOptions, ProtocolVersion};
///
/// let options = MqttOptions::new("localhost", 1883, "thermo-1")?
///     .protocol(ProtocolVersion::V3_1_1)
///     .keep_alive(Duration::from_secs(30))
///     .credentials("user", "secret")?;
/// assert_eq!(options.config.keep_alive, 30);
/// assert!(options.reconnect.is_some(), "reconnection is on by default");
/// # Ok::<(), tern_io::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MqttOptions {
    /// Host name or IP address of the broker.
    pub host: String,
    /// TCP port of the broker (1883 for MQTT, 8883 for MQTT over TLS).
    pub port: u16,
    /// The state machine's configuration: protocol level, client identifier, clean start,
    /// keep alive, credentials, will, CONNECT properties, in-flight and queue limits.
    pub config: ClientConfig,
    /// Reconnection after a lost connection, with this schedule; `None` ends the client at
    /// the first loss (pending requests fail with [`Error::ConnectionLost`]). Default:
    /// [`Backoff::default`] (1 s doubling to 60 s, jittered).
    pub reconnect: Option<Backoff>,
    /// A file that keeps the session snapshot (see [`SessionFile`](crate::SessionFile)):
    /// read at start, rewritten whenever the session changes. Default: none.
    pub session_file: Option<PathBuf>,
    /// How many incoming messages wait for the application before the adapter stops reading
    /// from the socket (default 1,000). While reading is paused the adapter still writes:
    /// publications, acknowledgements and PINGREQ go out. A reader that stays away longer
    /// than the keep-alive timeout loses the connection, which is then re-established; QoS 1/2
    /// messages not yet acknowledged are sent again by the broker.
    pub message_buffer: usize,
    /// How long opening the TCP connection (and the TLS handshake) may take (default 10 s).
    pub connect_timeout: Duration,
    /// TLS (feature `tls`): when set, the connection is TLS with this configuration.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsOptions>,
}

impl MqttOptions {
    /// Options for MQTT 5.0 to `host:port` as `client_id` (empty: the broker assigns one),
    /// with the defaults of [`ClientConfig::new`], reconnection on, no session file.
    pub fn new(host: impl Into<String>, port: u16, client_id: &str) -> Result<Self, Error> {
        let client_id = string("client identifier", client_id)?;
        Ok(MqttOptions {
            host: host.into(),
            port,
            config: ClientConfig::new(ProtocolVersion::V5, client_id),
            reconnect: Some(Backoff::default()),
            session_file: None,
            message_buffer: 1_000,
            connect_timeout: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// Protocol level: [`ProtocolVersion::V5`] (default) or [`ProtocolVersion::V3_1_1`].
    pub fn protocol(mut self, protocol: ProtocolVersion) -> Self {
        self.config.protocol = protocol;
        self
    }

    /// Keep alive, in whole seconds up to 65,535 (0: off). Default 60 s.
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.config.keep_alive = u16::try_from(keep_alive.as_secs()).unwrap_or(u16::MAX);
        self
    }

    /// Clean Start (5.0) / Clean Session (3.1.1) on the first connection (default `true`);
    /// `false` resumes a session the broker kept for this client identifier.
    pub fn clean_start(mut self, clean_start: bool) -> Self {
        self.config.clean_start = clean_start;
        self
    }

    /// User name and password.
    pub fn credentials(
        mut self,
        username: &str,
        password: impl Into<Bytes>,
    ) -> Result<Self, Error> {
        self.config.username = Some(string("user name", username)?);
        self.config.password = Some(password.into());
        Ok(self)
    }

    /// How long the broker keeps the session after the connection ends (5.0 Session Expiry
    /// Interval, in seconds; `u32::MAX`: forever). A 5.0 session outlives its connection only
    /// with a non-zero interval, so a client that resumes its session after a reconnection
    /// (or a restart, with [`session_file`](Self::session_file)) needs one. 3.1.1 keeps the
    /// session whenever [`clean_start`](Self::clean_start) is `false` and ignores this.
    pub fn session_expiry(mut self, seconds: u32) -> Result<Self, Error> {
        let others = self
            .config
            .connect_properties
            .iter()
            .filter(|p| p.id() != PropertyId::SessionExpiryInterval);
        self.config.connect_properties =
            Properties::from_properties(others.chain([Property::SessionExpiryInterval(seconds)]))
                .map_err(|e| Error::InvalidOption(format!("CONNECT properties: {e}")))?;
        Ok(self)
    }

    /// The will message the broker publishes if the connection ends without DISCONNECT.
    pub fn will(mut self, will: Will) -> Self {
        self.config.will = Some(will);
        self
    }

    /// Reconnection schedule, or `None` for no reconnection.
    pub fn reconnect(mut self, backoff: Option<Backoff>) -> Self {
        self.reconnect = backoff;
        self
    }

    /// Keeps the session in this file (see [`SessionFile`](crate::SessionFile)).
    pub fn session_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.session_file = Some(path.into());
        self
    }

    /// How many incoming messages may wait for the application (at least 1).
    pub fn message_buffer(mut self, messages: usize) -> Self {
        self.message_buffer = messages.max(1);
        self
    }

    /// Connects with TLS (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// When TLS is on, its configuration and the name the server's certificate must carry
    /// (feature `tls`): what a TLS connector needs.
    #[cfg(feature = "tls")]
    #[allow(
        clippy::type_complexity,
        reason = "a pair the caller destructures at once"
    )]
    pub fn tls_client(
        &self,
    ) -> Result<
        Option<(
            std::sync::Arc<rustls::ClientConfig>,
            rustls::pki_types::ServerName<'static>,
        )>,
        Error,
    > {
        match &self.tls {
            Some(tls) => Ok(Some((tls.config.clone(), self.tls_server_name()?))),
            None => Ok(None),
        }
    }

    /// The name the server's certificate must carry: [`TlsOptions::server_name`] if set,
    /// else the host (feature `tls`).
    ///
    /// [`TlsOptions::server_name`]: crate::tls::TlsOptions::server_name
    #[cfg(feature = "tls")]
    pub fn tls_server_name(&self) -> Result<rustls::pki_types::ServerName<'static>, Error> {
        let name = self
            .tls
            .as_ref()
            .and_then(|t| t.server_name.clone())
            .unwrap_or_else(|| self.host.clone());
        rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|_| Error::InvalidOption(format!("{name:?} is not a valid TLS server name")))
    }
}

fn string(what: &str, s: &str) -> Result<MqttString, Error> {
    MqttString::new(s).map_err(|e| Error::InvalidOption(format!("{what} {s:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_client_identifier_is_an_error_that_names_it() {
        let e = MqttOptions::new("localhost", 1883, "nul\0").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid option: client identifier"),
            "{e}"
        );
    }

    #[test]
    fn builder_methods_reach_the_client_config() {
        let o = MqttOptions::new("h", 1, "c")
            .unwrap()
            .keep_alive(Duration::from_secs(100_000))
            .clean_start(false)
            .reconnect(None)
            .message_buffer(0);
        assert_eq!(o.config.keep_alive, u16::MAX);
        assert!(!o.config.clean_start);
        assert!(o.reconnect.is_none());
        assert_eq!(o.message_buffer, 1);
    }

    #[test]
    fn session_expiry_replaces_the_property_and_keeps_the_others() {
        let o = MqttOptions::new("h", 1, "c").unwrap();
        let o = o.session_expiry(60).unwrap().session_expiry(3600).unwrap();
        let props = &o.config.connect_properties;
        assert_eq!(props.session_expiry_interval(), Some(3600));
        assert_eq!(props.iter().count(), 1);
    }
}
