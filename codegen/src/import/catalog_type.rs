//! The catalog's type expressions (`list<object:ShopOrderListItem>`, `map<any,any>`) as a
//! tree, so that the importer can normalise them and settle disagreements between copies
//! by the wider type.

use std::fmt;

/// A catalog type: the spec's types plus the class name of each object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogType {
    /// `string`, `i32`, `i64`, `f64`, `bool`.
    Scalar(Scalar),
    /// Any JSON value.
    Any,
    /// `object:<Class>`.
    Object(String),
    /// `list<T>`.
    List(Box<CatalogType>),
    /// `map<K,V>`; `K` as written (`string`, `i32`, `i64`, or `any` before [`normalised`]).
    Map(String, Box<CatalogType>),
}

/// The scalar types, ordered so that a number type is wider than the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scalar {
    I32,
    I64,
    F64,
    String,
    Bool,
}

impl CatalogType {
    /// Parses a catalog type; `None` when it is not one (the importer then keeps the text).
    pub fn parse(text: &str) -> Option<CatalogType> {
        let (ty, rest) = parse_prefix(text)?;
        rest.is_empty().then_some(ty)
    }

    /// Map keys the source leaves untyped (`map<any,V>`) become text keys: JSON object
    /// keys are always text. Returns whether anything changed.
    pub fn normalise_keys(&mut self) -> bool {
        match self {
            CatalogType::List(inner) => inner.normalise_keys(),
            CatalogType::Map(key, inner) => {
                let changed = key == "any";
                if changed {
                    *key = "string".to_owned();
                }
                inner.normalise_keys() | changed
            }
            _ => false,
        }
    }

    /// The narrowest type that decodes every value of both: any ⊇ string ⊇ number
    /// (f64 ⊇ i64 ⊇ i32), element-wise through lists and maps; anything else is `any`.
    pub fn wider(&self, other: &CatalogType) -> CatalogType {
        use CatalogType::*;
        match (self, other) {
            (a, b) if a == b => a.clone(),
            (Scalar(a), Scalar(b)) if a.is_number() && b.is_number() => Scalar(*a.max(b)),
            (Scalar(a), Scalar(b)) if a.is_text_or_number() && b.is_text_or_number() => Scalar(self::Scalar::String),
            (List(a), List(b)) => List(Box::new(a.wider(b))),
            (Map(ka, a), Map(kb, b)) => {
                let key = if ka == kb { ka.clone() } else { "string".to_owned() };
                Map(key, Box::new(a.wider(b)))
            }
            _ => Any,
        }
    }
}

impl CatalogType {
    /// For a value the SDK sends: where one side leaves a position open (`any`), the other
    /// side's type, which both accept; elsewhere [`wider`](Self::wider).
    pub fn sendable(&self, other: &CatalogType) -> CatalogType {
        use CatalogType::*;
        match (self, other) {
            (Any, t) | (t, Any) => t.clone(),
            (List(a), List(b)) => List(Box::new(a.sendable(b))),
            (Map(ka, a), Map(kb, b)) if ka == kb => Map(ka.clone(), Box::new(a.sendable(b))),
            (a, b) => a.wider(b),
        }
    }
}

impl Scalar {
    fn is_number(self) -> bool {
        matches!(self, Scalar::I32 | Scalar::I64 | Scalar::F64)
    }

    fn is_text_or_number(self) -> bool {
        self != Scalar::Bool
    }
}

