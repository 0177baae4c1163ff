//! Identifiers: one type per kind of thing the platform numbers, whatever form it sends.
//!
//! The platform sends the same identifier as a JSON number in one method and as a string in
//! another (`product_id` is a number in 100 fields of the spec and a string in 30), and some
//! order ids carry a letter. Each identifier type holds either a number or, when the text is
//! not a plain integer, the text itself; a numeric string is the number, so `123` and `"123"`
//! are the same id and compare equal. Nothing is lost: every id decodes to exactly what came
//! (digits beyond `i64` stay digits) and is sent back in the form the field takes. An absent
//! or empty id is empty text (the `Default`), never `0`.
//!
//! The generated types use them for `product_id`, `sku_id`, the order ids (`order_id`,
//! `shop_order_id`, `sku_order_id`, `parent_order_id`; `p_id` and `s_ids` in pushes),
//! `shop_id` and `aftersale_id`, and their lists, in requests, replies and pushes alike.
//! Setters take `impl Into<…>`, so an `i64`, a `&str` or a `String` fits:
//!
//! ```
//! use doudian_sdk::ids::{OrderId, ProductId};
//!
//! assert_eq!(ProductId::from(3520562294461467745), ProductId::from("3520562294461467745"));
//! assert_eq!(ProductId::from("3520562294461467745").as_i64(), Some(3520562294461467745));
//! // Text that is not a plain integer is kept as it came.
//! let suffixed = OrderId::from("6496679971677798670A");
//! assert_eq!(suffixed.as_i64(), None);
//! assert_eq!(suffixed.to_string(), "6496679971677798670A");
//! assert_eq!(suffixed, "6496679971677798670A");
//! ```
//!
//! Only `i64` converts from integers: with one integer conversion an integer literal needs
//! no suffix (`ProductId::from(123)`, `.product_id(123)`), where two would make it ambiguous.
//!
//! On the wire each field keeps the type the platform gives it: the sign covers the exact
//! `param_json`, and `123` and `"123"` sign differently. A field the platform takes as a
//! number cannot carry a textual id; building that request fails with
//! [`Error::InvalidRequest`](crate::Error::InvalidRequest) before anything is sent.

use serde::de::{self, Deserializer, Unexpected};
use serde::ser::{Error as _, Serializer};
use std::fmt;

/// A number, or text that is not the canonical decimal form of one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Number(i64),
    Text(Box<str>),
}

/// Empty text: no id. (Not `0`, which would be sent as if it were one.)
impl Default for Repr {
    fn default() -> Self {
        Repr::Text(Box::default())
    }
}

/// The number of digit-only text beyond `i64` (the platform's ids are never negative, so
/// such text came as a JSON number, or can go as one).
fn unsigned_number(text: &str) -> Option<u64> {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    if plain {
        text.parse().ok()
    } else {
        None
    }
}

/// The number `text` spells in canonical decimal (no sign but `-`, no leading zero, no
/// space), so that turning it back into text gives `text` again.
fn canonical_number(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
        && text != "-0";
    if plain {
        text.parse().ok()
    } else {
        None
    }
}

impl Repr {
    fn from_text(text: &str) -> Repr {
        match canonical_number(text) {
            Some(number) => Repr::Number(number),
            None => Repr::Text(text.into()),
        }
    }

    fn from_string(text: String) -> Repr {
        match canonical_number(&text) {
            Some(number) => Repr::Number(number),
            None => Repr::Text(text.into_boxed_str()),
        }
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::Number(number) => write!(f, "{number}"),
            Repr::Text(text) => f.write_str(text),
        }
    }
}

