//! The handshake: what the connection decides about a CONNECT itself (protocol level, client
//! identifier, keep alive, will), and the CONNACK it answers with.

use alloc::boxed::Box;

use bytes::Bytes;
use tern_mqtt::packet::MAX_PACKET_SIZE;

use super::MAX_PACKET_SIZE_U32;
use tern_mqtt::{
    ConnAck, Connect, MqttString, Packet, Properties, Property, ProtocolVersion, QoS, ReasonCode,
};

use super::{CloseReason, CommandError, Connection, ConnectionEvent, Negotiated, State};

impl Connection {
    /// Checks what the connection itself decides about a CONNECT, then reports it.
    pub(super) fn handle_connect(&mut self, connect: Box<Connect>) {
        self.version = connect.protocol;
        self.version_known = true;
        let v5 = self.version.is_v5();
        let limits = *self.config.limits();
        let refusal = if connect.protocol == ProtocolVersion::V3_1 && !self.config.accept_v3_1() {
            Some(ReasonCode::UnsupportedProtocolVersion)
        } else if self.client_id_refused(&connect) {
            Some(ReasonCode::ClientIdentifierNotValid)
        } else if !v5 && connect.keep_alive > limits.max_keep_alive() {
            // 3.1.1 cannot be told a shorter keep alive, and enforcing one it does not know
            // of would cut it off; mosquitto refuses the same way.
            Some(ReasonCode::ClientIdentifierNotValid)
        } else if let Some(will) = &connect.will {
            if will.qos > self.config.maximum_qos() {
                Some(ReasonCode::QoSNotSupported) // [MQTT-3.2.2-12]
            } else if will.retain && !self.config.retain_available() {
                Some(ReasonCode::RetainNotSupported) // [MQTT-3.2.2-13]
            } else if !self.topic_within_limits(will.topic.as_bytes()) {
                Some(ReasonCode::TopicNameInvalid)
            } else {
                None
            }
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.refuse_connect(reason);
            return;
        }
        let (keep_alive, server_keep_alive) = if !v5 {
            (connect.keep_alive, None)
        } else if let Some(ka) = self.config.server_keep_alive() {
            (ka, Some(ka))
        } else if limits.max_keep_alive() < u16::MAX
            && (connect.keep_alive == 0 || connect.keep_alive > limits.max_keep_alive())
        {
            (limits.max_keep_alive(), Some(limits.max_keep_alive()))
        } else {
            (connect.keep_alive, None)
        };
        let props = &connect.properties;
        self.negotiated = Negotiated {
            clean_start: connect.clean_start,
            client_id_empty: connect.client_id.is_empty(),
            keep_alive,
            server_keep_alive,
            session_expiry_interval: props.session_expiry_interval().unwrap_or(0),
        };
        if v5 {
            if let Some(method) = props.authentication_method() {
                self.extra().auth_method = Some(method);
            }
            self.client_max_packet_size =
                props.maximum_packet_size().unwrap_or(MAX_PACKET_SIZE_U32);
            self.client_receive_maximum = props.receive_maximum().unwrap_or(u16::MAX);
        }
        self.state = State::AwaitDecision;
        self.push_event(ConnectionEvent::Connect(connect));
    }

    fn client_id_refused(&self, connect: &Connect) -> bool {
        let id = &connect.client_id;
        if id.is_empty() {
            // 3.1 needs an identifier; 3.1.1 allows an empty one only with a clean session
            // [MQTT-3.1.3-8]; 5.0 always, if the server assigns one.
            connect.protocol == ProtocolVersion::V3_1
                || (connect.protocol == ProtocolVersion::V3_1_1 && !connect.clean_start)
                || !self.config.allow_empty_client_id()
        } else {
            id.len() > self.config.limits().max_client_id_len()
        }
    }

