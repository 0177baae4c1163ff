//! Lenient, lossless decoding helpers used by the generated types.
//!
//! The platform sends the same field as a number in one method and as a string in
//! another (19-digit IDs above all), and sends `null` where a value is absent. The
//! generated types therefore decode every field through [`Lenient`]:
//!
//! * integers accept a JSON number or a string holding an integer
//!   (`"7301111111111111111"`); the empty string counts as absent;
//! * floats accept a number or a numeric string;
//! * booleans accept `true`/`false`, `0`/`1` and those as strings;
//! * strings accept a string or a number, kept as its literal text for integers
//!   (floats are printed in their shortest round-trip form);
//! * `null` is accepted everywhere: an absent scalar or object (`None`, or the default
//!   for a required request field), an empty list or map;
//! * anything else (an object where an integer is expected, `"abc"` for an integer, an
//!   integer that does not fit) is a decode error; [`from_slice`] names its JSON path.
//!
//! serde_json's `arbitrary_precision` feature (which hands numbers to visitors as a
//! one-entry map) is supported: with it, numbers in string fields keep their exact text.
//!
//! Memory is bounded: decoding `n` bytes may allocate at most [`budget_for`]`(n)` =
//! 64 MiB + 16 × `n` (a hostile reply of a million `{}` would otherwise build a million
//! full default structs). Lists, strings, maps and JSON values charge what they allocate
//! (a growing list its old and new buffer, as a reallocation holds both); past the budget
//! decoding stops with an error naming the JSON path.
//!
//! Generated structs implement [`Object`]: one `match` on the key per struct, no
//! per-field wrapper types, so the generated code stays small and builds fast, and the
//! per-type work is monomorphised once per field *type*, not once per field.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

mod path;
// Round-trip checks for the generated tests: built for tests only.
#[cfg(test)]
#[doc(hidden)]
pub mod testing;
use path::{Trail, TrailScope};

/// A decode failure located by its JSON path (e.g. `shop_order_list[3].order_id`;
/// empty when the failure is at the root or in the JSON syntax before any key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// The JSON path of the value that failed.
    pub path: String,
    /// What was wrong, with line and column.
    pub message: String,
}

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DecodeFailure {}

/// The fixed part of the decode memory budget.
pub const BUDGET_BASE: usize = 64 * 1024 * 1024;
/// The per-input-byte part of the decode memory budget.
pub const BUDGET_PER_BYTE: usize = 16;

/// The most memory decoding `input_len` bytes may allocate: 64 MiB + 16 × `input_len`.
pub fn budget_for(input_len: usize) -> usize {
    BUDGET_BASE.saturating_add(input_len.saturating_mul(BUDGET_PER_BYTE))
}

thread_local! {
    /// Bytes the decode running on this thread may still allocate (`usize::MAX` outside
    /// [`from_slice`]: hand-written `Deserialize` uses are not limited).
    static REMAINING: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Takes `bytes` from the running decode's budget, if that much is left.
#[inline]
fn try_take(bytes: usize) -> bool {
    REMAINING.with(|remaining| {
        let left = remaining.get();
        let fits = bytes <= left;
        if fits {
            remaining.set(left - bytes);
        }
        fits
    })
}

/// Returns `bytes` to the budget (a buffer that was freed).
#[inline]
fn give_back(bytes: usize) {
    REMAINING.with(|remaining| remaining.set(remaining.get().saturating_add(bytes)));
}

/// Charges `bytes` against the running decode's budget.
#[inline]
pub(crate) fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    if try_take(bytes) {
        Ok(())
    } else {
        Err(E::custom(BudgetExceeded(None)))
    }
}

/// The error text when the budget runs out (the path is added by [`from_slice`]).
struct BudgetExceeded(Option<usize>);

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(items) => write!(f, "the list needs more memory than the decode budget allows after {items} items"),
            None => f.write_str("the value needs more memory than the decode budget allows"),
        }?;
        f.write_str(" (64 MiB + 16 × the size of the reply)")
    }
}

/// Sets the budget for one decode on this thread and restores the previous one after.
struct BudgetScope(usize);

impl BudgetScope {
    fn enter(input_len: usize) -> Self {
        BudgetScope(REMAINING.with(|remaining| remaining.replace(budget_for(input_len))))
    }
}

