//! Secrets that must never reach a log line.

use std::fmt;

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// The secret itself: call only where it goes on the wire or into a digest.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_newtype!(
    /// The app secret: the key of every request signature.
    AppSecret
);
secret_newtype!(
    /// An access token or refresh token of a shop's authorisation.
    AccessToken
);

/// Wraps a value so that `Debug` prints `<redacted>`; generated types use it for the
/// fields the spec marks sensitive (buyer names, phones, addresses, tokens).
pub struct Redacted<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        assert_eq!(format!("{:?}", AppSecret::new("s3cr3t")), "<redacted>");
        assert_eq!(format!("{:?}", AccessToken::new("tok")), "<redacted>");
        assert_eq!(format!("{:?}", Redacted(&"13800000000")), "<redacted>");
        assert_eq!(AppSecret::new("s3cr3t").expose(), "s3cr3t");
    }
}