    pub(super) fn connack_properties(
        &self,
        assigned: Option<MqttString>,
        auth_data: Option<Bytes>,
    ) -> Result<Properties, CommandError> {
        let c = &self.config;
        let l = c.limits();
        let mut b = Properties::builder();
        if l.receive_maximum() != u16::MAX {
            b = b.push(Property::ReceiveMaximum(l.receive_maximum().max(1)));
        }
        if c.maximum_qos() != QoS::ExactlyOnce {
            b = b.push(Property::MaximumQoS(c.maximum_qos().as_u8()));
        }
        if !c.retain_available() {
            b = b.push(Property::RetainAvailable(0));
        }
        if usize::try_from(l.max_packet_size()).is_ok_and(|m| m < MAX_PACKET_SIZE) {
            b = b.push(Property::MaximumPacketSize(l.max_packet_size().max(1)));
        }
        if l.topic_alias_maximum() > 0 {
            b = b.push(Property::TopicAliasMaximum(l.topic_alias_maximum()));
        }
        if !c.wildcard_subscription_available() {
            b = b.push(Property::WildcardSubscriptionAvailable(0));
        }
        if !c.subscription_identifiers_available() {
            b = b.push(Property::SubscriptionIdentifierAvailable(0));
        }
        if !c.shared_subscription_available() {
            b = b.push(Property::SharedSubscriptionAvailable(0));
        }
        if let Some(ka) = self.negotiated.server_keep_alive {
            b = b.push(Property::ServerKeepAlive(ka));
        }
        if let Some(id) = assigned {
            b = b.push(Property::AssignedClientIdentifier(id));
        }
        // Exactly when the CONNECT had one [MQTT-4.12.0-5] [MQTT-4.12.0-6].
        if let Some(method) = self.auth_method() {
            b = b.push(Property::AuthenticationMethod(method.clone()));
            if let Some(data) = auth_data {
                b = b.push(Property::AuthenticationData(data));
            }
        }
        b.build().map_err(CommandError::Encode)
    }

    /// Writes the refusal of a CONNECT (if the level has a way to say it) and ends.
    pub(super) fn refuse_connect(&mut self, reason: ReasonCode) {
        self.write_connack_refusal(reason);
        self.close(false, CloseReason::Refused(reason));
    }

    pub(super) fn write_connack_refusal(&mut self, reason: ReasonCode) {
        let code = if self.version.is_v5() {
            reason
        } else {
            match reason {
                // 3.1.1 closes on a malformed CONNECT without answering [MQTT-3.1.4-1].
                ReasonCode::MalformedPacket | ReasonCode::ProtocolError => return,
                ReasonCode::UnsupportedProtocolVersion
                | ReasonCode::ClientIdentifierNotValid
                | ReasonCode::ServerUnavailable
                | ReasonCode::BadUserNameOrPassword
                | ReasonCode::NotAuthorized => reason,
                ReasonCode::BadAuthenticationMethod => ReasonCode::BadUserNameOrPassword,
                ReasonCode::Banned => ReasonCode::NotAuthorized,
                _ => ReasonCode::ServerUnavailable,
            }
        };
        let connack = ConnAck {
            session_present: false,
            reason_code: code,
            properties: Properties::new(),
        };
        self.send_control(&Packet::ConnAck(connack));
    }
}

/// The protocol level of a CONNECT at the front of `buf` that failed to decode, read from
/// its variable header, when the bytes reach that far.
pub(super) fn sniff_connect_level(buf: &[u8]) -> Option<u8> {
    // The fixed header: the type byte and a Remaining Length of one to four bytes.
    let mut at = 1;
    while buf.get(at)? & 0x80 != 0 {
        at += 1;
        if at > 4 {
            return None;
        }
    }
    let len_at = at + 1;
    let name_len = usize::from(u16::from_be_bytes([
        *buf.get(len_at)?,
        *buf.get(len_at + 1)?,
    ]));
    buf.get(len_at + 2 + name_len).copied()
}