impl Drop for BudgetScope {
    fn drop(&mut self) {
        REMAINING.with(|remaining| remaining.set(self.0));
    }
}

/// Decodes `bytes`; a failure names its JSON path (e.g. `shop_order_list[3].order_id`),
/// found on the way out of the failing value (see `path::Trail`) rather than by a second,
/// path-tracking pass: no second copy of every decoder to build. Trailing characters after
/// the value are an error. Memory is bounded by [`budget_for`]`(bytes.len())`.
///
/// The path comes from what the lenient decoders (generated types, lists, maps, JSON
/// values) recorded and from the JSON text at the error's position, so it is complete
/// inside hand-written `#[derive(Deserialize)]` types and for syntax errors too.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeFailure> {
    let _budget = BudgetScope::enter(bytes.len());
    let _trail = TrailScope::enter();
    // Text checked as UTF-8 once, whole, is read without checking each string again
    // (serde_json checks every key and value of a byte slice on its own: a fifth of the
    // decode). Bytes that are not UTF-8 are read as bytes, for the error at the exact place.
    let decoded = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    match decoded {
        Ok(value) => Ok(value),
        Err(error) => Err(failure(bytes, error)),
    }
}

/// The located failure (not generic: built once, not once per decoded type).
#[cold]
fn failure(bytes: &[u8], error: serde_json::Error) -> DecodeFailure {
    DecodeFailure { path: path::locate(Trail::take(), bytes, error.line(), error.column()), message: error.to_string() }
}

/// [`from_slice`] for text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, DecodeFailure> {
    from_slice(text.as_bytes())
}

/// A type decoded leniently (see the module docs). Implemented for the scalar types,
/// `Option`, `Vec`, `BTreeMap<String, _>`, `serde_json::Value` and every generated struct.
pub trait Lenient: Sized {
    /// Decodes a value; `null` gives the default.
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;

    /// Decodes an optional value; `null` gives `None`.
    fn lenient_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_option(OptionVisitor::<Self>(PhantomData))
    }
}

/// For `#[serde(deserialize_with = "crate::de::lenient")]` in hand-written types.
pub fn lenient<'de, D: Deserializer<'de>, T: Lenient>(deserializer: D) -> Result<T, D::Error> {
    T::lenient(deserializer)
}

/// `DeserializeSeed` for any [`Lenient`] type: how nested values are read.
struct Seed<T>(PhantomData<T>);

impl<'de, T: Lenient> DeserializeSeed<'de> for Seed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::lenient(deserializer)
    }
}

struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        T::lenient(deserializer).map(Some)
    }
}

impl<T: Lenient> Lenient for Option<T> {
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::lenient_option(deserializer)
    }
}

// ---------------------------------------------------------------------------------------
// Scalars

/// What a scalar type is expected to look like, for error messages.
struct Expecting(&'static str);

impl de::Expected for Expecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The conversions of one scalar type from every JSON form it accepts.
pub(crate) trait Scalar: Sized + Default {
    const EXPECTING: &'static str;
    /// Whether `""` means absent (numbers and booleans; for strings it is a value).
    const EMPTY_IS_NONE: bool = true;
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E>;
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E>;
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E>;
    fn from_bool<E: de::Error>(v: bool) -> Result<Self, E> {
        Err(E::invalid_type(Unexpected::Bool(v), &Expecting(Self::EXPECTING)))
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E>;
    fn from_string<E: de::Error>(v: String) -> Result<Self, E> {
        Self::from_str(&v)
    }
    /// A number as exact text (serde_json `arbitrary_precision`).
    fn from_number_text<E: de::Error>(v: &str) -> Result<Self, E> {
        Self::from_str(v)
    }
}

fn invalid_str<T: Scalar, E: de::Error>(v: &str) -> E {
    E::invalid_value(Unexpected::Str(v), &Expecting(T::EXPECTING))
}

/// An integral float (`12.0`) as an integer; anything else is an error.
pub(crate) fn integral<E: de::Error>(v: f64, expecting: &'static str) -> Result<i64, E> {
    if v.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        Ok(v as i64)
    } else {
        Err(E::invalid_value(Unexpected::Float(v), &Expecting(expecting)))
    }
}

impl Scalar for i64 {
    const EXPECTING: &'static str = "an integer (number or string)";
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E> {
        Ok(v)
    }
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &Expecting("a 64-bit signed integer")))
    }
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E> {
        integral(v, Self::EXPECTING)
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E> {
        v.trim().parse().map_err(|_| invalid_str::<Self, E>(v))
    }
}

