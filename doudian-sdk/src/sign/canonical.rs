//! A small JSON reader that keeps number literals as slices of the input, and the writers
//! of the canonical param_json text (PROTOCOL.md §2.2) plus the two HTML-escaping variants
//! the SPI verifier must also accept (§2.3, §7).
//!
//! Why a hand-written reader: `serde_json::Value` would need the `arbitrary_precision`
//! feature to keep `1.0` and integers beyond 64 bits, and that feature changes
//! `serde_json::Number` for the whole dependency graph. The reader borrows everything it can
//! (strings without escapes, all numbers), so canonicalising is one pass to build a small
//! tree and one pass to write it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// The deepest nesting param_json may have. The platform documents no limit and real
/// parameters nest fewer than ten levels; deeper documents are refused (with this number
/// in the error) rather than risking the stack.
pub(crate) const MAX_DEPTH: usize = 512;

/// A parsed JSON value. Objects keep their members in input order (duplicates included);
/// the writers decide the order.
#[derive(Debug)]
pub(crate) enum Node<'a> {
    /// `null`, `true`, `false` or a number, exactly as written in the input.
    Literal(&'a str),
    /// A string with its escapes decoded.
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<Member<'a>>),
}

#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub(crate) key: Cow<'a, str>,
    pub(crate) value: Node<'a>,
}

/// Why the text is not JSON, and where (byte offset into the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) offset: usize,
    pub(crate) reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

/// Parses one complete JSON document (surrounding whitespace allowed, nothing else).
pub(crate) fn parse(text: &str) -> Result<Node<'_>, ParseError> {
    let mut parser = Parser { text, bytes: text.as_bytes(), pos: 0 };
    let node = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos != parser.bytes.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError { offset: self.pos, reason }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, ParseError> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Node::Str),
            Some(b't') => self.keyword("true"),
            Some(b'f') => self.keyword("false"),
            Some(b'n') => self.keyword("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn keyword(&mut self, word: &'static str) -> Result<Node<'a>, ParseError> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word.as_bytes()) {
            let literal = &self.text[self.pos..end];
            self.pos = end;
            Ok(Node::Literal(literal))
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// RFC 8259 number grammar; the literal is kept verbatim.
    fn number(&mut self) -> Result<Node<'a>, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number: digits expected after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number: digits expected in the exponent"));
            }
        }
        Ok(Node::Literal(&self.text[start..self.pos]))
    }

    fn array(&mut self, depth: usize) -> Result<Node<'a>, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting deeper than 512 levels (the SDK's limit for param_json)"));
        }
        self.pos += 1; // `[`
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node<'a>, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting deeper than 512 levels (the SDK's limit for param_json)"));
        }
        self.pos += 1; // `{`
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            let value = self.value(depth)?;
            members.push(Member { key, value });
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// A string starting at the opening quote; borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match self.bytes.get(i) {
                None => {
                    self.pos = i;
                    return Err(self.error("unterminated string"));
                }
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.text[start..i]));
                }
                Some(b'\\') => {
                    self.pos = i;
                    return self.string_with_escapes(start).map(Cow::Owned);
                }
                Some(&b) if b < 0x20 => {
                    self.pos = i;
                    return Err(self.error("unescaped control character in string"));
                }
                Some(_) => i += 1,
            }
        }
    }

    /// Continues a string at its first backslash (`self.pos`), decoding escapes.
    fn string_with_escapes(&mut self, start: usize) -> Result<String, ParseError> {
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.text[start..self.pos]);
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(b) if b < 0x20 => return Err(self.error("unescaped control character in string")),
                Some(_) => {
                    // Copy a run of plain bytes; runs end at ASCII bytes, so at char boundaries.
                    let run = self.pos;
                    while let Some(b) = self.peek() {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    out.push_str(&self.text[run..self.pos]);
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let decoded = match self.bytes.get(self.pos + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(out),
            _ => return Err(self.error("invalid escape in string")),
        };
        out.push(decoded);
        self.pos += 2;
        Ok(())
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.bytes.get(at..at + 4)?;
        let mut value = 0;
        for &d in digits {
            value = value * 16 + (d as char).to_digit(16)?;
        }
        Some(value)
    }

    /// `\uXXXX`, combining a surrogate pair. A lone surrogate is rejected: it has no UTF-8
    /// form, and silently replacing it (as Go does, with U+FFFD) would sign altered data.
    fn unicode_escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let Some(unit) = self.hex4(self.pos + 2) else {
            return Err(self.error("invalid \\u escape: four hex digits expected"));
        };
        let code_point = match unit {
            0xD800..=0xDBFF => {
                let low_at = self.pos + 6;
                let low = match self.bytes.get(low_at..low_at + 2) {
                    Some(b"\\u") => self.hex4(low_at + 2),
                    _ => None,
                };
                match low {
                    Some(low @ 0xDC00..=0xDFFF) => {
                        self.pos += 6;
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    _ => return Err(self.error("lone surrogate in \\u escape")),
                }
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in \\u escape")),
            other => other,
        };
        // Every value left is a scalar value: surrogates were handled above.
        let Some(c) = char::from_u32(code_point) else {
            return Err(self.error("invalid \\u escape"));
        };
        out.push(c);
        self.pos += 6;
        Ok(())
    }
}

/// Which canonical text to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// PROTOCOL.md §2.2: what requests are signed and sent with.
    Standard,
    /// Go's default `json.Marshal` escaping: `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`
    /// (the official Go SPI verifier tries it first).
    GoHtml,
    /// The official Java SDK's gson form (§2.3): HTML-safe escaping of `< > & = '`, keys
    /// ordered by UTF-16 code units, and its array quirks.
    Gson,
    /// The official Python SDK's `json.dumps(..., ensure_ascii=False)`: U+2028 and U+2029
    /// stay raw (§10).
    PyRaw,
    /// The official PHP SDK's `json_encode` after `json_decode(…, true)` (§10): empty
    /// objects become `[]`, floats with a zero fraction lose it (`1.0` → `1`). (Its other
    /// quirks — numeric-looking keys left unsorted, integers beyond 64 bits as floats — are
    /// not reproduced.)
    Php,
}

