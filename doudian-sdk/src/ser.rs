//! How the generated structs serialise: each implements [`Object`] with one plain call per
//! field into a [`Fields`] sink, and its `Serialize` calls [`object`].
//!
//! serde's derive would write, per field, a length term, a skip test, a `?` and, for a field
//! with `serialize_with`, a wrapper type with its own impl. With some 3,000 generated
//! structs that was most of the crate's type-checking and borrow-checking time. Here the
//! sink keeps the first error, so the generated walk has no `Result` plumbing, and the
//! skip rules and wire forms live once, in this module, [`crate::ids`] and [`crate::codes`].
//!
//! Fields are written in the order the walk names them (the generator sorts them by wire
//! name, so the output is already in canonical key order); a struct is written as a JSON
//! object, absent optional fields left out.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;

/// A generated struct: the fields it writes, in order.
pub trait Object {
    /// Writes each field into `out`.
    fn fields<M: SerializeMap>(&self, out: &mut Fields<M>);
}

/// Serialises a generated struct (its `Serialize` impl calls this).
pub fn object<T: Object + ?Sized, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let mut out = Fields { map: serializer.serialize_map(None)?, error: None };
    value.fields(&mut out);
    match out.error {
        Some(error) => Err(error),
        None => out.map.end(),
    }
}

/// The object being written; after the first failure every later field is skipped and the
/// failure is what [`object`] returns.
pub struct Fields<M: SerializeMap> {
    map: M,
    error: Option<M::Error>,
}

impl<M: SerializeMap> Fields<M> {
    /// Writes `key: value`.
    pub fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) {
        if self.error.is_none() {
            if let Err(error) = self.map.serialize_entry(key, value) {
                self.error = Some(error);
            }
        }
    }

    /// Writes `key: value` unless the value is absent ([`Absent`]): `None`, and for
    /// optional request collections an empty list or map, or a JSON `null`.
    pub fn present<T: Serialize + Absent + ?Sized>(&mut self, key: &'static str, value: &T) {
        if !value.is_absent() {
            self.field(key, value);
        }
    }
}

/// A value that is left out of its object rather than written (see [`Fields::present`]).
pub trait Absent {
    /// Whether the field is left out.
    fn is_absent(&self) -> bool;
}

impl<T> Absent for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> Absent for Vec<T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

impl<T> Absent for BTreeMap<String, T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

impl Absent for serde_json::Value {
    fn is_absent(&self) -> bool {
        self.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::ser::Error as _;

    struct Demo {
        b: Option<i64>,
        a: Vec<String>,
        c: serde_json::Value,
        d: BTreeMap<String, bool>,
        e: Option<Failing>,
    }

    struct Failing;

    impl Serialize for Failing {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("refused"))
        }
    }

    impl Object for Demo {
        fn fields<M: SerializeMap>(&self, out: &mut Fields<M>) {
            out.present("a", &self.a);
            out.field("b", &self.b);
            out.present("c", &self.c);
            out.present("d", &self.d);
            out.present("e", &self.e);
        }
    }

    impl Serialize for Demo {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            object(self, serializer)
        }
    }

    fn demo() -> Demo {
        Demo { b: None, a: Vec::new(), c: serde_json::Value::Null, d: BTreeMap::new(), e: None }
    }

    #[test]
    fn absent_fields_are_left_out_and_present_ones_written_in_order() {
        assert_eq!(serde_json::to_string(&demo()).unwrap(), r#"{"b":null}"#);
        let full = Demo {
            b: Some(7),
            a: vec!["x".into()],
            c: serde_json::json!({"k": 1}),
            d: BTreeMap::from([("w".to_owned(), true)]),
            e: None,
        };
        assert_eq!(serde_json::to_string(&full).unwrap(), r#"{"a":["x"],"b":7,"c":{"k":1},"d":{"w":true}}"#);
    }

    #[test]
    fn the_first_failure_is_the_result() {
        let failing = Demo { e: Some(Failing), ..demo() };
        let error = serde_json::to_string(&failing).unwrap_err();
        assert!(error.to_string().contains("refused"), "{error}");
    }
}
