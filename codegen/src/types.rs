//! Type expressions of the spec: `string`, `i32`, `i64`, `f64`, `bool`, `any`, `object`,
//! `list<T>`, `map<K,V>`.

use std::fmt;

/// A parsed type expression. `Object` stands for the object described by the field's
/// own `fields`; at most one appears in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// A JSON string.
    String,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer (IDs included).
    I64,
    /// A float.
    F64,
    /// A boolean.
    Bool,
    /// Any JSON value (shape unknown).
    Any,
    /// The object described by `fields`.
    Object,
    /// A JSON array.
    List(Box<TypeExpr>),
    /// A JSON object with arbitrary keys; the key type is kept for documentation only
    /// (JSON keys are strings on the wire).
    Map(MapKey, Box<TypeExpr>),
}

/// The declared key type of a `map<K,V>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKey {
    /// `string`
    String,
    /// `i32`
    I32,
    /// `i64`
    I64,
}

impl TypeExpr {
    /// Parses a type expression; the error says what is wrong.
    pub fn parse(text: &str) -> Result<TypeExpr, String> {
        let mut parser = Parser { text, pos: 0 };
        let ty = parser.ty()?;
        if parser.pos != text.len() {
            return Err(format!("unknown type `{text}`: unexpected `{}`", &text[parser.pos..]));
        }
        Ok(ty)
    }

    /// Whether the expression contains `object`.
    pub fn has_object(&self) -> bool {
        match self {
            TypeExpr::Object => true,
            TypeExpr::List(inner) | TypeExpr::Map(_, inner) => inner.has_object(),
            _ => false,
        }
    }

    /// Whether the expression is an integer.
    pub fn is_integer(&self) -> bool {
        matches!(self, TypeExpr::I32 | TypeExpr::I64)
    }

    /// The path suffix this type adds below a field: `[]` per list level, `{}` per map level.
    pub fn path_suffix(&self) -> String {
        let mut suffix = String::new();
        let mut ty = self;
        loop {
            match ty {
                TypeExpr::List(inner) => {
                    suffix.push_str("[]");
                    ty = inner;
                }
                TypeExpr::Map(_, inner) => {
                    suffix.push_str("{}");
                    ty = inner;
                }
                _ => return suffix,
            }
        }
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::String => f.write_str("string"),
            TypeExpr::I32 => f.write_str("i32"),
            TypeExpr::I64 => f.write_str("i64"),
            TypeExpr::F64 => f.write_str("f64"),
            TypeExpr::Bool => f.write_str("bool"),
            TypeExpr::Any => f.write_str("any"),
            TypeExpr::Object => f.write_str("object"),
            TypeExpr::List(inner) => write!(f, "list<{inner}>"),
            TypeExpr::Map(key, inner) => {
                let key = match key {
                    MapKey::String => "string",
                    MapKey::I32 => "i32",
                    MapKey::I64 => "i64",
                };
                write!(f, "map<{key},{inner}>")
            }
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn word(&mut self) -> &str {
        let rest = &self.text[self.pos..];
        let len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.text[self.pos..].starts_with(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("unknown type `{}`: expected `{c}` at offset {}", self.text, self.pos))
        }
    }

    fn ty(&mut self) -> Result<TypeExpr, String> {
        let word = self.word().to_owned();
        Ok(match word.as_str() {
            "string" => TypeExpr::String,
            "i32" => TypeExpr::I32,
            "i64" => TypeExpr::I64,
            "f64" => TypeExpr::F64,
            "bool" => TypeExpr::Bool,
            "any" => TypeExpr::Any,
            "object" => TypeExpr::Object,
            "list" => {
                self.expect('<')?;
                let inner = self.ty()?;
                self.expect('>')?;
                TypeExpr::List(Box::new(inner))
            }
            "map" => {
                self.expect('<')?;
                let key_word = self.word().to_owned();
                let key = match key_word.as_str() {
                    "string" => MapKey::String,
                    "i32" => MapKey::I32,
                    "i64" => MapKey::I64,
                    other => {
                        return Err(format!(
                            "unknown type `{}`: map keys are string, i32 or i64, not `{other}`",
                            self.text
                        ))
                    }
                };
                self.expect(',')?;
                let inner = self.ty()?;
                self.expect('>')?;
                TypeExpr::Map(key, Box::new(inner))
            }
            _ => return Err(format!("unknown type `{}`", self.text)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for text in [
            "string",
            "i32",
            "i64",
            "f64",
            "bool",
            "any",
            "object",
            "list<i64>",
            "list<object>",
            "map<string,bool>",
            "map<i64,list<object>>",
            "list<list<string>>",
        ] {
            assert_eq!(TypeExpr::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_unknown_and_malformed_types() {
        for text in
            ["i65", "list<i64", "list<>", "map<bool,i64>", "map<string>", "object:Foo", "", "list<i64>>", " i64"]
        {
            assert!(TypeExpr::parse(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn path_suffix_marks_lists_and_maps() {
        assert_eq!(TypeExpr::parse("list<object>").unwrap().path_suffix(), "[]");
        assert_eq!(TypeExpr::parse("map<i64,list<object>>").unwrap().path_suffix(), "{}[]");
        assert_eq!(TypeExpr::parse("object").unwrap().path_suffix(), "");
    }
}
