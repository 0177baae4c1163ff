//! Lenient, lossless decoding helpers used by the generated types.

use serde::de::DeserializeOwned;

/// Why a value did not decode, and where (a JSON path such as `shop_order_list[3].order_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// The JSON path of the failing value.
    pub path: String,
    /// The decoder's message.
    pub message: String,
}

/// Decodes fast; on failure decodes again, tracking the path, to name where it failed.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeFailure> {
    serde_json::from_slice(bytes).map_err(|_| with_path::<T>(&mut serde_json::Deserializer::from_slice(bytes)))
}

/// [`from_slice`] for text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, DecodeFailure> {
    from_slice(text.as_bytes())
}

fn with_path<'de, T: DeserializeOwned>(de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>) -> DecodeFailure {
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(_) => DecodeFailure { path: String::new(), message: "inconsistent decode".into() },
        Err(e) => DecodeFailure { path: e.path().to_string(), message: e.into_inner().to_string() },
    }
}