impl crate::de::Scalar for Repr {
    const EXPECTING: &'static str = "an identifier (a number or a string)";
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E> {
        Ok(Repr::Number(v))
    }
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E> {
        // Beyond i64: kept as its digits, which is what the platform sent.
        Ok(i64::try_from(v).map(Repr::Number).unwrap_or_else(|_| Repr::Text(v.to_string().into())))
    }
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E> {
        crate::de::integral(v, Self::EXPECTING).map(Repr::Number)
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E> {
        crate::de::charge::<E>(v.len())?;
        Ok(Repr::from_text(v))
    }
    fn from_number_text<E: de::Error>(v: &str) -> Result<Self, E> {
        // An exact number token: an integer is the number (or, beyond i64, its digits), a
        // fraction is an error; as without `arbitrary_precision`.
        if let Ok(number) = v.parse::<i64>() {
            return Ok(Repr::Number(number));
        }
        if v.bytes().all(|b| b.is_ascii_digit()) {
            return Self::from_str(v);
        }
        match v.parse::<f64>() {
            Ok(float) => Self::from_f64(float),
            Err(_) => Err(E::invalid_value(Unexpected::Str(v), &Self::EXPECTING)),
        }
    }
}

/// What every identifier type exposes to the generated serialisers.
#[doc(hidden)]
pub trait Identifier {
    /// The type's name, for error messages.
    const KIND: &'static str;
    /// The number, when the id is one.
    fn as_i64(&self) -> Option<i64>;
    /// The text, when the id is not a number.
    fn as_text(&self) -> Option<&str>;
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(Repr);

        impl $name {
            /// The id as a number, unless it is text that is not one (a letter suffix).
            pub fn as_i64(&self) -> Option<i64> {
                match &self.0 {
                    Repr::Number(number) => Some(*number),
                    Repr::Text(_) => None,
                }
            }
        }

        impl Identifier for $name {
            const KIND: &'static str = stringify!($name);
            fn as_i64(&self) -> Option<i64> {
                $name::as_i64(self)
            }
            fn as_text(&self) -> Option<&str> {
                match &self.0 {
                    Repr::Number(_) => None,
                    Repr::Text(text) => Some(text),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match &self.0 {
                    Repr::Number(number) => write!(f, "{}({number})", stringify!($name)),
                    Repr::Text(text) => write!(f, "{}({text:?})", stringify!($name)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<i64> for $name {
            fn from(number: i64) -> Self {
                Self(Repr::Number(number))
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(Repr::from_text(text))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(Repr::from_string(text))
            }
        }

        impl From<&String> for $name {
            fn from(text: &String) -> Self {
                Self(Repr::from_text(text))
            }
        }

        impl From<&i64> for $name {
            fn from(number: &i64) -> Self {
                Self(Repr::Number(*number))
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(text))
            }
        }

        impl PartialEq<i64> for $name {
            fn eq(&self, other: &i64) -> bool {
                self.0 == Repr::Number(*other)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                match (&self.0, canonical_number(other)) {
                    (Repr::Number(number), Some(other)) => *number == other,
                    (Repr::Text(text), None) => &**text == other,
                    _ => false,
                }
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$name> for i64 {
            fn eq(&self, other: &$name) -> bool {
                other == self
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                other == self
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                other == *self
            }
        }

        /// The natural form: a number when the id is one (digits beyond `i64` too),
        /// otherwise a string. Replies and pushes serialise their numeric id fields so;
        /// requests and textual fields use the form the platform gives the field.
        impl serde::Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match &self.0 {
                    Repr::Number(number) => serializer.serialize_i64(*number),
                    Repr::Text(text) => match unsigned_number(text) {
                        Some(number) => serializer.serialize_u64(number),
                        None => serializer.serialize_str(text),
                    },
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <Self as crate::de::Lenient>::lenient(deserializer)
            }
        }

        impl crate::de::Lenient for $name {
            fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self(crate::de::scalar::<Repr, D>(deserializer)?.unwrap_or_default()))
            }
            fn lenient_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                Ok(crate::de::scalar::<Repr, D>(deserializer)?.map(Self))
            }
        }
    };
}

id_type! {
    /// A product (`product_id`, `product_ids`).
    ProductId
}

id_type! {
    /// A SKU of a product (`sku_id`, `sku_ids`).
    SkuId
}

id_type! {
    /// An order: a shop order or one of its SKU orders (`order_id`, `shop_order_id`,
    /// `sku_order_id`, `parent_order_id`; `p_id` and `s_ids` in pushes). Some carry a letter
    /// suffix and stay text.
    OrderId
}

id_type! {
    /// A shop (`shop_id`).
    ShopId
}

id_type! {
    /// An after-sale request (`aftersale_id`, `aftersale_ids`).
    AfterSaleId
}

/// Serialises an id into a field the platform takes as a number.
fn as_number<I: Identifier, S: Serializer>(id: &I, serializer: S) -> Result<S::Ok, S::Error> {
    let text = id.as_text().unwrap_or_default();
    match (id.as_i64(), unsigned_number(text)) {
        (Some(number), _) => serializer.serialize_i64(number),
        (None, Some(number)) => serializer.serialize_u64(number),
        (None, None) if text.is_empty() => Err(S::Error::custom(format_args!(
            "the {} is empty, and the platform takes this field as a number",
            I::KIND
        ))),
        (None, None) => Err(S::Error::custom(format_args!(
            "{} `{text}` is not a number, and the platform takes this field as one",
            I::KIND
        ))),
    }
}

/// Serialises an id into a field the platform takes as a string.
fn as_text<I: Identifier, S: Serializer>(id: &I, serializer: S) -> Result<S::Ok, S::Error> {
    match (id.as_i64(), id.as_text()) {
        (Some(number), _) => serializer.collect_str(&number),
        (None, text) => serializer.serialize_str(text.unwrap_or_default()),
    }
}

/// An id written as a JSON number, refused when it is not one (generated request types use it).
#[doc(hidden)]
pub struct Number<'a, I>(pub &'a I);

impl<I: Identifier> serde::Serialize for Number<'_, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        as_number(self.0, serializer)
    }
}

