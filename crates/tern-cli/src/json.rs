//! JSON output whose objects keep their keys in the order written, so that a person reading a
//! line sees the most telling fields first (`"type"` before the rest) and fields in wire order.
//!
//! serde_json's own `Value` sorts keys unless its `preserve_order` feature is on, and that
//! feature brings in indexmap and a Zlib-licensed hasher; the few lines here avoid both.
//! serde_json still does the string escaping.

use std::fmt;

use crate::hex;

/// A JSON value whose objects keep their keys in the order they were written. `Display`
/// writes compact JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Json {
    /// `null`: a field whose value is unknown, such as the name of an unregistered code.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer: every number in an MQTT or CoAP message is one.
    Number(u64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in order.
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    /// The same value as a `serde_json::Value` (key order is lost), for assertions.
    #[cfg(test)]
    pub(crate) fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::from(*n),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => items.iter().map(Json::to_value).collect(),
            Json::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => write!(f, "{n}"),
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Writes `s` as a JSON string literal, escaped as serde_json escapes it.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "{}", serde_json::Value::from(s))
}

macro_rules! json_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Json {
                Json::Number(n as u64)
            }
        }
    )*};
}
json_from!(u8, u16, u32, usize);

/// `None` is `null`.
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_owned())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::String(s)
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Json {
        Json::Array(items)
    }
}

impl FromIterator<Json> for Json {
    fn from_iter<I: IntoIterator<Item = Json>>(iter: I) -> Json {
        Json::Array(iter.into_iter().collect())
    }
}

/// Bytes of an application payload (MQTT PUBLISH and Will, CoAP message) as
/// `{"hex", "text", "length"}`, `text` only when the bytes are UTF-8.
pub(crate) fn payload(bytes: &[u8]) -> Json {
    let mut o = Object::new();
    o.put("hex", hex::encode(bytes));
    if let Ok(text) = std::str::from_utf8(bytes) {
        o.put("text", text);
    }
    o.put("length", bytes.len());
    o.into()
}

/// Builds a [`Json::Object`].
pub(crate) struct Object(Vec<(&'static str, Json)>);

impl Object {
    /// An empty object.
    pub(crate) fn new() -> Self {
        Object(Vec::new())
    }

    /// Appends `key` with `value`.
    pub(crate) fn put(&mut self, key: &'static str, value: impl Into<Json>) {
        self.0.push((key, value.into()));
    }

    /// Appends `key` with `value`, builder style.
    pub(crate) fn with(mut self, key: &'static str, value: impl Into<Json>) -> Self {
        self.put(key, value);
        self
    }
}

impl From<Object> for Json {
    fn from(o: Object) -> Json {
        Json::Object(o.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_containers() {
        assert_eq!(Json::Array(vec![]).to_string(), "[]");
        assert_eq!(Json::Object(vec![]).to_string(), "{}");
        assert_eq!(Json::from(u32::MAX).to_string(), "4294967295");
    }

    #[test]
    fn null_and_options() {
        assert_eq!(Json::Null.to_string(), "null");
        assert_eq!(Json::from(None::<&str>).to_string(), "null");
        assert_eq!(Json::from(Some(7u8)).to_string(), "7");
    }

    #[test]
    fn payload_text_only_when_utf8() {
        use serde_json::json;
        let payload = |bytes: &[u8]| payload(bytes).to_value();
        assert_eq!(payload(b""), json!({"hex": "", "text": "", "length": 0}));
        assert_eq!(
            payload("héllo".as_bytes()),
            json!({"hex": "68c3a96c6c6f", "text": "héllo", "length": 6})
        );
        assert_eq!(payload(b"\xc3"), json!({"hex": "c3", "length": 1}));
    }

    #[test]
    fn objects_keep_their_order_and_strings_are_escaped() {
        let o: Json = Object::new()
            .with("z", 1u8)
            .with("a", "q\"\\\u{1}\né")
            .with("m", vec![Json::from(true), Object::new().into()])
            .into();
        assert_eq!(
            o.to_string(),
            r#"{"z":1,"a":"q\"\\\u0001\né","m":[true,{}]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&o.to_string()).unwrap();
        assert_eq!(parsed, o.to_value());
    }
}