impl Flavor {
    fn escapes(self) -> &'static [bool; 256] {
        match self {
            Flavor::Standard => &STANDARD_ESCAPES,
            Flavor::GoHtml => &GO_HTML_ESCAPES,
            Flavor::Gson => &GSON_ESCAPES,
            Flavor::PyRaw => &PY_RAW_ESCAPES,
            Flavor::Php => &STANDARD_ESCAPES,
        }
    }
}

/// Bytes that start an escape: controls, `"`, `\`, and 0xE2 (the lead byte of U+2028/9).
const fn escape_table(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0xE2] = true;
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

static STANDARD_ESCAPES: [bool; 256] = escape_table(b"");
static GO_HTML_ESCAPES: [bool; 256] = escape_table(b"<>&");
static GSON_ESCAPES: [bool; 256] = escape_table(b"<>&='");
static PY_RAW_ESCAPES: [bool; 256] = {
    let mut table = escape_table(b"");
    table[0xE2] = false;
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `s` as a JSON string literal with the flavour's escaping.
pub(crate) fn write_str(out: &mut String, s: &str, flavor: Flavor) {
    let table = flavor.escapes();
    let bytes = s.as_bytes();
    out.push('"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !table[b as usize] {
            i += 1;
            continue;
        }
        if b == 0xE2 {
            // U+2028 is E2 80 A8, U+2029 is E2 80 A9; other E2 sequences stay raw.
            if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) {
                out.push_str(&s[run..i]);
                out.push_str(if bytes[i + 2] == 0xA8 { "\\u2028" } else { "\\u2029" });
                i += 3;
                run = i;
            } else {
                i += 1;
            }
            continue;
        }
        out.push_str(&s[run..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                // Other controls and the HTML characters: \u00xx, lower-case hex.
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        i += 1;
        run = i;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn utf8_order(a: &str, b: &str) -> Ordering {
    a.as_bytes().cmp(b.as_bytes())
}

fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The members of an object in canonical order, duplicates resolved last-wins (as a Go map
/// or Java `JsonObject` built from the text would hold them).
fn sorted_members<'n, 'a>(members: &'n [Member<'a>], order: fn(&str, &str) -> Ordering) -> Vec<&'n Member<'a>> {
    let mut sorted: Vec<&Member<'a>> = members.iter().collect();
    // Stable: among equal keys the input order survives, so the last one is the winner.
    sorted.sort_by(|a, b| order(&a.key, &b.key));
    sorted.dedup_by(|later, earlier| {
        if later.key == earlier.key {
            *earlier = *later;
            true
        } else {
            false
        }
    });
    sorted
}

fn strictly_ascending(members: &[Member<'_>], order: fn(&str, &str) -> Ordering) -> bool {
    members.windows(2).all(|pair| order(&pair[0].key, &pair[1].key) == Ordering::Less)
}

/// Writes `node` in the flavour's canonical form.
pub(crate) fn write_canonical(out: &mut String, node: &Node<'_>, flavor: Flavor) {
    match node {
        Node::Literal(text) if flavor == Flavor::Php => out.push_str(&php_number(text)),
        Node::Literal(text) => out.push_str(text),
        Node::Str(s) => write_str(out, s, flavor),
        Node::Object(members) if members.is_empty() && flavor == Flavor::Php => out.push_str("[]"),
        Node::Array(items) => {
            if flavor == Flavor::Gson {
                write_gson_array(out, items);
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item, flavor);
            }
            out.push(']');
        }
        Node::Object(members) => {
            let order = if flavor == Flavor::Gson { utf16_order } else { utf8_order };
            out.push('{');
            if strictly_ascending(members, order) {
                // The common case (typed requests, sorted input): no extra allocation.
                for (i, member) in members.iter().enumerate() {
                    write_member(out, i, member, flavor);
                }
            } else {
                for (i, member) in sorted_members(members, order).into_iter().enumerate() {
                    write_member(out, i, member, flavor);
                }
            }
            out.push('}');
        }
    }
}

/// A number literal as PHP's `json_encode` writes the float it decoded: a zero fraction
/// is dropped (`1.0` → `1`, `2.50` → `2.5`); integers and everything else stay as written.
fn php_number(text: &str) -> Cow<'_, str> {
    let is_float = text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    match text.parse::<f64>() {
        Ok(value) if is_float && value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 => {
            Cow::Owned(format!("{}", value as i64))
        }
        Ok(value) if is_float && value.is_finite() && !text.contains(['e', 'E']) => Cow::Owned(format!("{value}")),
        _ => Cow::Borrowed(text),
    }
}

fn write_member(out: &mut String, index: usize, member: &Member<'_>, flavor: Flavor) {
    if index > 0 {
        out.push(',');
    }
    write_str(out, &member.key, flavor);
    out.push(':');
    write_canonical(out, &member.value, flavor);
}

/// gson's `SignUtil.sortParamJson`: an array is descended into only when it is non-empty and
/// its first element is an object, and then only its object elements survive; any other
/// array is written as parsed (objects inside keep their input key order).
fn write_gson_array(out: &mut String, items: &[Node<'_>]) {
    out.push('[');
    if let Some(Node::Object(_)) = items.first() {
        let objects = items.iter().filter(|item| matches!(item, Node::Object(_)));
        for (i, item) in objects.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_canonical(out, item, Flavor::Gson);
        }
    } else {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_gson_as_parsed(out, item);
        }
    }
    out.push(']');
}

/// gson re-serialising a parsed tree unchanged: input key order, a duplicate key keeps the
/// position of its first occurrence with the last value (`LinkedTreeMap.put`).
fn write_gson_as_parsed(out: &mut String, node: &Node<'_>) {
    match node {
        Node::Literal(text) => out.push_str(text),
        Node::Str(s) => write_str(out, s, Flavor::Gson),
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_gson_as_parsed(out, item);
            }
            out.push(']');
        }
        Node::Object(members) => {
            out.push('{');
            let mut written = 0;
            for (i, member) in members.iter().enumerate() {
                if members[..i].iter().any(|earlier| earlier.key == member.key) {
                    continue;
                }
                let winner = members.iter().rev().find(|m| m.key == member.key).unwrap_or(member);
                if written > 0 {
                    out.push(',');
                }
                write_str(out, &winner.key, Flavor::Gson);
                out.push(':');
                write_gson_as_parsed(out, &winner.value);
                written += 1;
            }
            out.push('}');
        }
    }
}