impl Scalar for i32 {
    const EXPECTING: &'static str = "a 32-bit integer (number or string)";
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &Expecting(Self::EXPECTING)))
    }
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &Expecting(Self::EXPECTING)))
    }
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E> {
        Self::from_i64(integral(v, Self::EXPECTING)?)
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E> {
        v.trim().parse().map_err(|_| invalid_str::<Self, E>(v))
    }
}

impl Scalar for f64 {
    const EXPECTING: &'static str = "a number (or a numeric string)";
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E> {
        Ok(v as f64)
    }
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E> {
        Ok(v as f64)
    }
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E> {
        Ok(v)
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E> {
        match v.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err(invalid_str::<Self, E>(v)),
        }
    }
}

impl Scalar for bool {
    const EXPECTING: &'static str = "a boolean (true/false, 0/1)";
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(Unexpected::Signed(v), &Expecting(Self::EXPECTING))),
        }
    }
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(Unexpected::Unsigned(v), &Expecting(Self::EXPECTING))),
        }
    }
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E> {
        Err(E::invalid_type(Unexpected::Float(v), &Expecting(Self::EXPECTING)))
    }
    fn from_bool<E: de::Error>(v: bool) -> Result<Self, E> {
        Ok(v)
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E> {
        match v.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(invalid_str::<Self, E>(v)),
        }
    }
}

impl Scalar for String {
    const EXPECTING: &'static str = "a string (or a number)";
    const EMPTY_IS_NONE: bool = false;
    fn from_i64<E: de::Error>(v: i64) -> Result<Self, E> {
        Ok(v.to_string())
    }
    fn from_u64<E: de::Error>(v: u64) -> Result<Self, E> {
        Ok(v.to_string())
    }
    fn from_f64<E: de::Error>(v: f64) -> Result<Self, E> {
        Ok(v.to_string())
    }
    fn from_str<E: de::Error>(v: &str) -> Result<Self, E> {
        charge::<E>(v.len())?;
        Ok(v.to_owned())
    }
    fn from_string<E: de::Error>(v: String) -> Result<Self, E> {
        charge::<E>(v.capacity())?;
        Ok(v)
    }
}

/// The serde_json `arbitrary_precision` number token.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct ScalarVisitor<T>(PhantomData<T>);

impl<'de, T: Scalar> Visitor<'de> for ScalarVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        T::from_bool(v).map(Some)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::from_i64(v).map(Some)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::from_u64(v).map(Some)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::from_f64(v).map(Some)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if T::EMPTY_IS_NONE && v.is_empty() {
            return Ok(None);
        }
        T::from_str(v).map(Some)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if T::EMPTY_IS_NONE && v.is_empty() {
            return Ok(None);
        }
        T::from_string(v).map(Some)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // serde_json with `arbitrary_precision` hands a number over as {TOKEN: "digits"}.
        match map.next_key_seed(KeySeed)? {
            Some(key) if key == NUMBER_TOKEN => {
                let text: Cow<'de, str> = map.next_value_seed(KeySeed)?;
                T::from_number_text(&text).map(Some)
            }
            _ => Err(de::Error::invalid_type(Unexpected::Map, &self)),
        }
    }
}

/// Decodes a scalar of a type defined elsewhere in the crate (`crate::ids`): `None` for
/// `null` and, where the type says so, for `""`.
pub(crate) fn scalar<'de, T: Scalar, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_any(ScalarVisitor::<T>(PhantomData))
}

macro_rules! lenient_scalar {
    ($($t:ty),*) => {$(
        impl Lenient for $t {
            fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(deserializer.deserialize_any(ScalarVisitor::<$t>(PhantomData))?.unwrap_or_default())
            }
            fn lenient_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                deserializer.deserialize_any(ScalarVisitor::<$t>(PhantomData))
            }
        }
    )*};
}

lenient_scalar!(i64, i32, f64, bool, String);

