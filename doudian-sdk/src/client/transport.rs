//! One signed HTTP exchange: the request line and its query, the headers, the reply read
//! within its limit and decoded.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, PROXY_AUTHORIZATION};
use http::uri::PathAndQuery;
use http::{Method, Request, Uri};
use http_body_util::Full;
use tracing::Instrument;

use super::call::Call;
use super::http::Failure;
use super::{Inner, Response};
use crate::error::{Error, Result, TransportError, TransportKind};
use crate::secret::AccessToken;

/// What one exchange gave: the decoded reply or why there is none, and the size of the
/// body read (0 when none was).
pub(super) struct Sent<T> {
    pub(super) reply: Result<Response<T>>,
    pub(super) bytes: usize,
}

/// What a query value or a path segment keeps as it is: the RFC 3986 unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Appends `name=value&…`, each value percent-encoded.
fn push_query<'a>(target: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            target.push('&');
        }
        target.push_str(name);
        target.push('=');
        target.extend(percent_encoding::utf8_percent_encode(value, UNRESERVED));
    }
}

/// Appends a method's path: each dot-separated part a segment (`order.searchList` ->
/// `/order/searchList`), percent-encoded (a plain method name needs none).
fn push_method_path(target: &mut String, method: &str) {
    for segment in method.split('.') {
        target.push('/');
        target.extend(percent_encoding::utf8_percent_encode(segment, UNRESERVED));
    }
}

impl Inner {
    /// The signed request of `call`: a fresh timestamp and sign in the query, the client's
    /// headers, the `param_json` body.
    fn request(&self, call: &Call<'_>, token: Option<&AccessToken>) -> Result<Request<Full<Bytes>>> {
        let (method, param_json) = (call.method, call.param_json.as_str());
        let timestamp = unix_seconds().to_string();
        let sign = self.signer.sign(method, param_json, &timestamp);
        let origin = self.http.connector().origin();
        let mut target = String::with_capacity(320 + method.len() + origin.path().len());
        target.push_str(origin.path());
        push_method_path(&mut target, method);
        target.push('?');
        let pairs = [
            ("app_key", self.signer.app_key()),
            ("method", method),
            ("v", "2"),
            ("sign", sign.as_str()),
            ("timestamp", timestamp.as_str()),
            ("sign_method", self.signer.sign_method().as_str()),
        ];
        push_query(&mut target, pairs.into_iter().chain(token.map(|token| ("access_token", token.expose()))));
        // Everything in `target` is percent-encoded: it is a valid path and query.
        let path_and_query = PathAndQuery::from_maybe_shared(Bytes::from(target))
            .map_err(|e| Error::invalid_request(format!("{method}: no valid URL path: {e}")))?;
        let forwarding = self.http.connector().forwarding();
        let uri = match forwarding {
            None => Uri::from(path_and_query),
            Some(_) => origin
                .absolute(path_and_query)
                .map_err(|e| Error::invalid_request(format!("{method}: no valid URL: {e}")))?,
        };
        let mut request = Request::new(Full::new(Bytes::copy_from_slice(param_json.as_bytes())));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers.clone();
        if let Some(log_id) = &call.options.log_id {
            let value = HeaderValue::from_str(log_id)
                .map_err(|_| Error::invalid_request(format!("log id `{log_id}` cannot be an HTTP header value")))?;
            request.headers_mut().insert(HeaderName::from_static("x-tt-logid"), value);
        }
        if let Some(Some(auth)) = forwarding {
            request.headers_mut().insert(PROXY_AUTHORIZATION, auth.clone());
        }
        Ok(request)
    }

    /// One attempt: sign with a fresh timestamp, send, read the body within the limit,
    /// decode it. Logged in a `doudian.call` span; never the URL, token or body.
    pub(super) async fn send_once<T>(
        &self,
        call: &Call<'_>,
        token: Option<&AccessToken>,
        attempt: u32,
        decode: &impl Fn(&str, Vec<u8>) -> Result<Response<T>>,
    ) -> Sent<T> {
        let method = call.method;
        let span = tracing::info_span!("doudian.call", method, attempt, log_id = tracing::field::Empty);
        let started = Instant::now();
        let fetched = self.fetch(call, token).instrument(span.clone()).await;
        let bytes = fetched.as_ref().map_or(0, |(_, body)| body.len());
        let reply = fetched.and_then(|(status, body)| match status.is_success() {
            true => decode(method, body),
            false => Err(transport_error(method, TransportKind::Status(status.as_u16()), None)),
        });
        let latency_ms = started.elapsed().as_millis() as u64;
        let _entered = span.enter();
        let log_id = match &reply {
            Ok(reply) => reply.log_id(),
            Err(error) => error.log_id().unwrap_or_default(),
        };
        if !log_id.is_empty() {
            span.record("log_id", log_id);
        }
        match &reply {
            Ok(_) => tracing::debug!(latency_ms, bytes, "reply"),
            Err(error) => tracing::debug!(latency_ms, error = %crate::error::Chain(error), "call failed"),
        }
        Sent { reply, bytes }
    }

    /// Sends the signed request and reads the body within the limit: the HTTP status and
    /// the body, or the transport failure.
    async fn fetch(&self, call: &Call<'_>, token: Option<&AccessToken>) -> Result<(http::StatusCode, Vec<u8>)> {
        let method = call.method;
        let request = self.request(call, token)?;
        tracing::trace!(bytes = call.param_json.len(), with_token = token.is_some(), "sending");
        let timeout = call.options.timeout.unwrap_or(self.timeout);
        match self.http.send(request, timeout).await {
            Ok(reply) => {
                tracing::trace!(status = reply.status.as_u16(), "reply");
                Ok((reply.status, reply.body))
            }
            Err(failure) => {
                let (kind, source) = match failure {
                    Failure::Connect(source) => (TransportKind::Connect, Some(source)),
                    Failure::Timeout => (TransportKind::Timeout, None),
                    Failure::Io(source) => (TransportKind::Io, Some(source)),
                    Failure::BodyTooLarge { limit } => (TransportKind::BodyTooLarge { limit }, None),
                };
                Err(transport_error(method, kind, source))
            }
        }
    }
}

/// The sign timestamp: Unix seconds now.
fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// A transport failure of `method`. Its source never holds the URL (and so the token): the
/// connector is given the origin only.
fn transport_error(
    method: &str,
    kind: TransportKind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::from(TransportError { method: method.to_owned(), kind, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryPolicy;
    use crate::{CallOptions, Client};
    use std::time::Duration;

    #[test]
    fn query_values_are_percent_encoded() {
        let mut query = String::new();
        push_query(&mut query, [("a", "a b&c=d/é-_.~+%"), ("b", "")]);
        assert_eq!(query, "a=a%20b%26c%3Dd%2F%C3%A9-_.~%2B%25&b=");
    }

    #[test]
    fn method_paths_are_segments() {
        let path = |method| {
            let mut path = String::new();
            push_method_path(&mut path, method);
            path
        };
        assert_eq!(path("order.searchList"), "/order/searchList");
        assert_eq!(path("sendHome.order.acceptOrder"), "/sendHome/order/acceptOrder");
        assert_eq!(path("a_b.C9"), crate::request::method_path("a_b.C9"));
        // Whatever a name holds, the path stays one valid path.
        assert_eq!(path("a b.c?d/e#f"), "/a%20b/c%3Fd%2Fe%23f");
        assert!(PathAndQuery::try_from(path("a b.c?d/e#f%").as_str()).is_ok());
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
