//! Hex text to bytes and bytes to hex text.
//!
//! Parsing is lenient about layout and strict about digits, so that bytes pasted from
//! Wireshark (`30:0d:00`), `xxd -p`, a log line (`0x300d00`) or a hand-typed `30 0d 00` all
//! work, while a typo is an error rather than a silently shifted packet:
//!
//! - hex digits in either case;
//! - whitespace and `:` separate groups of digits and are otherwise ignored;
//! - a group may start with `0x` or `0X`;
//! - every group has an even number of digits (a dropped digit would shift every later byte).

use std::fmt;

/// Why text is not hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HexError {
    /// A character that is neither a hex digit nor a separator.
    InvalidChar {
        /// The character.
        ch: char,
        /// Its byte offset in the text.
        offset: usize,
    },
    /// A group of digits of odd length.
    OddDigits {
        /// Byte offset of the group in the text.
        offset: usize,
        /// How many digits it has.
        digits: usize,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HexError::InvalidChar { ch, offset } => write!(
                f,
                "{ch:?} at offset {offset} is not a hex digit \
                 (expected hex digits, whitespace or ':')"
            ),
            HexError::OddDigits { offset, digits } => write!(
                f,
                "the {digits} hex digits at offset {offset} are an odd number; \
                 each byte needs two digits"
            ),
        }
    }
}

impl std::error::Error for HexError {}

/// Parses `text` and appends the bytes to `out`. On error, `out` may hold some of the bytes.
pub(crate) fn decode_into(text: &str, out: &mut Vec<u8>) -> Result<(), HexError> {
    // The current group of digits: where it starts and how many digits it has so far.
    let mut group: Option<(usize, usize)> = None;
    let mut high: Option<u8> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((offset, ch)) = chars.next() {
        if ch.is_whitespace() || ch == ':' {
            end_group(&mut group, high)?;
            continue;
        }
        if group.is_none() && ch == '0' && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
            chars.next();
            group = Some((offset, 0));
            continue;
        }
        let digit = ch
            .to_digit(16)
            .ok_or(HexError::InvalidChar { ch, offset })? as u8;
        group.get_or_insert((offset, 0)).1 += 1;
        match high.take() {
            None => high = Some(digit),
            Some(h) => out.push((h << 4) | digit),
        }
    }
    end_group(&mut group, high)
}

/// Closes the current group of digits; an unpaired digit makes it odd.
fn end_group(group: &mut Option<(usize, usize)>, high: Option<u8>) -> Result<(), HexError> {
    match group.take() {
        Some((offset, digits)) if high.is_some() => Err(HexError::OddDigits { offset, digits }),
        _ => Ok(()),
    }
}

/// Parses `text` as hex.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::new();
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Lowercase hex, two digits per byte, no separators.
pub(crate) fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_hex_in_either_case() {
        assert_eq!(decode("300d00").unwrap(), [0x30, 0x0d, 0x00]);
        assert_eq!(decode("ABcdEf").unwrap(), [0xab, 0xcd, 0xef]);
        assert!(decode("").unwrap().is_empty());
    }

    #[test]
    fn separators_are_ignored() {
        assert_eq!(decode("30:0d:00").unwrap(), [0x30, 0x0d, 0x00]);
        assert_eq!(decode(" 30 0d\n00\t\r\n").unwrap(), [0x30, 0x0d, 0x00]);
        assert_eq!(decode("300d 0005").unwrap(), [0x30, 0x0d, 0x00, 0x05]);
        assert!(decode("  ::  ").unwrap().is_empty());
    }

    #[test]
    fn a_group_may_start_with_0x() {
        assert_eq!(decode("0x300d").unwrap(), [0x30, 0x0d]);
        assert_eq!(decode("0X30 0x0d:0x00").unwrap(), [0x30, 0x0d, 0x00]);
        // "0x" only counts at the start of a group; "00" then 'x' is a typo.
        assert_eq!(
            decode("300x0d"),
            Err(HexError::InvalidChar { ch: 'x', offset: 3 })
        );
    }

    #[test]
    fn invalid_characters_are_reported_with_their_offset() {
        assert_eq!(
            decode("30 0g"),
            Err(HexError::InvalidChar { ch: 'g', offset: 4 })
        );
        assert_eq!(
            decode("30,0d"),
            Err(HexError::InvalidChar { ch: ',', offset: 2 })
        );
        let err = decode("é").unwrap_err();
        assert_eq!(
            err,
            HexError::InvalidChar {
                ch: 'é', offset: 0
            }
        );
        assert!(err.to_string().contains("'é' at offset 0"), "{err}");
    }

    #[test]
    fn odd_groups_are_refused() {
        assert_eq!(
            decode("30 d 00"),
            Err(HexError::OddDigits {
                offset: 3,
                digits: 1
            })
        );
        assert_eq!(
            decode("300"),
            Err(HexError::OddDigits {
                offset: 0,
                digits: 3
            })
        );
        assert_eq!(
            decode("0x300"),
            Err(HexError::OddDigits {
                offset: 0,
                digits: 3
            })
        );
    }

    #[test]
    fn appends_to_what_is_there() {
        let mut out = vec![0x30];
        decode_into("0d", &mut out).unwrap();
        decode_into("0005", &mut out).unwrap();
        assert_eq!(out, [0x30, 0x0d, 0x00, 0x05]);
    }

    #[test]
    fn encode_is_lowercase_and_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert_eq!(&text[..6], "000102");
        assert_eq!(&text[text.len() - 4..], "feff");
        assert_eq!(decode(&text).unwrap(), all);
        assert_eq!(encode(&[]), "");
    }
}
