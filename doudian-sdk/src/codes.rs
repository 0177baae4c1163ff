//! Code sets: the statuses and types the platform sends as bare numbers, as open newtypes.
//!
//! Each is a newtype over the wire number with named constants for the values the SDK
//! knows; any other value is kept as it came (the platform adds values without notice, and
//! a closed enum would then fail to decode). `Debug` shows the name when it is known.
//! They decode from a number or a string of digits, like every integer the SDK reads. The
//! sets are data (`api-spec/codes.json`, generated into `api/codes.rs`); the generated
//! types use them on both sides of a call, wherever the platform sends or takes them
//! (`order_status`, `main_status`, `aftersale_type`, `aftersale_status`, an order's
//! `order_type`, a product's `status` and `check_status`), and a setter takes the set or
//! its raw number: `CombineStatus::new().order_status(OrderStatus::AWAITING_SHIPMENT)`.
//!
//! ```
//! use doudian_sdk::codes::OrderStatus;
//!
//! let status = OrderStatus::from(2);
//! assert_eq!(status, OrderStatus::AWAITING_SHIPMENT);
//! assert_eq!(format!("{status:?}"), "OrderStatus::AWAITING_SHIPMENT(2)");
//! assert_eq!(status.label(), Some("备货中"));
//! // A value the SDK does not know is kept, not rejected.
//! assert_eq!(format!("{:?}", OrderStatus::from(42)), "OrderStatus(42)");
//! ```

/// One code set: an open newtype over the wire number with a constant per known value.
/// Invoked by the generated `api/codes.rs`.
macro_rules! code_set {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$const_doc:meta])* $constant:ident = $value:literal, $label:literal; )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub i64);

        impl $name {
            $( $(#[$const_doc])* pub const $constant: Self = Self($value); )*

            /// The wire number.
            pub fn code(self) -> i64 {
                self.0
            }

            /// The constant's name, when the value is one the SDK knows.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($constant)), )*
                    _ => None,
                }
            }

            /// The platform's Chinese label, when the value is one the SDK knows.
            pub fn label(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($label), )*
                    _ => None,
                }
            }

            /// Every value the SDK knows.
            pub const KNOWN: &'static [Self] = &[$( Self::$constant ),*];
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{}::{}({})", stringify!($name), name, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<i64> for $name {
            fn from(code: i64) -> Self {
                Self(code)
            }
        }

        impl From<$name> for i64 {
            fn from(code: $name) -> i64 {
                code.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <i64 as crate::de::Lenient>::lenient(deserializer).map(Self)
            }
        }

        impl From<$name> for crate::codes::Joined<$name> {
            fn from(code: $name) -> Self {
                crate::codes::Joined(vec![code])
            }
        }

        impl From<Vec<$name>> for crate::codes::Joined<$name> {
            fn from(codes: Vec<$name>) -> Self {
                crate::codes::Joined(codes)
            }
        }

        impl<const N: usize> From<[$name; N]> for crate::codes::Joined<$name> {
            fn from(codes: [$name; N]) -> Self {
                crate::codes::Joined(codes.to_vec())
            }
        }

        impl crate::de::Lenient for $name {
            fn lenient<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <i64 as crate::de::Lenient>::lenient(deserializer).map(Self)
            }
            fn lenient_option<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                <i64 as crate::de::Lenient>::lenient_option(deserializer).map(|code| code.map(Self))
            }
        }
    };
}

pub use crate::api::codes::*;

pub(crate) use code_set;

/// Codes of one set sent as one string joined by `,` (`"2,3"`): the filters that take
/// several statuses at once. A setter takes one code, an array or a `Vec` of them.
///
/// ```
/// use doudian_sdk::codes::{Joined, OrderStatus};
///
/// let two: Joined<OrderStatus> = [OrderStatus::AWAITING_SHIPMENT, OrderStatus::SHIPPED].into();
/// assert_eq!(serde_json::to_string(&two).unwrap(), r#""2,3""#);
/// assert_eq!(Joined::<OrderStatus>::parse(" 2, 3").unwrap(), two);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Joined<C>(pub Vec<C>);