/// Canonical text of a parsed tree.
pub(crate) fn to_string(node: &Node<'_>, flavor: Flavor, size_hint: usize) -> String {
    let mut out = String::with_capacity(size_hint + 2);
    write_canonical(&mut out, node, flavor);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        to_string(&parse(text).unwrap(), Flavor::Standard, text.len())
    }

    #[test]
    fn numbers_are_copied_verbatim() {
        assert_eq!(
            canon("[1.0,1e5,1E+05,-0,0.5e-3,123456789012345678901234567890]"),
            "[1.0,1e5,1E+05,-0,0.5e-3,123456789012345678901234567890]"
        );
    }

    #[test]
    fn malformed_numbers_are_rejected() {
        for bad in ["01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "NaN", "Infinity"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn malformed_documents_are_rejected_with_an_offset() {
        for (bad, offset) in [
            ("{", 1),
            ("{\"a\"}", 4),
            ("{\"a\":1,}", 7),
            ("[1,]", 3),
            ("{\"a\":1} x", 8),
            ("\"abc", 4),
            ("\"a\u{1}\"", 2),
            ("\"\\x\"", 1),
            ("\"\\u12\"", 1),
            ("\"\\ud800\"", 1),
            ("\"\\udc00x\"", 1),
            ("\"\\ud800\\u0041\"", 1),
            ("tru", 0),
            ("{a:1}", 1),
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.offset, offset, "{bad}: {err}");
        }
    }

    #[test]
    fn control_bytes_are_refused_after_an_escape_too() {
        // Before the first escape the borrowed scan checks; after it, the decoding loop does
        // (at the start of a run and inside one).
        for (bad, offset) in [("\"\\n\u{1}\"", 3), ("\"\\nab\u{1f}\"", 5), ("\"a\\t\n\"", 4)] {
            let err = parse(bad).unwrap_err();
            assert_eq!((err.offset, err.reason), (offset, "unescaped control character in string"), "{bad:?}");
        }
        // A space (0x20) and DEL are not control characters, before or after an escape.
        assert_eq!(canon("[\" \\n \u{7f} x\"]"), "[\" \\n \u{7f} x\"]");
        assert_eq!(canon("[\"\\\"\u{7f}\"]"), "[\"\\\"\u{7f}\"]");
        // An escaped string left unterminated.
        let err = parse("\"\\nab").unwrap_err();
        assert_eq!((err.offset, err.reason), (5, "unterminated string"));
    }

    #[test]
    fn nesting_is_limited_for_arrays_and_objects_and_the_error_says_the_limit() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let error = parse(&deep).unwrap_err();
        assert!(error.to_string().contains("deeper than 512 levels"), "{error}");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(canon(&ok), ok, "the deepest allowed document canonicalises (and does not overflow the stack)");
        let objects = |n: usize| "{\"a\":".repeat(n) + "1" + &"}".repeat(n);
        assert!(parse(&objects(MAX_DEPTH + 1)).is_err());
        assert!(parse(&objects(MAX_DEPTH)).is_ok());
        // Mixed: the depth counts objects and arrays together.
        let mixed = "[{\"a\":".repeat(MAX_DEPTH / 2) + "[1]" + &"}]".repeat(MAX_DEPTH / 2);
        assert!(parse(&mixed).is_err());
    }

    #[test]
    fn python_and_php_flavours() {
        let node = parse("{\"s\":\"a\\u2028b\",\"e\":{},\"l\":[],\"f\":1.0,\"g\":2.50,\"h\":1e3,\"i\":7}").unwrap();
        assert_eq!(
            to_string(&node, Flavor::PyRaw, 0),
            "{\"e\":{},\"f\":1.0,\"g\":2.50,\"h\":1e3,\"i\":7,\"l\":[],\"s\":\"a\u{2028}b\"}"
        );
        assert_eq!(to_string(&node, Flavor::Php, 0), r#"{"e":[],"f":1,"g":2.5,"h":1000,"i":7,"l":[],"s":"a\u2028b"}"#);
    }

    #[test]
    fn php_flavour_rewrites_only_plain_floats() {
        // Integers stay exact beyond f64; exponent forms stay as written.
        let node = parse(r#"{"a":12345678901234567890,"b":1.5e300,"c":-0.250,"d":2E3,"e":1e15,"f":1e14}"#).unwrap();
        assert_eq!(
            to_string(&node, Flavor::Php, 0),
            r#"{"a":12345678901234567890,"b":1.5e300,"c":-0.25,"d":2000,"e":1e15,"f":100000000000000}"#
        );
    }

    #[test]
    fn surrogate_pairs_decode_to_raw_utf8() {
        assert_eq!(canon(r#"["\ud83d\ude00","\u00e9","\/"]"#), "[\"😀\",\"é\",\"/\"]");
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert_eq!(canon(r#"{"b":1,"a":1,"b":2}"#), r#"{"a":1,"b":2}"#);
        assert_eq!(canon(r#"{"a":1,"a":2,"a":3}"#), r#"{"a":3}"#);
    }

    #[test]
    fn gson_flavour() {
        let node = parse(r#"{"b":"<&>='","a":[1,{"z":1,"y":2}],"c":[{"z":1,"y":2},3,{"b":1}]}"#).unwrap();
        assert_eq!(
            to_string(&node, Flavor::Gson, 0),
            r#"{"a":[1,{"z":1,"y":2}],"b":"\u003c\u0026\u003e\u003d\u0027","c":[{"y":2,"z":1},{"b":1}]}"#
        );
        assert_eq!(
            to_string(&node, Flavor::GoHtml, 0),
            r#"{"a":[1,{"y":2,"z":1}],"b":"\u003c\u0026\u003e='","c":[{"y":2,"z":1},3,{"b":1}]}"#
        );
    }

    #[test]
    fn gson_key_order_is_utf16() {
        // U+FF21 (BMP, above the surrogates) vs U+1F600 (encoded with surrogates 0xD83D...):
        // UTF-8 puts U+FF21 first, UTF-16 puts the emoji first.
        let node = parse("{\"\u{FF21}\":1,\"\u{1F600}\":2}").unwrap();
        assert_eq!(to_string(&node, Flavor::Standard, 0), "{\"\u{FF21}\":1,\"\u{1F600}\":2}");
        assert_eq!(to_string(&node, Flavor::Gson, 0), "{\"\u{1F600}\":2,\"\u{FF21}\":1}");
    }

    #[test]
    fn gson_as_parsed_duplicates_keep_first_position() {
        let node = parse(r#"[{"b":1,"a":2,"b":3}]"#).unwrap();
        // First element is an object, so it is sorted.
        assert_eq!(to_string(&node, Flavor::Gson, 0), r#"[{"a":2,"b":3}]"#);
        let node = parse(r#"[1,{"b":1,"a":2,"b":3}]"#).unwrap();
        assert_eq!(to_string(&node, Flavor::Gson, 0), r#"[1,{"b":3,"a":2}]"#);
        // Arrays inside an array written as parsed keep their elements and order.
        let node = parse(r#"{"k":[[3,1,2],[],[{"z":1,"y":[5,4]}]]}"#).unwrap();
        assert_eq!(to_string(&node, Flavor::Gson, 0), r#"{"k":[[3,1,2],[],[{"z":1,"y":[5,4]}]]}"#);
    }
}