fn parse_prefix(text: &str) -> Option<(CatalogType, &str)> {
    let word_len = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    let (word, rest) = text.split_at(word_len);
    let scalar = |s| Some((CatalogType::Scalar(s), rest));
    match word {
        "string" => scalar(Scalar::String),
        "i32" => scalar(Scalar::I32),
        "i64" => scalar(Scalar::I64),
        "f64" => scalar(Scalar::F64),
        "bool" => scalar(Scalar::Bool),
        "any" => Some((CatalogType::Any, rest)),
        "object" => {
            let rest = rest.strip_prefix(':')?;
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            (len > 0).then(|| (CatalogType::Object(rest[..len].to_owned()), &rest[len..]))
        }
        "list" => {
            let (inner, rest) = parse_prefix(rest.strip_prefix('<')?)?;
            Some((CatalogType::List(Box::new(inner)), rest.strip_prefix('>')?))
        }
        "map" => {
            let rest = rest.strip_prefix('<')?;
            let comma = rest.find(',')?;
            let key = &rest[..comma];
            if !["string", "i32", "i64", "any"].contains(&key) {
                return None;
            }
            let (inner, rest) = parse_prefix(&rest[comma + 1..])?;
            Some((CatalogType::Map(key.to_owned(), Box::new(inner)), rest.strip_prefix('>')?))
        }
        _ => None,
    }
}

impl fmt::Display for CatalogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogType::Scalar(s) => f.write_str(match s {
                Scalar::String => "string",
                Scalar::I32 => "i32",
                Scalar::I64 => "i64",
                Scalar::F64 => "f64",
                Scalar::Bool => "bool",
            }),
            CatalogType::Any => f.write_str("any"),
            CatalogType::Object(class) => write!(f, "object:{class}"),
            CatalogType::List(inner) => write!(f, "list<{inner}>"),
            CatalogType::Map(key, inner) => write!(f, "map<{key},{inner}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> CatalogType {
        CatalogType::parse(text).unwrap_or_else(|| panic!("{text} parses"))
    }

    #[test]
    fn parses_and_prints() {
        for text in ["i64", "any", "object:X_4", "list<object:Item>", "map<i64,list<object:Item>>", "map<any,any>"] {
            assert_eq!(ty(text).to_string(), text);
        }
        for bad in ["", "object", "object:", "list<i64", "map<bool,i64>", "i65", "list<i64>>"] {
            assert_eq!(CatalogType::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn untyped_map_keys_become_text() {
        let mut t = ty("list<map<any,map<any,i64>>>");
        assert!(t.normalise_keys());
        assert_eq!(t.to_string(), "list<map<string,map<string,i64>>>");
        let mut kept = ty("map<i64,any>");
        assert!(!kept.normalise_keys());
        assert_eq!(kept.to_string(), "map<i64,any>");
    }

    #[test]
    fn sendable_type_is_what_both_accept() {
        let cases = [
            ("string", "any", "string"),
            ("map<i64,list<object:X>>", "map<i64,any>", "map<i64,list<object:X>>"),
            ("map<i64,object:P>", "map<i64,list<object:P>>", "map<i64,any>"),
            ("i64", "string", "string"),
        ];
        for (a, b, sent) in cases {
            assert_eq!(ty(a).sendable(&ty(b)).to_string(), sent, "{a} / {b}");
            assert_eq!(ty(b).sendable(&ty(a)).to_string(), sent, "{b} / {a}");
        }
    }

    #[test]
    fn wider_type_decodes_both() {
        let cases = [
            ("i32", "f64", "f64"),
            ("i64", "i32", "i64"),
            ("i64", "string", "string"),
            ("string", "f64", "string"),
            ("bool", "string", "any"),
            ("string", "any", "any"),
            ("map<string,list<string>>", "map<string,any>", "map<string,any>"),
            ("map<i64,object:P>", "map<i64,list<object:P>>", "map<i64,any>"),
            ("list<i32>", "list<i64>", "list<i64>"),
            ("object:A", "object:A", "object:A"),
            ("object:A", "object:B", "any"),
            ("object:A", "list<object:A>", "any"),
        ];
        for (a, b, wide) in cases {
            assert_eq!(ty(a).wider(&ty(b)).to_string(), wide, "{a} ∨ {b}");
            assert_eq!(ty(b).wider(&ty(a)).to_string(), wide, "{b} ∨ {a}");
        }
    }
}