impl<C> Default for Joined<C> {
    fn default() -> Self {
        Joined(Vec::new())
    }
}

impl<C: From<i64>> Joined<C> {
    /// Reads `"2,3"` (spaces around a code are allowed; an empty text is no code). A part
    /// that is not a whole number is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Joined(Vec::new()));
        }
        text.split(',')
            .map(|part| {
                part.trim().parse::<i64>().map(C::from).map_err(|_| format!("`{part}` in `{text}` is not a code"))
            })
            .collect::<Result<Vec<C>, String>>()
            .map(Joined)
    }
}

impl<C: Copy + Into<i64>> serde::Serialize for Joined<C> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text: Vec<String> = self.0.iter().map(|code| Into::<i64>::into(*code).to_string()).collect();
        serializer.serialize_str(&text.join(","))
    }
}

impl<C: From<i64>> crate::de::Lenient for Joined<C> {
    fn lenient<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::lenient_option(deserializer)?.unwrap_or_default())
    }
    fn lenient_option<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        let text = <String as crate::de::Lenient>::lenient_option(deserializer)?;
        text.map(|text| Joined::parse(&text).map_err(serde::de::Error::custom)).transpose()
    }
}

/// A code written as a string of digits (`"2"`), for fields the platform sends as text.
/// Used by the generated types.
#[doc(hidden)]
pub struct Digits<C>(pub C);

impl<C: Copy + Into<i64>> serde::Serialize for Digits<C> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_values() {
        assert_eq!(OrderStatus::from(5), OrderStatus::COMPLETED);
        assert_eq!(OrderStatus::COMPLETED.name(), Some("COMPLETED"));
        assert_eq!(OrderStatus::from(77).name(), None);
        assert_eq!(format!("{:?}", AfterSaleStatus::from(6)), "AfterSaleStatus::AWAITING_SELLER(6)");
        assert_eq!(AfterSaleType::KNOWN.len(), 7);
        assert_eq!(MainStatus::PAID.label(), Some("已支付"));
        assert_eq!(ProductStatus::OFF_SHELF.to_string(), "1");
    }

    #[test]
    fn decode_from_numbers_and_digit_strings_and_encode_as_numbers() {
        let from_number: OrderStatus = serde_json::from_str("2").unwrap();
        let from_text: OrderStatus = serde_json::from_str("\"2\"").unwrap();
        assert_eq!((from_number, from_text), (OrderStatus::AWAITING_SHIPMENT, OrderStatus::AWAITING_SHIPMENT));
        assert!(serde_json::from_str::<OrderStatus>("\"two\"").is_err());
        assert_eq!(serde_json::to_string(&OrderStatus::SHIPPED).unwrap(), "3");
        assert_eq!(serde_json::to_string(&Some(Digits(OrderStatus::SHIPPED))).unwrap(), "\"3\"");
    }

    #[test]
    fn joined_codes_go_as_one_text_and_come_back_from_text_or_a_number() {
        use crate::de::Lenient;
        let joined = |json: &str| Joined::<OrderStatus>::lenient(&mut serde_json::Deserializer::from_str(json));
        assert_eq!(joined(r#""2,3""#).unwrap(), Joined(vec![OrderStatus::AWAITING_SHIPMENT, OrderStatus::SHIPPED]));
        assert_eq!(joined("2").unwrap(), Joined::from(OrderStatus::AWAITING_SHIPMENT));
        assert_eq!(joined("null").unwrap(), Joined::default());
        assert_eq!(joined(r#""""#).unwrap(), Joined::default());
        let error = joined(r#""2,x""#).unwrap_err().to_string();
        assert!(error.contains("`x` in `2,x` is not a code"), "{error}");
        let one: Joined<MainStatus> = vec![MainStatus::PAID].into();
        assert_eq!(serde_json::to_string(&one).unwrap(), r#""105""#);
        assert_eq!(serde_json::to_string(&Joined::<MainStatus>::default()).unwrap(), r#""""#);
    }
}