impl Lenient for serde_json::Value {
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Builds a `serde_json::Value` like its own `Deserialize`, charging what it allocates.
struct ValueVisitor;

impl<'de> DeserializeSeed<'de> for ValueVisitor {
    type Value = serde_json::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        charge::<E>(v.len())?;
        Ok(v.into())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        charge::<E>(v.capacity())?;
        Ok(v.into())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        Trail::enter_container();
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueVisitor).map_err(Trail::index(out.len()))? {
            push_charged(&mut out, item)?;
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        Trail::enter_container();
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            charge::<A::Error>(key.len() + MAP_ENTRY_COST + std::mem::size_of::<serde_json::Value>())?;
            let value = map.next_value_seed(ValueVisitor).map_err(Trail::key(&key))?;
            out.insert(key.into_owned(), value);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// What a map entry costs besides its key and value: its share of the tree node.
const MAP_ENTRY_COST: usize = 48;

/// Pushes `item`. A list's buffer is charged while it lives; growing it needs the new
/// buffer while the old one is still held (as a reallocation does), and then gives the old
/// one back. Near the end of the budget the list grows by a quarter instead of doubling.
#[inline]
fn push_charged<T, E: de::Error>(out: &mut Vec<T>, item: T) -> Result<(), E> {
    if out.len() == out.capacity() {
        let (old, size) = (out.capacity(), std::mem::size_of::<T>().max(1));
        let doubled = (old * 2).max(4);
        let quarter = old + (old / 4).max(1);
        let new = if try_take(doubled.saturating_mul(size)) {
            doubled
        } else if try_take(quarter.saturating_mul(size)) {
            quarter
        } else {
            return Err(E::custom(BudgetExceeded(Some(old))));
        };
        out.reserve_exact(new - old);
        give_back(old * size);
    }
    out.push(item);
    Ok(())
}

struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        Trail::enter_container();
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(Seed::<T>(PhantomData)).map_err(Trail::index(out.len()))? {
            push_charged(&mut out, item)?;
        }
        Ok(out)
    }
}

impl<T: Lenient> Lenient for Vec<T> {
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(VecVisitor::<T>(PhantomData))
    }
}

struct MapVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for MapVisitor<T> {
    type Value = BTreeMap<String, T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        Trail::enter_container();
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            charge::<A::Error>(key.len() + MAP_ENTRY_COST + std::mem::size_of::<T>())?;
            let value = map.next_value_seed(Seed::<T>(PhantomData)).map_err(Trail::key(&key))?;
            out.insert(key.into_owned(), value);
        }
        Ok(out)
    }
}

impl<T: Lenient> Lenient for BTreeMap<String, T> {
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(MapVisitor::<T>(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// Objects

/// An object key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A generated struct: decoded key by key, unknown keys skipped, `null` as the empty value.
pub trait Object: Sized {
    /// The type name, for error messages.
    const NAME: &'static str;
    /// The value decoding starts from (and `null` decodes to): every field at its zero
    /// value. For most types their `Default`; a request with required fields has none.
    fn empty() -> Self;
    /// Reads the value of `key` into its field; `Ok(false)` when the key is unknown (the
    /// caller then skips the value).
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

impl<T: Object> Lenient for T {
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer)
    }
}

/// Decodes a generated struct (its `Deserialize` impl calls this).
pub fn object<'de, T: Object, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_option(ObjectVisitor::<T>(PhantomData))
}

/// Reads one field value (generated `Object::field` impls call this).
#[inline]
pub fn read<'de, A: MapAccess<'de>, T: Lenient>(map: &mut A, slot: &mut T) -> Result<bool, A::Error> {
    *slot = map.next_value_seed(Seed::<T>(PhantomData))?;
    Ok(true)
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Object> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object ({}) or null", T::NAME)
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::empty())
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::empty())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        Trail::enter_container();
        let mut out = T::empty();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !out.field(&key, &mut map).map_err(Trail::key(&key))? {
                map.next_value::<IgnoredAny>().map_err(Trail::key(&key))?;
            }
        }
        Ok(out)
    }
}

