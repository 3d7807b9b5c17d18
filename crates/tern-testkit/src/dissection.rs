//! [`Check`]: compares our decoding with Wireshark's dissection of a captured vector (the
//! `fields` objects of `../shared/vectors/*.jsonl`), field by field, and fails on any
//! dissection field that no check looked at — so a field we forgot to compare cannot pass
//! silently.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::hex;

/// Reads the keys of one JSON object of tshark fields, records which were read, and collects
/// the differences.
///
/// ```
/// use serde_json::{Map, Value};
/// use tern_testkit::dissection::Check;
///
/// let fields: Map<String, Value> = serde_json::from_str(r#"{"mqtt.qos":1,"mqtt.topic":"a/b"}"#)?;
/// let mut c = Check::new(Some(&fields));
/// c.int("mqtt.qos", 1);
/// assert_eq!(c.finish(), ["mqtt.topic: not checked"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub struct Check<'a> {
    fields: Option<&'a Map<String, Value>>,
    used: BTreeSet<String>,
    errors: Vec<String>,
}

impl<'a> Check<'a> {
    /// A check of `fields`; `None` (the dissection was not an object) is itself a failure.
    pub fn new(fields: Option<&'a Map<String, Value>>) -> Self {
        let mut c = Check {
            fields,
            used: BTreeSet::new(),
            errors: Vec::new(),
        };
        if fields.is_none() {
            c.fail("not a JSON object".into());
        }
        c
    }

    /// Records a difference.
    pub fn fail(&mut self, msg: String) {
        self.errors.push(msg);
    }

    /// The field `key`, marked as checked.
    pub fn field(&mut self, key: &str) -> Option<&'a Value> {
        self.used.insert(key.to_owned());
        self.fields?.get(key)
    }

    /// tshark must not show `key`.
    pub fn absent(&mut self, key: &str) {
        if let Some(v) = self.field(key) {
            self.fail(format!("{key}: tshark shows {v}, decoded nothing"));
        }
    }

    /// tshark shows the number `want`.
    pub fn int(&mut self, key: &str, want: u64) {
        let got = self.field(key);
        if got.and_then(Value::as_u64) != Some(want) {
            self.fail(format!("{key}: tshark {got:?}, decoded {want}"));
        }
    }

    /// tshark shows the text `want`.
    pub fn str(&mut self, key: &str, want: &str) {
        let got = self.field(key);
        if got.and_then(Value::as_str) != Some(want) {
            self.fail(format!("{key}: tshark {got:?}, decoded {want:?}"));
        }
    }

    /// tshark shows the bytes `want` as hex.
    pub fn hex(&mut self, key: &str, want: &[u8]) {
        let got = self.field(key);
        if got.and_then(Value::as_str) != Some(hex(want).as_str()) {
            self.fail(format!("{key}: tshark {got:?}, decoded {}", hex(want)));
        }
    }

    /// tshark's `0x..` flag string is `want`.
    pub fn flag_hex(&mut self, key: &str, want: u8) {
        let got = self.field(key);
        if got.and_then(Value::as_str).and_then(parse_flag) != Some(want) {
            self.fail(format!("{key}: tshark {got:?}, decoded {want:#04x}"));
        }
    }

    /// A field that occurs once is a scalar, several times a list (the vectors' README).
    pub fn list(&mut self, key: &str) -> Vec<&'a Value> {
        match self.field(key) {
            None => Vec::new(),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
        }
    }

    /// The occurrences of `key` are the numbers `want`.
    pub fn ints(&mut self, key: &str, want: &[u64]) {
        let got: Vec<Option<u64>> = self.list(key).into_iter().map(Value::as_u64).collect();
        if got != want.iter().copied().map(Some).collect::<Vec<_>>() {
            self.fail(format!("{key}: tshark {got:?}, decoded {want:?}"));
        }
    }

    /// The occurrences of `key` are the texts `want`.
    pub fn strs(&mut self, key: &str, want: &[&str]) {
        let got: Vec<Option<&str>> = self.list(key).into_iter().map(Value::as_str).collect();
        if got != want.iter().copied().map(Some).collect::<Vec<_>>() {
            self.fail(format!("{key}: tshark {got:?}, decoded {want:?}"));
        }
    }

    /// The occurrences of `key` are the `0x..` flags `want`.
    pub fn flag_hexes(&mut self, key: &str, want: &[u8]) {
        let got: Vec<Option<u8>> = self
            .list(key)
            .into_iter()
            .map(|v| v.as_str().and_then(parse_flag))
            .collect();
        if got != want.iter().copied().map(Some).collect::<Vec<_>>() {
            self.fail(format!("{key}: tshark {got:?}, decoded {want:?}"));
        }
    }

    /// The differences, plus one for every field no check read.
    pub fn finish(mut self) -> Vec<String> {
        if let Some(fields) = self.fields {
            for key in fields.keys() {
                if !self.used.contains(key) {
                    self.errors.push(format!("{key}: not checked"));
                }
            }
        }
        self.errors
    }

    /// Takes over a nested object's differences, prefixed with where it sits.
    pub fn absorb(&mut self, at: &str, nested: Check<'_>) {
        self.errors
            .extend(nested.finish().into_iter().map(|e| format!("{at}.{e}")));
    }
}

/// tshark's `0x2e` flag notation.
pub fn parse_flag(s: &str) -> Option<u8> {
    u8::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unread_field_and_every_difference_is_reported() {
        let obj: Map<String, Value> =
            serde_json::from_str(r#"{"a":1,"b":"x","f":"0x2e","l":[1,2]}"#).unwrap();
        let mut c = Check::new(Some(&obj));
        c.int("a", 2);
        c.flag_hex("f", 0x2e);
        c.ints("l", &[1, 2]);
        let errors = c.finish();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("a: tshark"));
        assert_eq!(errors[1], "b: not checked");
        assert_eq!(Check::new(None).finish(), ["not a JSON object"]);
        assert_eq!(parse_flag("0xff"), Some(0xff));
        assert_eq!(parse_flag("ff"), None);
    }
}
