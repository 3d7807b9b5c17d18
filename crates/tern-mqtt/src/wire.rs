//! The MQTT data representations (MQTT 5.0 §1.5, 3.1.1 §1.5): a bounds-checked reader over
//! `Bytes` and the matching writers. Every read checks the remaining length first, so no peer
//! length can make us index out of bounds or reserve memory.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::string::MqttString;

/// Largest value of a Variable Byte Integer (MQTT 5.0 §1.5.5).
pub(crate) const VARINT_MAX: u32 = 268_435_455;

/// A cursor over one packet's bytes. Produces `Bytes` slices of the packet, never copies.
pub(crate) struct Reader<'a> {
    bytes: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a Bytes) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// A cursor starting `pos` bytes into `bytes` (e.g. past a packet's fixed header), so that
    /// the body needs no `Bytes` of its own.
    pub(crate) fn at(bytes: &'a Bytes, pos: usize) -> Self {
        Reader {
            bytes,
            pos: pos.min(bytes.len()),
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        let end = start.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self.bytes.get(start..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = self
            .bytes
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        match self.take(2)? {
            &[a, b] => Ok(u16::from_be_bytes([a, b])),
            _ => Err(DecodeError::Truncated),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        match self.take(4)? {
            &[a, b, c, d] => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(DecodeError::Truncated),
        }
    }

    /// A Variable Byte Integer inside a packet (property lengths, Subscription Identifier).
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        match read_varint(rest)? {
            Some((value, used)) => {
                self.pos += used;
                Ok(value)
            }
            None => Err(DecodeError::Truncated),
        }
    }

    /// `n` bytes as a slice of the packet.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        self.take(n)?;
        Ok(self.bytes.slice(start..self.pos))
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn peek_rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// The rest of the packet (a PUBLISH payload, a SUBACK's codes).
    pub(crate) fn rest(&mut self) -> Bytes {
        let start = self.pos;
        self.pos = self.bytes.len();
        self.bytes.slice(start..)
    }

    /// Binary Data: a two-byte length, then that many bytes (MQTT 5.0 §1.5.6).
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u16()?;
        self.bytes(usize::from(len))
    }

    /// UTF-8 Encoded String (MQTT 5.0 §1.5.4), validated.
    pub(crate) fn string(&mut self) -> Result<MqttString, DecodeError> {
        MqttString::from_bytes(self.binary()?).map_err(DecodeError::from)
    }
}

/// Reads a Variable Byte Integer from the start of `buf`.
///
/// `Ok(None)` when `buf` ends before the last byte of the integer. More than four bytes is
/// malformed, and so is a longer encoding than needed: MQTT 5.0 requires the minimum number of
/// bytes [MQTT-1.5.5-1]; 3.1.1 §2.2.3 defines the same unique encoding, and we apply the rule
/// to both levels so that every value has exactly one wire form.
pub(crate) fn read_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    // One byte (values below 128: small packets, empty property blocks) is the common case.
    if let Some(&b @ 0..0x80) = buf.first() {
        return Ok(Some((u32::from(b), 1)));
    }
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().enumerate().take(4) {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A final byte of zero after at least one continuation byte adds nothing.
            if i > 0 && byte == 0 {
                return Err(DecodeError::NonMinimalVarInt);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        Err(DecodeError::VarIntTooLong)
    } else {
        Ok(None)
    }
}

/// Number of bytes the Variable Byte Integer `value` takes.
pub(crate) const fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// A Variable Byte Integer as bytes: four bytes of which the first `n` are used. Callers check
/// `value <= VARINT_MAX` first.
pub(crate) const fn varint_bytes(value: u32) -> ([u8; 4], usize) {
    let b = [
        (value & 0x7f) as u8,
        ((value >> 7) & 0x7f) as u8,
        ((value >> 14) & 0x7f) as u8,
        ((value >> 21) & 0x7f) as u8,
    ];
    match varint_len(value) {
        1 => ([b[0], 0, 0, 0], 1),
        2 => ([b[0] | 0x80, b[1], 0, 0], 2),
        3 => ([b[0] | 0x80, b[1] | 0x80, b[2], 0], 3),
        _ => ([b[0] | 0x80, b[1] | 0x80, b[2] | 0x80, b[3]], 4),
    }
}

/// Writes a Variable Byte Integer. Callers check `value <= VARINT_MAX` first.
pub(crate) fn put_varint(buf: &mut BytesMut, mut value: u32) {
    loop {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            break;
        }
    }
}

/// Length of a two-byte-length-prefixed field; fails when it does not fit in 16 bits.
pub(crate) fn prefixed_len(len: usize) -> Result<usize, EncodeError> {
    if len > usize::from(u16::MAX) {
        Err(EncodeError::FieldTooLong { len })
    } else {
        Ok(2 + len)
    }
}

/// Writes a two-byte length then the bytes. Callers check the length with [`prefixed_len`].
pub(crate) fn put_binary(buf: &mut BytesMut, data: &[u8]) {
    buf.put_u16(data.len() as u16);
    buf.put_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_at_every_boundary() {
        for v in [
            0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, VARINT_MAX,
        ] {
            let mut b = BytesMut::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v));
            let (bytes, n) = varint_bytes(v);
            assert_eq!(&bytes[..n], &b[..]);
            assert_eq!(read_varint(&b).unwrap(), Some((v, b.len())));
        }
    }

    #[test]
    fn mqtt_1_5_5_1_non_minimal_varint_is_malformed() {
        assert_eq!(
            read_varint(&[0x80, 0x00]),
            Err(DecodeError::NonMinimalVarInt)
        );
        assert_eq!(
            read_varint(&[0xff, 0x80, 0x00]),
            Err(DecodeError::NonMinimalVarInt)
        );
    }

    #[test]
    fn varint_of_five_bytes_is_malformed() {
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(DecodeError::VarIntTooLong)
        );
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::VarIntTooLong)
        );
        assert_eq!(read_varint(&[0xff, 0xff, 0xff]), Ok(None));
    }
}
