//! Session snapshots: the client's session state as bytes, so that an adapter can persist it
//! and a process restart loses no QoS 1/2 message.
//!
//! # Format, version 1
//!
//! All integers big-endian.
//!
//! ```text
//! magic          4 bytes  "TMQS"
//! version        u8       1
//! protocol level u8       3, 4 or 5
//! next id        u64      the last PublishId / RequestId handed out
//! next packet id u16      where packet identifier allocation continues
//! in flight      u32 count, then per publication:
//!     publish id u64, packet id u16, stage u8 (0: PUBLISH sent, 1: PUBREL sent),
//!     packet     u32 length + the PUBLISH packet encoded at the protocol level
//! queued         u32 count, then per publication: publish id u64, u32 length + PUBLISH packet
//! incoming QoS 2 u32 count, then per packet identifier awaiting PUBREL: u16
//! ```
//!
//! Pending SUBSCRIBE and UNSUBSCRIBE requests are not kept: their answers would arrive on a
//! connection the restored client did not make. A later version adds fields by bumping the
//! version byte; [`Client::restore`] refuses versions it does not know.

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Client, ClientConfig, InFlight, PublishId, Stage};
use crate::error::DecodeError;
use crate::packet::{MAX_PACKET_SIZE, Packet, PacketId, ProtocolVersion};

const MAGIC: &[u8; 4] = b"TMQS";
const VERSION: u8 = 1;

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// It does not start with the snapshot magic.
    NotASnapshot,
    /// A format version this library does not know.
    UnsupportedVersion(u8),
    /// It was taken at another protocol level than the configuration's.
    ProtocolMismatch {
        /// The level in the snapshot.
        snapshot: u8,
        /// The level in the configuration.
        config: u8,
    },
    /// It ends early or has bytes left over.
    Truncated,
    /// A stored packet is not a valid PUBLISH.
    InvalidPacket(DecodeError),
    /// A stage or packet identifier outside the format.
    InvalidField,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotASnapshot => f.write_str("not a tern MQTT session snapshot"),
            SnapshotError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "snapshot format version {v} is not supported (this library reads 1)"
                )
            }
            SnapshotError::ProtocolMismatch { snapshot, config } => write!(
                f,
                "the snapshot is of protocol level {snapshot}, the configuration asks for {config}"
            ),
            SnapshotError::Truncated => f.write_str("the snapshot is truncated or has extra bytes"),
            SnapshotError::InvalidPacket(e) => write!(f, "a stored PUBLISH is invalid: {e}"),
            SnapshotError::InvalidField => f.write_str("a snapshot field has an invalid value"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SnapshotError {}

fn put_publish(buf: &mut BytesMut, version: ProtocolVersion, packet: &Packet) {
    let mut wire = BytesMut::new();
    // Stored publications passed the encoder's checks when they were accepted.
    let _ = packet.encode(version, MAX_PACKET_SIZE, &mut wire);
    buf.put_u32(wire.len() as u32);
    buf.put_slice(&wire);
}

impl Client {
    /// The session state in the documented format (see the
    /// [`snapshot` module](crate::client::snapshot)). Take one after the events of each step
    /// have been drained; restoring it with [`Client::restore`] resumes the session.
    pub fn snapshot(&self) -> Bytes {
        let version = self.config.protocol;
        let mut buf = BytesMut::new();
        buf.put_slice(MAGIC);
        buf.put_u8(VERSION);
        buf.put_u8(version.level());
        buf.put_u64(self.next_id);
        buf.put_u16(self.next_packet_id);
        buf.put_u32(self.inflight.len() as u32);
        for f in &self.inflight {
            buf.put_u64(f.id.0);
            buf.put_u16(f.packet_id.get());
            buf.put_u8(match f.stage {
                Stage::Published => 0,
                Stage::Released => 1,
            });
            put_publish(&mut buf, version, &Packet::Publish(f.publish.clone()));
        }
        buf.put_u32(self.queued.len() as u32);
        for (id, p) in &self.queued {
            buf.put_u64(id.0);
            put_publish(&mut buf, version, &Packet::Publish(p.clone()));
        }
        buf.put_u32(self.incoming_qos2.len() as u32);
        for id in &self.incoming_qos2 {
            buf.put_u16(*id);
        }
        buf.freeze()
    }

    /// A client with `config` and the session in `snapshot`, not connected. Its first
    /// [`Client::connect`] asks the server to resume the session (Clean Start 0).
    pub fn restore(config: ClientConfig, snapshot: &[u8]) -> Result<Client, SnapshotError> {
        let mut r = Cursor(snapshot);
        if r.take(4)? != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let format = r.u8()?;
        if format != VERSION {
            return Err(SnapshotError::UnsupportedVersion(format));
        }
        let level = r.u8()?;
        if level != config.protocol.level() {
            return Err(SnapshotError::ProtocolMismatch {
                snapshot: level,
                config: config.protocol.level(),
            });
        }
        let version = config.protocol;
        let mut client = Client::new(config);
        client.next_id = r.u64()?;
        client.next_packet_id = r.u16()?.max(1);
        for _ in 0..r.u32()? {
            let id = PublishId(r.u64()?);
            let packet_id = PacketId::new(r.u16()?).ok_or(SnapshotError::InvalidField)?;
            let stage = match r.u8()? {
                0 => Stage::Published,
                1 => Stage::Released,
                _ => return Err(SnapshotError::InvalidField),
            };
            let publish = r.publish(version)?;
            if publish.packet_id != Some(packet_id) {
                return Err(SnapshotError::InvalidField);
            }
            client.inflight.push_back(InFlight {
                id,
                packet_id,
                publish,
                stage,
            });
        }
        for _ in 0..r.u32()? {
            let id = PublishId(r.u64()?);
            client.queued.push_back((id, r.publish(version)?));
        }
        for _ in 0..r.u32()? {
            client.incoming_qos2.insert(r.u16()?);
        }
        if !r.0.is_empty() {
            return Err(SnapshotError::Truncated);
        }
        client.had_session = true;
        Ok(client)
    }
}

/// A bounds-checked reader: every count and length is checked against the bytes present
/// before anything is taken, so a damaged snapshot cannot make us reserve memory.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if self.0.len() < n {
            return Err(SnapshotError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        self.take(N)?
            .try_into()
            .map_err(|_| SnapshotError::Truncated)
    }

    fn u8(&mut self) -> Result<u8, SnapshotError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, SnapshotError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn publish(
        &mut self,
        version: ProtocolVersion,
    ) -> Result<crate::packet::Publish, SnapshotError> {
        let len = self.u32()? as usize;
        let bytes = Bytes::copy_from_slice(self.take(len)?);
        match Packet::decode(version, bytes).map_err(SnapshotError::InvalidPacket)? {
            Packet::Publish(p) => Ok(p),
            _ => Err(SnapshotError::InvalidField),
        }
    }
}
