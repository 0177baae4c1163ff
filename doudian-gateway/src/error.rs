//! The gateway's own errors (the platform's error replies are [`crate::ApiFailure`]s).

use std::net::SocketAddr;

/// Errors from starting a gateway or sending a push.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The builder (or a test's control call, such as
    /// [`advance_quotas`](crate::RunningGateway::advance_quotas)) was given values that
    /// cannot work.
    #[error("invalid gateway configuration: {0}")]
    Config(String),
    /// A push could not be delivered (no HTTP reply at all).
    #[error("push to {url} failed: {message}")]
    Push {
        /// The webhook URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bind_failure_prints_its_cause_once() {
        let error =
            GatewayError::Bind { addr: "127.0.0.1:1".parse().unwrap(), source: std::io::Error::other("in use") };
        assert_eq!(error.to_string(), "cannot listen on 127.0.0.1:1");
        assert_eq!(doudian_sdk::error::Chain(&error).to_string(), "cannot listen on 127.0.0.1:1: in use");
    }
}
