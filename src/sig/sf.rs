//! The subset of RFC 8941 Structured Field Values that HTTP signatures need:
//! dictionaries whose members are items or inner lists, with parameters.

use base64::Engine;

/// A bare item. Decimals are not supported (nothing here uses them).
#[derive(Debug, Clone, PartialEq)]
pub enum Bare {
    Int(i64),
    Str(String),
    Token(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// Parameters, in order; a repeated key is a parse error.
pub type Params = Vec<(String, Bare)>;

/// A dictionary member's value.
#[derive(Debug)]
pub enum Value {
    Item(Bare),
    Inner(Vec<(Bare, Params)>),
}

/// One dictionary member, with its value and parameters as received in `raw`.
#[derive(Debug)]
pub struct Member {
    pub key: String,
    pub value: Value,
    pub params: Params,
    pub raw: String,
}

/// A byte cursor over an ASCII header value.
pub struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    /// The next byte, if any.
    pub fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Whether all input is consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Consumes `b` if it is next.
    pub fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// Skips spaces and tabs.
    pub fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    /// Consumes a non-empty run of ASCII bytes matching `pred`.
    pub fn take(&mut self, pred: fn(u8) -> bool) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii() && pred(b)) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).filter(|s| !s.is_empty())
    }

    /// A quoted string: RFC 8941 rules when `sf` (printable ASCII, only `\"` and
    /// `\\` escapes), else RFC 7230's quoted-string (tab allowed, any escape).
    pub fn quoted(&mut self, sf: bool) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.next()? {
                b'"' => return Some(out),
                b'\\' => {
                    let escaped = self.next()?;
                    let allowed = if sf {
                        escaped == b'"' || escaped == b'\\'
                    } else {
                        escaped == b'\t' || (0x20..0x7f).contains(&escaped)
                    };
                    if !allowed {
                        return None;
                    }
                    out.push(char::from(escaped));
                }
                b'\t' if !sf => out.push('\t'),
                b @ 0x20..=0x7e => out.push(char::from(b)),
                _ => return None,
            }
        }
    }

    /// A key: lcalpha or "*", then lcalpha, digits, "_", "-", ".", "*".
    fn key(&mut self) -> Option<String> {
        let first = self.peek()?;
        if !(first.is_ascii_lowercase() || first == b'*') {
            return None;
        }
        self.take(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b))
            .map(str::to_string)
    }

    fn integer(&mut self) -> Option<i64> {
        let negative = self.eat(b'-');
        let digits = self.take(|b| b.is_ascii_digit())?;
        if digits.len() > 15 || self.peek() == Some(b'.') {
            return None;
        }
        let value: i64 = digits.parse().ok()?;
        Some(if negative { -value } else { value })
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        if !self.eat(b':') {
            return None;
        }
        let text = self
            .take(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            .unwrap_or_default();
        if !self.eat(b':') {
            return None;
        }
        super::LENIENT.decode(text).ok()
    }

    fn bare(&mut self) -> Option<Bare> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.integer().map(Bare::Int),
            b'"' => self.quoted(true).map(Bare::Str),
            b':' => self.bytes().map(Bare::Bytes),
            b'?' => {
                self.pos += 1;
                match self.next()? {
                    b'0' => Some(Bare::Bool(false)),
                    b'1' => Some(Bare::Bool(true)),
                    _ => None,
                }
            }
            b if b.is_ascii_alphabetic() || b == b'*' => self
                .take(|b| super::is_tchar(b) || b == b':' || b == b'/')
                .map(|t| Bare::Token(t.to_string())),
            _ => None,
        }
    }

    fn params(&mut self) -> Option<Params> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Bool(true)
            };
            if params.iter().any(|(k, _)| *k == key) {
                return None;
            }
            params.push((key, value));
        }
        Some(params)
    }

    fn inner_list(&mut self) -> Option<Vec<(Bare, Params)>> {
        if !self.eat(b'(') {
            return None;
        }
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Some(items);
            }
            let item = self.bare()?;
            items.push((item, self.params()?));
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return None;
            }
        }
    }

    /// One member's value (after the key) and parameters, with the raw text.
    fn member_value(&mut self) -> Option<(Value, Params, String)> {
        let has_value = self.eat(b'=');
        let start = self.pos;
        let value = match (has_value, self.peek()) {
            (false, _) => Value::Item(Bare::Bool(true)),
            (true, Some(b'(')) => Value::Inner(self.inner_list()?),
            (true, _) => Value::Item(self.bare()?),
        };
        let params = self.params()?;
        let raw = self.text.get(start..self.pos)?.to_string();
        Some((value, params, raw))
    }
}

/// Parses a dictionary; None on any syntax error. Members keep their order.
pub fn dictionary(text: &str) -> Option<Vec<Member>> {
    let mut cursor = Cursor::new(text);
    let mut members = Vec::new();
    cursor.skip_sp();
    if cursor.at_end() {
        return Some(members);
    }
    loop {
        let key = cursor.key()?;
        let (value, params, raw) = cursor.member_value()?;
        members.push(Member {
            key,
            value,
            params,
            raw,
        });
        cursor.skip_ows();
        if cursor.at_end() {
            return Some(members);
        }
        if !cursor.eat(b',') {
            return None;
        }
        cursor.skip_ows();
        if cursor.at_end() {
            return None;
        }
    }
}
