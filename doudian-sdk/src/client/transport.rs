//! One signed HTTP exchange: the URL and its query, the headers, the body read within its
//! limit, and the envelope checked.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, FROM};
use reqwest::StatusCode;
use tracing::Instrument;

use super::call::Call;
use super::envelope::{check_envelope, RawReply};
use super::Inner;
use crate::error::{Error, Result, TransportError, TransportKind};
use crate::request::method_path;
use crate::secret::AccessToken;

/// What one exchange gave: the checked reply or why there is none, and the size of the
/// body read (0 when none was).
pub(super) struct Sent {
    pub(super) reply: Result<RawReply>,
    pub(super) bytes: usize,
}

/// What a query value keeps as it is: the RFC 3986 unreserved characters.
const QUERY_VALUE_KEEPS: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `name=value&…`, each value percent-encoded.
fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut query = String::with_capacity(256);
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.extend(percent_encoding::utf8_percent_encode(value, QUERY_VALUE_KEEPS));
    }
    query
}

/// The base URL parsed once, for [`Inner::url`]: `None` when it cannot take a method's
/// path and a query as segments (no host, or a query or fragment of its own); such a base
/// is joined as text on every call.
pub(super) fn parse_base(base_url: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(base_url).ok()?;
    (url.has_host() && !url.cannot_be_a_base() && url.query().is_none() && url.fragment().is_none()).then_some(url)
}

