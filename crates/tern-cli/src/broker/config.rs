//! `tern.toml`: the broker's configuration file. Every setting has a default, so an empty
//! file (or none) is a working broker on port 1883; unknown keys are errors, so that a typo
//! is not silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tern_broker::BrokerConfig;
use tern_broker::config::{Limits, ServerConfig};
use tern_broker::retained::RetainedLimits;
use tern_broker::session::SessionLimits;
use tern_mqtt::QoS;

use crate::failure::Failure;

/// An example with every setting at its default, for `--help` and the README.
pub(crate) const EXAMPLE: &str = r#"# tern.toml — every key is optional; these are the defaults.
[listener]
bind = ["[::]:1883"]            # addresses for MQTT over TCP ("0.0.0.0:1883", "127.0.0.1:0", ...)

# [tls]                          # MQTT over TLS (rustls)
# bind = ["[::]:8883"]
# cert = "server.crt"            # PEM certificate chain
# key = "server.key"             # PEM private key
# client_ca = "ca.crt"           # require client certificates signed by this CA

[auth]
# allow_anonymous = true         # default: true without password_file, false with one
# password_file = "passwd"       # made with `tern broker passwd`
# acl_file = "acl"               # user / topic / pattern lines, as mosquitto's

[limits]
max_connections = 100000
max_packet_size = 16777216       # bytes, from clients
receive_maximum = 100            # QoS 1/2 messages a client may have unacknowledged
topic_alias_maximum = 10
max_keep_alive = 65535           # seconds
max_client_id_len = 65535
max_topic_len = 65535
max_topic_levels = 128
max_subscriptions = 1000         # per client
max_queued_messages = 1000       # per session, waiting to be sent
max_queued_bytes = 16777216      # per session
max_retained_messages = 1000000
max_retained_bytes = 268435456
max_session_expiry = 4294967295  # seconds (4294967295: never)
connect_timeout = 10             # seconds for a new connection to send CONNECT

[mqtt]
maximum_qos = 2
retain_available = true
wildcard_subscriptions = true
subscription_identifiers = true
shared_subscriptions = true
# server_keep_alive = 60         # seconds, imposed on 5.0 clients
allow_v3_1 = true
allow_empty_client_id = true

