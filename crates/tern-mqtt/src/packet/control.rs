//! DISCONNECT (MQTT 5.0 §3.14) and AUTH (§3.15). PINGREQ and PINGRESP have no body and are
//! unit variants of [`Packet`](super::Packet).

use bytes::{BufMut, BytesMut};

use super::{PacketType, ProtocolVersion};
use crate::error::{DecodeError, EncodeError};
use crate::property::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::wire::Reader;

/// Reads the optional reason code and properties of DISCONNECT and AUTH: a Remaining Length of
/// 0 means Success without properties, 1 a reason code without properties.
fn decode_tail(
    packet: PacketType,
    r: &mut Reader<'_>,
) -> Result<(ReasonCode, Properties), DecodeError> {
    if r.is_empty() {
        return Ok((ReasonCode::Success, Properties::new()));
    }
    let code = r.u8()?;
    let reason_code = ReasonCode::from_u8(code)
        .filter(|c| c.allowed_in(packet))
        .ok_or(DecodeError::InvalidReasonCode { packet, code })?;
    let properties = if r.is_empty() {
        Properties::new()
    } else {
        Properties::decode(r, PropertyContext::Packet(packet))?
    };
    Ok((reason_code, properties))
}

fn validate_tail(
    packet: PacketType,
    code: ReasonCode,
    props: &Properties,
) -> Result<(), EncodeError> {
    if !code.allowed_in(packet) {
        return Err(EncodeError::ReasonCodeNotAllowed { packet, code });
    }
    props.check(PropertyContext::Packet(packet))
}

fn tail_len(code: ReasonCode, props: &Properties) -> usize {
    match (code, props.is_empty()) {
        (ReasonCode::Success, true) => 0,
        (_, true) => 1,
        (_, false) => 1 + props.encoded_len(),
    }
}

fn write_tail(code: ReasonCode, props: &Properties, buf: &mut BytesMut) {
    match (code, props.is_empty()) {
        (ReasonCode::Success, true) => {}
        (_, true) => buf.put_u8(code.as_u8()),
        (_, false) => {
            buf.put_u8(code.as_u8());
            props.write(buf);
        }
    }
}

/// DISCONNECT: the last packet of a connection, from either side (from the server in 5.0 only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// Why (5.0); Success is "Normal disconnection".
    pub reason_code: ReasonCode,
    /// DISCONNECT properties (5.0): Session Expiry Interval, Reason String, Server Reference, ...
    pub properties: Properties,
}

impl Disconnect {
    /// A normal disconnection.
    pub fn new() -> Self {
        Disconnect::default()
    }

    /// A disconnection with `reason_code` (5.0).
    pub fn with_reason(reason_code: ReasonCode) -> Self {
        Disconnect {
            reason_code,
            properties: Properties::new(),
        }
    }

    pub(crate) fn decode(
        version: ProtocolVersion,
        r: &mut Reader<'_>,
    ) -> Result<Self, DecodeError> {
        if !version.is_v5() {
            return Ok(Disconnect::new());
        }
        let (reason_code, properties) = decode_tail(PacketType::Disconnect, r)?;
        Ok(Disconnect {
            reason_code,
            properties,
        })
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        if version.is_v5() {
            validate_tail(PacketType::Disconnect, self.reason_code, &self.properties)
        } else if self.reason_code != ReasonCode::Success || !self.properties.is_empty() {
            Err(EncodeError::NotInVersion(
                "a DISCONNECT reason code or properties",
            ))
        } else {
            Ok(())
        }
    }

    pub(crate) fn body_len(&self, version: ProtocolVersion) -> usize {
        if version.is_v5() {
            tail_len(self.reason_code, &self.properties)
        } else {
            0
        }
    }

    pub(crate) fn write(&self, version: ProtocolVersion, buf: &mut BytesMut) {
        if version.is_v5() {
            write_tail(self.reason_code, &self.properties, buf);
        }
    }
}

/// AUTH: a step of enhanced authentication (5.0 only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Success, Continue authentication or Re-authenticate.
    pub reason_code: ReasonCode,
    /// AUTH properties: Authentication Method and Data, Reason String, User Properties.
    pub properties: Properties,
}

impl Auth {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (reason_code, properties) = decode_tail(PacketType::Auth, r)?;
        Ok(Auth {
            reason_code,
            properties,
        })
    }

    pub(crate) fn validate(&self, version: ProtocolVersion) -> Result<(), EncodeError> {
        if !version.is_v5() {
            return Err(EncodeError::PacketNotInVersion(PacketType::Auth));
        }
        validate_tail(PacketType::Auth, self.reason_code, &self.properties)
    }

    pub(crate) fn body_len(&self) -> usize {
        tail_len(self.reason_code, &self.properties)
    }

    pub(crate) fn write(&self, buf: &mut BytesMut) {
        write_tail(self.reason_code, &self.properties, buf);
    }
}