/// Decodes a response `data` that the platform may send as the value itself or wrapped in
/// a one-key object `{key: value}` (where the documentation lists a single field `data`):
/// generated newtype responses with a wrapper call this. An object without `key` is an
/// error, never an empty value; other keys beside it are skipped like unknown fields.
pub fn maybe_wrapped<'de, T: Lenient, D: Deserializer<'de>>(deserializer: D, key: &'static str) -> Result<T, D::Error> {
    deserializer.deserialize_any(Wrapped::<T> { key, marker: PhantomData })
}

struct Wrapped<T> {
    key: &'static str,
    marker: PhantomData<T>,
}

impl<'de, T: Lenient> Visitor<'de> for Wrapped<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the value or an object {{\"{}\": value}}", self.key)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        Trail::enter_container();
        let mut out = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == NUMBER_TOKEN && out.is_none() {
                // serde_json's `arbitrary_precision` number: the bare value.
                let text: Cow<'de, str> = map.next_value_seed(KeySeed)?;
                let number: serde_json::Value = serde_json::from_str(&text).map_err(de::Error::custom)?;
                return T::lenient(number).map_err(de::Error::custom);
            }
            if key == self.key && out.is_none() {
                out = Some(map.next_value_seed(Seed::<T>(PhantomData)).map_err(Trail::key(&key))?);
            } else {
                map.next_value::<IgnoredAny>().map_err(Trail::key(&key))?;
            }
        }
        out.ok_or_else(|| de::Error::invalid_type(Unexpected::Map, &self))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::lenient(de::value::SeqAccessDeserializer::new(seq))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::lenient(de::value::StrDeserializer::new(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        T::lenient(de::value::StringDeserializer::new(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::lenient(de::value::I64Deserializer::new(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::lenient(de::value::U64Deserializer::new(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::lenient(de::value::F64Deserializer::new(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::lenient(de::value::BoolDeserializer::new(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        T::lenient(de::value::UnitDeserializer::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        T::lenient(de::value::UnitDeserializer::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq)]
    struct Order {
        order_id: Option<i64>,
        name: Option<String>,
        price: Option<f64>,
        paid: Option<bool>,
        sku_ids: Vec<i64>,
        tags: BTreeMap<String, i32>,
        children: Vec<Order>,
    }

    impl Object for Order {
        const NAME: &'static str = "Order";
        fn empty() -> Self {
            Self::default()
        }
        fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
            match key {
                "order_id" => read(map, &mut self.order_id),
                "name" => read(map, &mut self.name),
                "price" => read(map, &mut self.price),
                "paid" => read(map, &mut self.paid),
                "sku_ids" => read(map, &mut self.sku_ids),
                "tags" => read(map, &mut self.tags),
                "children" => read(map, &mut self.children),
                _ => Ok(false),
            }
        }
    }

    impl<'de> Deserialize<'de> for Order {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            object(d)
        }
    }

    #[test]
    fn ids_decode_losslessly_from_numbers_and_strings() {
        let a: Order =
            from_str(r#"{"order_id":7301111111111111111,"sku_ids":[7301111111111111112,"7301111111111111113"]}"#)
                .unwrap();
        assert_eq!(a.order_id, Some(7_301_111_111_111_111_111));
        assert_eq!(a.sku_ids, vec![7_301_111_111_111_111_112, 7_301_111_111_111_111_113]);
        let b: Order = from_str(r#"{"order_id":"7301111111111111111"}"#).unwrap();
        assert_eq!(b.order_id, Some(7_301_111_111_111_111_111));
    }

    #[test]
    fn strings_accept_numbers_as_their_text() {
        let a: Order = from_str(r#"{"name":7301111111111111111}"#).unwrap();
        assert_eq!(a.name.as_deref(), Some("7301111111111111111"));
        let b: Order = from_str(r#"{"name":-12}"#).unwrap();
        assert_eq!(b.name.as_deref(), Some("-12"));
    }

    #[test]
    fn nulls_and_empty_strings_are_absent() {
        let a: Order = from_str(
            r#"{"order_id":null,"name":null,"sku_ids":null,"tags":null,"children":null,"price":"","paid":null}"#,
        )
        .unwrap();
        assert_eq!(a, Order::default());
        let b: Order = from_str("null").unwrap();
        assert_eq!(b, Order::default());
        let c: Order = from_str(r#"{"name":""}"#).unwrap();
        assert_eq!(c.name.as_deref(), Some(""));
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let a: Order = from_str(r#"{"extra":{"deep":[1,2,{"x":null}]},"order_id":1,"more":"x"}"#).unwrap();
        assert_eq!(a.order_id, Some(1));
    }

    #[test]
    fn floats_and_booleans_are_lenient_within_their_type() {
        let a: Order = from_str(r#"{"price":"12.5","paid":1}"#).unwrap();
        assert_eq!((a.price, a.paid), (Some(12.5), Some(true)));
        let b: Order = from_str(r#"{"price":3,"paid":"false","order_id":12.0}"#).unwrap();
        assert_eq!((b.price, b.paid, b.order_id), (Some(3.0), Some(false), Some(12)));
    }

    #[test]
    fn wrong_types_fail_with_the_json_path() {
        let e = from_str::<Order>(r#"{"children":[{},{"order_id":"abc"}]}"#).unwrap_err();
        assert_eq!(e.path, "children[1].order_id");
        assert!(e.message.contains("abc"), "{}", e.message);
        let e = from_str::<Order>(r#"{"order_id":{"a":1}}"#).unwrap_err();
        assert_eq!(e.path, "order_id");
        let e = from_str::<Order>(r#"{"order_id":1.5}"#).unwrap_err();
        assert_eq!(e.path, "order_id");
        let e = from_str::<Order>(r#"{"order_id":9223372036854775808}"#).unwrap_err();
        assert_eq!(e.path, "order_id");
        let e = from_str::<Order>(r#"{"tags":{"a":5000000000}}"#).unwrap_err();
        assert_eq!(e.path, "tags.a");
        let e = from_str::<Order>(r#"{"sku_ids":{"a":1}}"#).unwrap_err();
        assert_eq!(e.path, "sku_ids");
        let e = from_str::<Order>(r#"{"name":true}"#).unwrap_err();
        assert_eq!(e.path, "name");
    }

    #[test]
    fn paths_are_complete_inside_derived_types() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(untagged)]
        #[allow(dead_code)]
        enum Either {
            Typed(Order),
            Raw(serde_json::Value),
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Mine {
            first: Either,
            orders: Vec<Order>,
        }
        // `first` fails as an Order (recorded, then recovered from as raw JSON); the
        // failure reported is the later one, with the keys of the derived struct too.
        let e = from_str::<Mine>(r#"{"first":{"order_id":"abc"},"orders":[{},{"children":[{"order_id":"x"}]}]}"#)
            .unwrap_err();
        assert_eq!(e.path, "orders[1].children[0].order_id");
        let e = from_str::<Mine>(r#"{"first":1,"orders":[{"order_id":1}],"x":[}"#).unwrap_err();
        assert_eq!(e.path, "x", "a syntax error: {}", e.message);
    }

    #[test]
    fn syntax_errors_and_trailing_bytes_fail() {
        assert!(from_str::<Order>(r#"{"order_id":1"#).is_err());
        let e = from_str::<Order>(r#"{"order_id":1} x"#).unwrap_err();
        assert!(e.message.contains("trailing"), "{}", e.message);
    }

    #[test]
    fn escaped_keys_still_match() {
        let a: Order = from_str(r#"{"order\u005fid":5}"#).unwrap();
        assert_eq!(a.order_id, Some(5));
    }

    #[test]
    fn arbitrary_precision_number_maps_are_understood() {
        // What serde_json hands a visitor for a number when `arbitrary_precision` is on.
        let value = serde_json::json!({ "order_id": { NUMBER_TOKEN: "7301111111111111111" }, "name": { NUMBER_TOKEN: "1.50" } });
        let a: Order = serde_json::from_value(value).unwrap();
        assert_eq!(a.order_id, Some(7_301_111_111_111_111_111));
        assert_eq!(a.name.as_deref(), Some("1.50"));
    }

    #[test]
    fn strings_with_integers_helper() {
        let v = serde_json::json!({"a": [1, 2.5, "x", {"b": 7301111111111111111u64}]});
        assert_eq!(
            testing::integers_as_strings(&v),
            serde_json::json!({"a": ["1", 2.5, "x", {"b": "7301111111111111111"}]})
        );
    }
}