[sys]
interval = 10                    # seconds between $SYS/broker updates; 0: none
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    #[serde(default)]
    pub(crate) listener: Listener,
    pub(crate) tls: Option<Tls>,
    #[serde(default)]
    pub(crate) auth: Auth,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    mqtt: Mqtt,
    #[serde(default)]
    sys: Sys,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Listener {
    pub(crate) bind: Option<Vec<SocketAddr>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tls {
    pub(crate) bind: Vec<SocketAddr>,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) client_ca: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Auth {
    pub(crate) allow_anonymous: Option<bool>,
    pub(crate) password_file: Option<PathBuf>,
    pub(crate) acl_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_connections: Option<usize>,
    max_packet_size: Option<u32>,
    receive_maximum: Option<u16>,
    topic_alias_maximum: Option<u16>,
    max_keep_alive: Option<u16>,
    max_client_id_len: Option<usize>,
    max_topic_len: Option<usize>,
    max_topic_levels: Option<usize>,
    max_subscriptions: Option<usize>,
    max_queued_messages: Option<usize>,
    max_queued_bytes: Option<usize>,
    max_retained_messages: Option<usize>,
    max_retained_bytes: Option<usize>,
    max_session_expiry: Option<u32>,
    connect_timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mqtt {
    maximum_qos: Option<u8>,
    retain_available: Option<bool>,
    wildcard_subscriptions: Option<bool>,
    subscription_identifiers: Option<bool>,
    shared_subscriptions: Option<bool>,
    server_keep_alive: Option<u16>,
    allow_v3_1: Option<bool>,
    allow_empty_client_id: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sys {
    interval: Option<u64>,
}

impl File {
    /// Reads and parses `path`.
    pub(crate) fn read(path: &Path) -> Result<File, Failure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::io(&format!("cannot read {}", path.display()), &e))?;
        File::parse(&text).map_err(|e| Failure::input(format_args!("{}: {e}", path.display())))
    }

    pub(crate) fn parse(text: &str) -> Result<File, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// The broker core's configuration: the defaults, changed where the file says.
    pub(crate) fn broker_config(&self) -> Result<BrokerConfig, Failure> {
        let l = &self.limits;
        let m = &self.mqtt;
        let mut limits = Limits::new();
        if let Some(v) = l.max_packet_size {
            limits = limits.with_max_packet_size(v);
        }
        if let Some(v) = l.receive_maximum {
            if v == 0 {
                return Err(Failure::input("limits.receive_maximum must be at least 1"));
            }
            limits = limits.with_receive_maximum(v);
        }
        if let Some(v) = l.topic_alias_maximum {
            limits = limits.with_topic_alias_maximum(v);
        }
        if let Some(v) = l.max_keep_alive {
            limits = limits.with_max_keep_alive(v);
        }
        if let Some(v) = l.max_client_id_len {
            limits = limits.with_max_client_id_len(v);
        }
        if let Some(v) = l.max_topic_len {
            limits = limits.with_max_topic_len(v);
        }
        if let Some(v) = l.max_topic_levels {
            limits = limits.with_max_topic_levels(v);
        }
        let mut server = ServerConfig::new().with_limits(limits);
        if let Some(q) = m.maximum_qos {
            let qos = QoS::from_u8(q)
                .ok_or_else(|| Failure::input("mqtt.maximum_qos must be 0, 1 or 2"))?;
            server = server.with_maximum_qos(qos);
        }
        if let Some(v) = m.retain_available {
            server = server.with_retain_available(v);
        }
        if let Some(v) = m.wildcard_subscriptions {
            server = server.with_wildcard_subscription_available(v);
        }
        if let Some(v) = m.subscription_identifiers {
            server = server.with_subscription_identifiers_available(v);
        }
        if let Some(v) = m.shared_subscriptions {
            server = server.with_shared_subscription_available(v);
        }
        if let Some(v) = m.server_keep_alive {
            server = server.with_server_keep_alive(Some(v));
        }
        if let Some(v) = m.allow_v3_1 {
            server = server.with_accept_v3_1(v);
        }
        if let Some(v) = m.allow_empty_client_id {
            server = server.with_allow_empty_client_id(v);
        }
        if let Some(v) = l.connect_timeout {
            server = server.with_connect_timeout(Duration::from_secs(v));
        }
        let mut config = BrokerConfig::default();
        config.server = server;
        let mut sessions = SessionLimits::default();
        if let Some(v) = l.max_queued_messages {
            sessions = sessions.max_queued(v);
        }
        if let Some(v) = l.max_queued_bytes {
            sessions = sessions.max_queued_bytes(v);
        }
        config.sessions = sessions;
        let mut retained = RetainedLimits::default();
        if let Some(v) = l.max_retained_messages {
            retained.max_messages = v;
        }
        if let Some(v) = l.max_retained_bytes {
            retained.max_bytes = v;
        }
        config.retained = retained;
        if let Some(v) = l.max_connections {
            config.max_connections = v;
        }
        if let Some(v) = l.max_subscriptions {
            config.max_subscriptions = v;
        }
        if let Some(v) = l.max_session_expiry {
            config.max_session_expiry = v;
        }
        config.sys_interval = match self.sys.interval {
            Some(0) => None,
            Some(s) => Some(Duration::from_secs(s)),
            None => config.sys_interval,
        };
        config.allow_anonymous = self
            .auth
            .allow_anonymous
            .unwrap_or(self.auth.password_file.is_none());
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_gives_the_defaults() {
        let file = File::parse(EXAMPLE).unwrap();
        let config = file.broker_config().unwrap();
        let defaults = BrokerConfig::default();
        assert_eq!(config.max_connections, defaults.max_connections);
        assert_eq!(config.server, defaults.server);
        assert_eq!(config.sessions, defaults.sessions);
        assert!(config.allow_anonymous);
        assert_eq!(file.listener.bind.unwrap(), ["[::]:1883".parse().unwrap()]);
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let file = File::parse("").unwrap();
        assert!(file.listener.bind.is_none());
        assert!(file.broker_config().unwrap().allow_anonymous);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let e = File::parse("[limits]\nmax_conections = 5\n").unwrap_err();
        assert!(e.contains("max_conections"), "{e}");
        let bad = File::parse("[mqtt]\nmaximum_qos = 3\n").unwrap();
        assert!(bad.broker_config().is_err());
    }

    #[test]
    fn a_password_file_turns_anonymous_access_off_unless_said_otherwise() {
        let file = File::parse("[auth]\npassword_file = \"p\"\n").unwrap();
        assert!(!file.broker_config().unwrap().allow_anonymous);
        let file = File::parse("[auth]\npassword_file = \"p\"\nallow_anonymous = true\n").unwrap();
        assert!(file.broker_config().unwrap().allow_anonymous);
    }

    #[test]
    fn settings_reach_the_core() {
        let file = File::parse(
            "[limits]\nreceive_maximum = 20\nmax_queued_messages = 5\n[mqtt]\nmaximum_qos = 1\n[sys]\ninterval = 0\n",
        )
        .unwrap();
        let config = file.broker_config().unwrap();
        assert_eq!(config.server.limits().receive_maximum(), 20);
        assert_eq!(config.server.maximum_qos(), QoS::AtLeastOnce);
        assert_eq!(config.sessions.max_queued, 5);
        assert_eq!(config.sys_interval, None);
    }
}
