//! Just enough JSON to check a `tern mqtt sub --json` line field by field: std has no parser,
//! xtask takes no dependencies, and comparing the text would tie the suite to one spacing and one
//! key order.

/// A parsed JSON value. Numbers stay text: the suite only compares small integers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses one value, allowing whitespace around it and nothing else.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            at: 0,
        };
        let value = parser.value()?;
        parser.skip_ws();
        if parser.at != parser.chars.len() {
            return Err(format!("trailing characters at {}", parser.at));
        }
        Ok(value)
    }

    /// The value of `key` when this is an object that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or("unexpected end of input")?;
        self.at += 1;
        Ok(c)
    }

    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            self.at += 1;
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.next()? {
            c if c == want => Ok(()),
            c => Err(format!("expected `{want}` at {}, found `{c}`", self.at - 1)),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        for want in word.chars() {
            self.expect(want)?;
        }
        Ok(value)
    }

    fn value(&mut self) -> Result<Json, String> {
        self.skip_ws();
        match self.peek().ok_or("unexpected end of input")? {
            '{' => self.object(),
            '[' => self.array(),
            '"' => self.string().map(Json::String),
            't' => self.literal("true", Json::Bool(true)),
            'f' => self.literal("false", Json::Bool(false)),
            'n' => self.literal("null", Json::Null),
            c if c == '-' || c.is_ascii_digit() => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(c))
                {
                    self.at += 1;
                }
                Ok(Json::Number(self.chars[start..self.at].iter().collect()))
            }
            c => Err(format!("unexpected `{c}` at {}", self.at)),
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.expect('{')?;
        let mut fields = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.at += 1;
            return Ok(Json::Object(fields));
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(':')?;
            fields.push((key, self.value()?));
            self.skip_ws();
            match self.next()? {
                ',' => {}
                '}' => return Ok(Json::Object(fields)),
                c => {
                    return Err(format!(
                        "expected `,` or `}}` at {}, found `{c}`",
                        self.at - 1
                    ));
                }
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.expect('[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.next()? {
                ',' => {}
                ']' => return Ok(Json::Array(items)),
                c => {
                    return Err(format!(
                        "expected `,` or `]` at {}, found `{c}`",
                        self.at - 1
                    ));
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut text = String::new();
        loop {
            match self.next()? {
                '"' => return Ok(text),
                '\\' => match self.next()? {
                    '"' => text.push('"'),
                    '\\' => text.push('\\'),
                    '/' => text.push('/'),
                    'b' => text.push('\u{8}'),
                    'f' => text.push('\u{c}'),
                    'n' => text.push('\n'),
                    'r' => text.push('\r'),
                    't' => text.push('\t'),
                    'u' => {
                        let high = self.hex4()?;
                        let code = if (0xD800..0xDC00).contains(&high) {
                            self.expect('\\')?;
                            self.expect('u')?;
                            let low = self.hex4()?;
                            0x10000 + ((high - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF)
                        } else {
                            high
                        };
                        text.push(char::from_u32(code).ok_or("invalid \\u escape")?);
                    }
                    c => return Err(format!("invalid escape `\\{c}`")),
                },
                c => text.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.next()?.to_digit(16).ok_or("invalid \\u escape")?;
            value = value * 16 + digit;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_line() {
        let line = r#"{"topic":"a/b", "qos" : 1,"retain":true,"payload":"h\u00e9 \"x\"\n","properties":[{"user-property":["k","v"]}]}"#;
        let json = Json::parse(line).expect("valid");
        assert_eq!(json.get("topic"), Some(&Json::String("a/b".into())));
        assert_eq!(json.get("qos"), Some(&Json::Number("1".into())));
        assert_eq!(json.get("retain"), Some(&Json::Bool(true)));
        assert_eq!(
            json.get("payload"),
            Some(&Json::String("hé \"x\"\n".into()))
        );
        assert!(matches!(json.get("properties"), Some(Json::Array(a)) if a.len() == 1));
        assert_eq!(json.get("missing"), None);
    }

    #[test]
    fn surrogate_pairs_and_literals() {
        assert_eq!(
            Json::parse(r#""\ud83d\ude00""#),
            Ok(Json::String("😀".into()))
        );
        assert_eq!(
            Json::parse(" [null, false, -1.5e3] "),
            Ok(Json::Array(vec![
                Json::Null,
                Json::Bool(false),
                Json::Number("-1.5e3".into())
            ]))
        );
        assert_eq!(Json::parse("{}"), Ok(Json::Object(vec![])));
    }

    #[test]
    fn rejects() {
        assert!(Json::parse("").is_err());
        assert!(Json::parse("{\"a\":1} x").is_err());
        assert!(Json::parse("{\"a\" 1}").is_err());
        assert!(Json::parse("[1,]").is_err());
        assert!(Json::parse("\"open").is_err());
        assert!(Json::parse("tru").is_err());
    }
}
