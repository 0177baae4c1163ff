//! The binding between a request type and the platform method it calls.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::retry::RetryClass;

/// A platform method call. Every generated `*Request` type implements it; users may
/// implement it for a method the spec lacks (the trait is deliberately not sealed).
///
/// The `Serialize` impl must produce the method's param_json object. Generated types
/// declare fields in wire-name byte order so that serialisation is already canonical.
pub trait Request: Serialize {
    /// The platform method name, e.g. `order.searchList`.
    const METHOD: &'static str;
    /// `true` when the method only reads. The older way to say
    /// `RETRY = RetryClass::ReadOnly`, and what [`Request::RETRY`] defaults to; the client
    /// reads `RETRY`.
    const READ_ONLY: bool = false;
    /// What a repeat of the method does, which decides whether the client sends it again
    /// after an ambiguous failure (a timeout after the request was sent): read-only and
    /// idempotent methods are, read-back ones are not. Defaults to
    /// [`RetryClass::ReadOnly`] when [`Request::READ_ONLY`], else [`RetryClass::ReadBack`].
    const RETRY: RetryClass = if Self::READ_ONLY { RetryClass::ReadOnly } else { RetryClass::ReadBack };
    /// The decoded `data` of a successful reply.
    type Response: DeserializeOwned;
}

/// The URL path of a method: dots become slashes (`order.searchList` -> `/order/searchList`).
pub fn method_path(method: &str) -> String {
    let mut path = String::with_capacity(method.len() + 1);
    path.push('/');
    path.extend(method.chars().map(|c| if c == '.' { '/' } else { c }));
    path
}

#[cfg(test)]
mod tests {
    use super::method_path;

    #[test]
    fn path_keeps_every_segment() {
        assert_eq!(method_path("order.searchList"), "/order/searchList");
        assert_eq!(method_path("sendHome.order.acceptOrder"), "/sendHome/order/acceptOrder");
    }
}
