//! One signed HTTP attempt, and the token calls built on it.

use std::time::Instant;

use futures_util::future::BoxFuture;
use tracing::Instrument;

use super::envelope::{check_envelope, decode_data, RawReply};
use super::{CallOptions, Inner, Response};
use crate::error::{Error, Result, TransportError, TransportKind};
use crate::request::method_path;
use crate::retry;
use crate::secret::AccessToken;
use crate::sign;
use crate::token::{Grant, TokenEndpoint, TokenReply};

/// The excerpt of a token reply that does not decode: it may hold live tokens.
const WITHHELD: &str = "<withheld: token replies carry secrets>";

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode_query_value(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

impl Inner {
    fn url(&self, method: &str, sign: &str, timestamp: &str, token: Option<&AccessToken>) -> String {
        let mut url = String::with_capacity(self.base_url.len() + 256);
        url.push_str(&self.base_url);
        url.push_str(&method_path(method));
        let mut pairs: Vec<(&str, &str)> = vec![
            ("app_key", self.signer.app_key()),
            ("method", method),
            ("v", "2"),
            ("sign", sign),
            ("timestamp", timestamp),
            ("sign_method", self.signer.sign_method().as_str()),
        ];
        if let Some(token) = token {
            pairs.push(("access_token", token.expose()));
        }
        for (i, (name, value)) in pairs.into_iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            encode_query_value(&mut url, value);
        }
        url
    }

    /// One attempt: sign with a fresh timestamp, send, read the body within the limit,
    /// check the envelope. Logged in a `doudian.call` span; never the URL, token or body.
    pub(super) async fn send_once(
        &self,
        method: &str,
        param_json: &str,
        token: Option<&AccessToken>,
        options: &CallOptions,
        attempt: u32,
    ) -> Result<RawReply> {
        let span = tracing::info_span!("doudian.call", method, attempt, log_id = tracing::field::Empty);
        let started = Instant::now();
        let outcome = self.exchange(method, param_json, token, options).instrument(span.clone()).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let _entered = span.enter();
        match &outcome {
            Ok(reply) => {
                span.record("log_id", reply.log_id.as_str());
                tracing::debug!(latency_ms, bytes = reply.body.len(), "reply");
            }
            Err(error) => tracing::debug!(latency_ms, error = %error, "call failed"),
        }
        outcome
    }

    async fn exchange(
        &self,
        method: &str,
        param_json: &str,
        token: Option<&AccessToken>,
        options: &CallOptions,
    ) -> Result<RawReply> {
        let timestamp = crate::token::unix_now().to_string();
        let sign = self.signer.sign(method, param_json, &timestamp);
        let url = self.url(method, &sign, &timestamp, token);
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json;charset=UTF-8")
            .header("accept", "*/*")
            .header("from", "sdk")
            .header("sdk-type", "rust")
            .header("sdk-version", env!("CARGO_PKG_VERSION"))
            .header("x-open-no-old-err-code", "1")
            .body(param_json.to_owned());
        for (name, value) in &self.extra_headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(log_id) = &options.log_id {
            request = request.header("x-tt-logid", log_id.as_str());
        }
        if let Some(timeout) = options.timeout {
            request = request.timeout(timeout);
        }
        tracing::trace!(bytes = param_json.len(), with_token = token.is_some(), "sending");
        let transport = |kind: TransportKind, source: Option<reqwest::Error>| -> Error {
            Error::from(TransportError {
                method: method.to_owned(),
                kind,
                source: source.map(|e| Box::new(e.without_url()) as Box<dyn std::error::Error + Send + Sync>),
            })
        };
        let classify = |e: reqwest::Error| {
            // A connect error (a connect timeout included) means nothing was sent.
            let kind = if e.is_connect() {
                TransportKind::Connect
            } else if e.is_timeout() {
                TransportKind::Timeout
            } else {
                TransportKind::Io
            };
            transport(kind, Some(e))
        };
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        tracing::trace!(status = status.as_u16(), "reply headers");
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(transport(TransportKind::BodyTooLarge { limit }, None));
        }
        let mut body = Vec::with_capacity(response.content_length().unwrap_or(8 * 1024).min(limit as u64) as usize);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(transport(TransportKind::BodyTooLarge { limit }, None));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(transport(TransportKind::Status(status.as_u16()), None));
        }
        check_envelope(method, body)
    }
}

impl TokenEndpoint for Inner {
    fn create<'a>(&'a self, grant: &'a Grant) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            let params = sign::canonical_value(&grant.create_params(self.tokens.test_shop()));
            self.token_call("token.create", params, &self.retry).await
        })
    }

    fn refresh<'a>(&'a self, refresh_token: &'a AccessToken, patient: bool) -> BoxFuture<'a, Result<TokenReply>> {
        Box::pin(async move {
            let params = sign::canonical_value(&serde_json::json!({
                "grant_type": "refresh_token",
                "refresh_token": refresh_token.expose(),
            }));
            let policy = if patient { self.retry.clone() } else { retry::RetryPolicy::none() };
            self.token_call("token.refresh", params, &policy).await
        })
    }
}

impl Inner {
    /// Token calls: no access token; retried like reads (creating or refreshing twice is
    /// harmless: the platform returns the same pair). A reply that does not decode may
    /// hold live tokens: its excerpt is withheld from the error.
    async fn token_call(
        &self,
        method: &'static str,
        param_json: String,
        policy: &retry::RetryPolicy,
    ) -> Result<TokenReply> {
        let (options, param_json) = (&CallOptions::default(), param_json.as_str());
        retry::run(policy, method, true, |attempt| async move {
            let reply = self.send_once(method, param_json, None, options, attempt).await;
            reply.and_then(|reply| decode_data::<TokenReply>(method, &reply)).map(Response::into_data).map_err(
                |error| match error {
                    Error::Decode(mut decode) => {
                        decode.excerpt = WITHHELD.to_owned();
                        Error::Decode(decode)
                    }
                    other => other,
                },
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryPolicy;
    use crate::Client;
    use std::time::Duration;

    #[test]
    fn query_values_are_percent_encoded() {
        let mut out = String::new();
        encode_query_value(&mut out, "a b&c=d/é-_.~");
        assert_eq!(out, "a%20b%26c%3Dd%2F%C3%A9-_.~");
    }

    #[tokio::test]
    async fn transport_errors_never_carry_the_url_or_token() {
        // Port 9 on loopback: nothing listens, the connection is refused before sending.
        let client = Client::builder("7012345678901234567", "s")
            .base_url("http://127.0.0.1:9")
            .retry(RetryPolicy::attempts(2).with_backoff(Duration::from_millis(1), Duration::from_millis(2)))
            .env_proxy(false)
            .build()
            .unwrap();
        let options = CallOptions::new().access_token(AccessToken::new("tok-SECRET-123"));
        let err = client.call_json("order.searchList", r#"{"page":0,"size":1}"#, &options).await.unwrap_err();
        let Error::Transport(ref t) = err else { panic!("expected a transport error, got {err:?}") };
        assert_eq!(t.kind, TransportKind::Connect);
        assert!(err.is_retryable() && !err.is_ambiguous());
        let mut texts = vec![err.to_string(), format!("{err:?}")];
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            texts.push(s.to_string());
            source = s.source();
        }
        for text in texts {
            assert!(!text.contains("tok-SECRET-123") && !text.contains("127.0.0.1:9/"), "leaks: {text}");
        }
    }
}