/// Whether `method` is dot-separated segments of ASCII letters, digits and `_` (every
/// method of the spec): its path is then the same as segments or as text.
fn is_plain_method(method: &str) -> bool {
    method
        .split('.')
        .all(|segment| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// `base` + the method's path + `?query`: the URL that parsing the text would give (for
/// a base from [`parse_base`] and a plain method).
fn join_parsed(base: &reqwest::Url, method: &str, query: &str) -> reqwest::Url {
    let mut url = base.clone();
    // A base with a host always has path segments.
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(method.split('.'));
    }
    url.set_query(Some(query));
    url
}

/// Where a call goes: the parsed base with the method's path and the query (no parse of
/// the whole URL per call), or the URL as text for reqwest to parse.
enum CallUrl {
    Parsed(reqwest::Url),
    Text(String),
}

impl Inner {
    fn url(&self, method: &str, sign: &str, timestamp: &str, token: Option<&AccessToken>) -> CallUrl {
        let pairs = [
            ("app_key", self.signer.app_key()),
            ("method", method),
            ("v", "2"),
            ("sign", sign),
            ("timestamp", timestamp),
            ("sign_method", self.signer.sign_method().as_str()),
        ];
        let token = token.map(|token| ("access_token", token.expose()));
        let query = query_string(pairs.into_iter().chain(token));
        match &self.base {
            Some(base) if is_plain_method(method) => CallUrl::Parsed(join_parsed(base, method, &query)),
            _ => CallUrl::Text(format!("{}{}?{query}", self.base_url, method_path(method))),
        }
    }

    /// One attempt: sign with a fresh timestamp, send, read the body within the limit,
    /// check the envelope. Logged in a `doudian.call` span; never the URL, token or body.
    pub(super) async fn send_once(&self, call: &Call<'_>, token: Option<&AccessToken>, attempt: u32) -> Sent {
        let method = call.method;
        let span = tracing::info_span!("doudian.call", method, attempt, log_id = tracing::field::Empty);
        let started = Instant::now();
        let fetched = self.fetch(call, token).instrument(span.clone()).await;
        let bytes = fetched.as_ref().map_or(0, |(_, body)| body.len());
        let reply = fetched.and_then(|(status, body)| match status.is_success() {
            true => check_envelope(method, body),
            false => Err(transport_error(method, TransportKind::Status(status.as_u16()), None)),
        });
        let latency_ms = started.elapsed().as_millis() as u64;
        let _entered = span.enter();
        match &reply {
            Ok(reply) => {
                span.record("log_id", reply.log_id.as_str());
                tracing::debug!(latency_ms, bytes, "reply");
            }
            Err(error) => tracing::debug!(latency_ms, error = %crate::error::Chain(error), "call failed"),
        }
        Sent { reply, bytes }
    }

    /// Sends the signed request and reads the body within the limit: the HTTP status and
    /// the body, or the transport failure.
    async fn fetch(&self, call: &Call<'_>, token: Option<&AccessToken>) -> Result<(StatusCode, Vec<u8>)> {
        let (method, param_json, options) = (call.method, call.param_json.as_str(), call.options);
        let timestamp = unix_seconds().to_string();
        let sign = self.signer.sign(method, param_json, &timestamp);
        let request = match self.url(method, &sign, &timestamp, token) {
            CallUrl::Parsed(url) => self.http.post(url),
            CallUrl::Text(url) => self.http.post(url),
        };
        // Static names and values: nothing to parse or copy per call.
        let mut request = request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"))
            .header(ACCEPT, HeaderValue::from_static("*/*"))
            .header(FROM, HeaderValue::from_static("sdk"))
            .header(HeaderName::from_static("sdk-type"), HeaderValue::from_static("rust"))
            .header(HeaderName::from_static("sdk-version"), HeaderValue::from_static(env!("CARGO_PKG_VERSION")))
            .header(HeaderName::from_static("x-open-no-old-err-code"), HeaderValue::from_static("1"))
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
        let classify = |e: reqwest::Error| {
            // A connect error (a connect timeout included) means nothing was sent.
            let kind = if e.is_connect() {
                TransportKind::Connect
            } else if e.is_timeout() {
                TransportKind::Timeout
            } else {
                TransportKind::Io
            };
            transport_error(method, kind, Some(e))
        };
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        tracing::trace!(status = status.as_u16(), "reply headers");
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(transport_error(method, TransportKind::BodyTooLarge { limit }, None));
        }
        let mut body = Vec::with_capacity(response.content_length().unwrap_or(8 * 1024).min(limit as u64) as usize);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(transport_error(method, TransportKind::BodyTooLarge { limit }, None));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// The sign timestamp: Unix seconds now.
fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// A transport failure of `method`; the source loses its URL (the token rides in its query).
fn transport_error(method: &str, kind: TransportKind, source: Option<reqwest::Error>) -> Error {
    Error::from(TransportError {
        method: method.to_owned(),
        kind,
        source: source.map(|e| Box::new(e.without_url()) as Box<dyn std::error::Error + Send + Sync>),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryPolicy;
    use crate::{CallOptions, Client};
    use std::time::Duration;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_string([("a", "a b&c=d/é-_.~+%"), ("b", "")]), "a=a%20b%26c%3Dd%2F%C3%A9-_.~%2B%25&b=");
    }

    #[test]
    fn parsed_base_and_text_give_the_same_url() {
        let query =
            query_string([("app_key", "7012345678901234567"), ("sign", "ab12"), ("access_token", "t/o+k=e n&é")]);
        let bases = [
            "https://openapi-fxg.jinritemai.com",
            "http://127.0.0.1:9",
            "http://127.0.0.1:80/",
            "HTTP://Example.COM:8080/",
            "http://[::1]:8080",
            "http://user:pw@host/prefix/",
            "http://host/a/b",
            "http://host/a/.",
            "http://host/a/..",
            "http://host/a/%2e",
            "http://host/a%20b/c",
            "https://xn--fiqs8s.example/",
            "https://例子.example/api",
        ];
        let methods = ["order.searchList", "sendHome.order.acceptOrder", "token.create", "x", "a_b.C9"];
        let mut parsed = 0;
        for base_url in bases {
            let base_url = base_url.trim_end_matches('/');
            let Some(base) = parse_base(base_url) else { continue };
            parsed += 1;
            for method in methods {
                assert!(is_plain_method(method));
                let text = format!("{base_url}{}?{query}", method_path(method));
                let expected = reqwest::Url::parse(&text).unwrap();
                assert_eq!(join_parsed(&base, method, &query).as_str(), expected.as_str(), "{base_url} {method}");
            }
        }
        assert_eq!(parsed, bases.len());
        // Bases that cannot take segments are joined as text.
        for base_url in ["http://host/?q=1", "http://host/#f", "http://", "not a url"] {
            assert!(parse_base(base_url).is_none(), "{base_url}");
        }
        for method in ["", "a..b", ".a", "a.", "a-b.c", "a/b", "a?b", "a b", "a.%41"] {
            assert!(!is_plain_method(method), "{method}");
        }
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
