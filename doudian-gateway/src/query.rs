//! The URL query of a call: `app_key`, `method`, `v`, `timestamp`, `sign`, `sign_method`,
//! `access_token` (PROTOCOL.md §1). Values are percent-decoded (`+` is a space, as GO's
//! `url.Values.Encode` writes it); JAVA inserts them unencoded, which decodes to itself.

/// The decoded query pairs of one request, first occurrence wins on lookup.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query { pairs }
    }

    /// The value of `name`, if present (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of `name` when present and not empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` and `+`; a malformed escape is kept literally; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(text: &str) -> String {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_values() {
        let q = Query::parse(Some("app_key=7&timestamp=2023-11-15+06%3A13%3A20&sign=&x&bad=%zz%4"));
        assert_eq!(q.get("app_key"), Some("7"));
        assert_eq!(q.get("timestamp"), Some("2023-11-15 06:13:20"));
        assert_eq!(q.get("sign"), Some(""));
        assert_eq!(q.non_empty("sign"), None);
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.get("bad"), Some("%zz%4"));
        assert_eq!(q.get("missing"), None);
        assert_eq!(percent_decode("%E6%8A%96"), "抖");
        assert_eq!(Query::parse(None).get("a"), None);
    }
}