/// An id written as a JSON string (generated types use it).
#[doc(hidden)]
pub struct Text<'a, I>(pub &'a I);

impl<I: Identifier> serde::Serialize for Text<'_, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        as_text(self.0, serializer)
    }
}

/// A list of ids, each written as [`Number`]; absent when empty.
#[doc(hidden)]
pub struct Numbers<'a, I>(pub &'a [I]);

impl<I: Identifier> serde::Serialize for Numbers<'_, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Number))
    }
}

impl<I> crate::ser::Absent for Numbers<'_, I> {
    fn is_absent(&self) -> bool {
        self.0.is_empty()
    }
}

/// A list of ids, each written as [`Text`]; absent when empty.
#[doc(hidden)]
pub struct Texts<'a, I>(pub &'a [I]);

impl<I: Identifier> serde::Serialize for Texts<'_, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Text))
    }
}

impl<I> crate::ser::Absent for Texts<'_, I> {
    fn is_absent(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn encoded(write: impl FnOnce(&mut serde_json::Serializer<&mut Vec<u8>>) -> serde_json::Result<()>) -> String {
        let mut out = Vec::new();
        write(&mut serde_json::Serializer::new(&mut out))
            .map(|()| String::from_utf8(out).unwrap())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn numeric_text_is_the_number_and_other_text_is_kept() {
        assert_eq!(ProductId::from("3520562294461467745"), ProductId::from(3520562294461467745));
        assert_eq!(ProductId::from(String::from("-7")).as_i64(), Some(-7));
        for text in ["0123", "-0", "+1", " 1", "1 ", "", "-", "12a", "99999999999999999999", "6496679971677798670A"] {
            let id = OrderId::from(text);
            assert_eq!(id.as_i64(), None, "{text:?}");
            assert_eq!(id.to_string(), text, "{text:?} round-trips");
            assert_eq!(id, text);
        }
        assert_eq!(OrderId::from("0").as_i64(), Some(0));
        assert_ne!(OrderId::from("0123"), OrderId::from(123));
        assert_eq!(SkuId::from(5), "5");
        assert_ne!(SkuId::from(5), "05");
        assert_ne!(SkuId::from("a"), "b");
        assert_eq!(SkuId::from(5), 5);
        let (five, text) = (SkuId::from(5), SkuId::from("5x"));
        assert!(5 == five && "5" == five && *"5x" == text);
        assert_ne!(SkuId::from("5x"), 5);
        assert_eq!(format!("{:?}", ShopId::from(9)), "ShopId(9)");
        assert_eq!(format!("{:?}", ShopId::from("9x")), "ShopId(\"9x\")");
        assert_eq!("12".parse::<AfterSaleId>().unwrap(), 12);
        assert_ne!(ProductId::default(), 0, "no id is not id 0");
        assert_eq!(ProductId::default(), "");
        assert_eq!(ProductId::from(&7), String::from("7"));
    }

    #[test]
    fn integer_literals_need_no_suffix() {
        fn takes(id: impl Into<ProductId>) -> ProductId {
            id.into()
        }
        assert_eq!(takes(3520562294461467745), takes("3520562294461467745"));
        let seven = String::from("7");
        assert_eq!(takes(&seven), takes(7));
        assert_eq!(takes(seven), takes(7));
        let id = takes(1);
        assert_eq!(takes(&id), id);
    }

    #[test]
    fn decodes_every_form_the_platform_sends() {
        let id: OrderId = serde_json::from_str("4781320682406083640").unwrap();
        assert_eq!(id.as_i64(), Some(4781320682406083640));
        let id: OrderId = serde_json::from_str("\"4781320682406083640\"").unwrap();
        assert_eq!(id.as_i64(), Some(4781320682406083640));
        let id: OrderId = serde_json::from_str("\"4781320682406083640A\"").unwrap();
        assert_eq!(id, "4781320682406083640A");
        // Beyond i64: the digits are kept, and go back as the number they were.
        let id: OrderId = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(id.to_string(), "18446744073709551615");
        assert_eq!(serde_json::to_string(&id).unwrap(), "18446744073709551615");
        assert_eq!(encoded(|s| as_number(&id, s)), "18446744073709551615");
        // Absent is empty, not 0: a list keeps its empty entries as they were.
        let ids: Vec<OrderId> = crate::de::from_str(r#"["", "7", null]"#).unwrap();
        assert_eq!(ids.iter().map(ToString::to_string).collect::<Vec<_>>(), ["", "7", ""]);
        assert_eq!(encoded(|s| Texts(&ids[..2]).serialize(s)), r#"["","7"]"#);
        assert_eq!(
            encoded(|s| as_number(&ids[0], s)),
            "error: the OrderId is empty, and the platform takes this field as a number"
        );
        let id: OrderId = serde_json::from_str("12.0").unwrap();
        assert_eq!(id, 12);
        for bad in ["1.5", "true", "{}", "[1]"] {
            assert!(serde_json::from_str::<OrderId>(bad).is_err(), "{bad}");
        }
        let absent: Option<OrderId> = crate::de::from_str("null").unwrap();
        assert_eq!(absent, None);
        #[derive(serde::Deserialize)]
        struct Holder {
            #[serde(deserialize_with = "crate::de::lenient")]
            id: Option<ProductId>,
        }
        let holder: Holder = serde_json::from_str(r#"{"id":""}"#).unwrap();
        assert_eq!(holder.id, None, "an empty string is absent");
    }

    #[test]
    fn each_field_keeps_its_wire_form() {
        let number = ProductId::from("123");
        let text = ProductId::from("12A");
        assert_eq!(encoded(|s| as_number(&number, s)), "123");
        assert_eq!(encoded(|s| as_text(&number, s)), "\"123\"");
        assert_eq!(encoded(|s| as_text(&text, s)), "\"12A\"");
        assert_eq!(
            encoded(|s| as_number(&text, s)),
            "error: ProductId `12A` is not a number, and the platform takes this field as one"
        );
        assert_eq!(encoded(|s| Some(Number(&number)).serialize(s)), "123");
        assert_eq!(encoded(|s| Some(Text(&number)).serialize(s)), "\"123\"");
        assert_eq!(encoded(|s| None::<Text<'_, ProductId>>.serialize(s)), "null");
        let list = [number.clone(), ProductId::from(-4)];
        assert_eq!(encoded(|s| Numbers(&list).serialize(s)), "[123,-4]");
        assert_eq!(encoded(|s| Texts(&list).serialize(s)), "[\"123\",\"-4\"]");
        assert!(encoded(|s| Numbers(std::slice::from_ref(&text)).serialize(s)).starts_with("error: ProductId `12A`"));
        assert_eq!(serde_json::to_string(&[number, text]).unwrap(), "[123,\"12A\"]");
    }
}
