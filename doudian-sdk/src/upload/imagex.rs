//! The two exchanges with ImageX after `open.materialToken` (PROTOCOL.md §8): the GET of
//! `auth_query` that hands out a store URI, its credential and an upload host, and the PUT
//! of the bytes. Errors never carry a URL or the credential.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::crc32::crc32_hex;
use super::source::{LocalFailure, Prepared};
use crate::error::{excerpt, Error, Result, TransportKind, UploadError, UploadFailure, UploadStep};

/// The largest ImageX reply read (they are a few hundred bytes).
const REPLY_LIMIT: usize = 256 * 1024;

/// Shown instead of an address reply that does not parse: it may hold the upload credential.
const WITHHELD: &str = "<withheld: address replies carry the upload credential>";

/// Where and with what credential the bytes go. `Debug` hides the credential.
pub(super) struct UploadAddress {
    pub(super) store_uri: String,
    auth: String,
    upload_host: String,
    pub(super) log_id: String,
}

impl fmt::Debug for UploadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadAddress")
            .field("store_uri", &self.store_uri)
            .field("auth", &"<redacted>")
            .field("upload_host", &self.upload_host)
            .field("log_id", &self.log_id)
            .finish()
    }
}

fn upload_error(step: UploadStep, failure: UploadFailure, detail: impl Into<String>, log_id: &str) -> Error {
    let mut error = UploadError::new(step, failure, detail);
    error.log_id = log_id.to_owned();
    Error::from(error)
}

/// A transport failure of `step`, classified like the API calls' and stripped of its URL.
fn transport_error(step: UploadStep, error: reqwest::Error, log_id: &str) -> Error {
    let kind = if error.is_connect() {
        TransportKind::Connect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Io
    };
    let mut upload = UploadError::new(step, UploadFailure::Transport(kind), "").with_source(error.without_url());
    upload.log_id = log_id.to_owned();
    Error::from(upload)
}

/// Reads a reply body of at most [`REPLY_LIMIT`] bytes.
async fn read_reply(step: UploadStep, mut response: reqwest::Response, log_id: &str) -> Result<Vec<u8>> {
    let too_large =
        || upload_error(step, UploadFailure::Transport(TransportKind::BodyTooLarge { limit: REPLY_LIMIT }), "", log_id);
    if response.content_length().is_some_and(|len| len > REPLY_LIMIT as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(step, e, log_id))? {
        if body.len() + chunk.len() > REPLY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A text field that may come as a string or a number.
fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// `host` or `host:port`, nothing that could turn the URL into another one.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'))
}

/// What the store URI keeps as it is in the URL path: RFC 3986 unreserved characters and `/`.
const STORE_PATH_KEEPS: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// The store URI as a URL path, the rest percent-encoded.
fn encode_path(store_uri: &str) -> String {
    percent_encoding::utf8_percent_encode(store_uri, STORE_PATH_KEEPS).to_string()
}

/// Step 2: GET `auth_query`; the first store info and upload host of its reply.
pub(super) async fn request_address(http: &reqwest::Client, auth_query: &str) -> Result<UploadAddress> {
    const STEP: UploadStep = UploadStep::Authorize;
    let response = http
        .get(auth_query)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| transport_error(STEP, e, ""))?;
    let status = response.status().as_u16();
    let log_id =
        response.headers().get("x-tt-logid").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let body = read_reply(STEP, response, &log_id).await?;
    let Ok(reply) = serde_json::from_slice::<Value>(&body) else {
        if !(200..300).contains(&status) {
            // An error page: no credential was handed out, the excerpt is safe to show.
            let mut error = UploadError::new(STEP, UploadFailure::Transport(TransportKind::Status(status)), "");
            (error.excerpt, error.log_id) = (excerpt(&body), log_id);
            return Err(Error::from(error));
        }
        return Err(upload_error(STEP, UploadFailure::Malformed, format!("the reply is not JSON {WITHHELD}"), &log_id));
    };
    if let Some(refusal) = reply.pointer("/ResponseMetadata/Error").filter(|e| e.is_object()) {
        let code = text_of(refusal.get("Code"));
        let message = text_of(refusal.get("Message"));
        return Err(upload_error(STEP, UploadFailure::Refused { status, code }, message, &log_id));
    }
    if !(200..300).contains(&status) {
        return Err(upload_error(STEP, UploadFailure::Transport(TransportKind::Status(status)), "", &log_id));
    }
    let field = |pointer: &str| -> Result<String> {
        match reply.pointer(pointer).and_then(Value::as_str) {
            Some(text) if !text.is_empty() => Ok(text.to_owned()),
            _ => Err(upload_error(STEP, UploadFailure::Malformed, format!("no `{pointer}` string"), &log_id)),
        }
    };
    let store_uri = field("/Result/UploadAddress/StoreInfos/0/StoreUri")?;
    let auth = field("/Result/UploadAddress/StoreInfos/0/Auth")?;
    let upload_host = field("/Result/UploadAddress/UploadHosts/0")?;
    if !is_plain_host(&upload_host) {
        let detail = format!("the upload host `{upload_host}` is not a plain host[:port]");
        return Err(upload_error(STEP, UploadFailure::Malformed, detail, &log_id));
    }
    if store_uri.starts_with('/') || store_uri.split('/').any(|segment| segment == "..") {
        let detail = format!("the store URI `{store_uri}` is not a relative object key");
        return Err(upload_error(STEP, UploadFailure::Malformed, detail, &log_id));
    }
    Ok(UploadAddress { store_uri, auth, upload_host, log_id })
}

/// Step 3: PUT the bytes to `http://{upload_host}/{store_uri}` (the scheme the official
/// SDK uses); success is a JSON reply with `success == 0`.
pub(super) async fn put_object(
    http: &reqwest::Client,
    address: &UploadAddress,
    material: &Prepared,
    timeout: Duration,
) -> Result<()> {
    const STEP: UploadStep = UploadStep::Put;
    let log_id = address.log_id.as_str();
    let local_failure = LocalFailure::default();
    let url = format!("http://{}/{}", address.upload_host, encode_path(&address.store_uri));
    let sent = http
        .put(url)
        .header("authorization", address.auth.as_str())
        .header("content-crc32", crc32_hex(material.crc32))
        .timeout(timeout)
        .body(material.body(&local_failure).await?)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            // A file body that stopped on purpose says why; otherwise the network failed.
            let local = local_failure.lock().unwrap_or_else(|e| e.into_inner()).take();
            return Err(match local {
                Some(mut local) => {
                    local.log_id = log_id.to_owned();
                    Error::from(local)
                }
                None => transport_error(STEP, error, log_id),
            });
        }
    };
    let status = response.status().as_u16();
    let body = read_reply(STEP, response, log_id).await?;
    let Ok(reply) = serde_json::from_slice::<Value>(&body) else {
        let failure = match status {
            200..=299 => UploadFailure::Malformed,
            _ => UploadFailure::Transport(TransportKind::Status(status)),
        };
        let mut error = UploadError::new(STEP, failure, "");
        (error.excerpt, error.log_id) = (excerpt(&body), log_id.to_owned());
        return Err(Error::from(error));
    };
    let success = reply.get("success").and_then(|s| s.as_i64().or_else(|| s.as_str()?.trim().parse().ok()));
    match success {
        Some(0) if (200..300).contains(&status) => Ok(()),
        Some(0) | None => {
            let failure = match status {
                200..=299 => UploadFailure::Malformed,
                _ => UploadFailure::Transport(TransportKind::Status(status)),
            };
            let mut error = UploadError::new(STEP, failure, "no `success` of 0 in the reply");
            (error.excerpt, error.log_id) = (excerpt(&body), log_id.to_owned());
            Err(Error::from(error))
        }
        Some(_) => Err(refusal(&reply, status, &body, log_id)),
    }
}

/// A PUT reply with `success != 0`: `error.{code, error, message}` as the storage service
/// writes them. Its code for a checksum mismatch is not documented, so a refusal whose
/// text says the CRC or checksum does not match is taken as one.
fn refusal(reply: &Value, status: u16, body: &[u8], log_id: &str) -> Error {
    let error = reply.get("error");
    let field = |name: &str| text_of(error.and_then(|e| e.get(name)));
    let (name, message) = (field("error"), field("message"));
    let code = [field("error_code"), field("code"), name.clone()].into_iter().find(|c| !c.is_empty() && c != "0");
    let text = format!("{name} {message}").to_ascii_lowercase();
    let failure = if text.contains("mismatch") && (text.contains("crc") || text.contains("checksum")) {
        UploadFailure::CrcMismatch { status }
    } else {
        UploadFailure::Refused { status, code: code.unwrap_or_default() }
    };
    let detail = [name, message].into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join(": ");
    let mut upload = UploadError::new(UploadStep::Put, failure, detail);
    if upload.detail.is_empty() {
        upload.excerpt = excerpt(body);
    }
    upload.log_id = log_id.to_owned();
    Error::from(upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_paths_cannot_redirect_the_put() {
        assert!(is_plain_host("tos-d-x-hl.snssdk.com"));
        assert!(is_plain_host("127.0.0.1:8080"));
        assert!(is_plain_host("[::1]:8080"));
        for bad in ["", "evil.com/x", "user@evil.com", "a b", "host?x=1", "host#x"] {
            assert!(!is_plain_host(bad), "{bad}");
        }
        assert_eq!(encode_path("tos-cn-i-abc/0f1e~x.png"), "tos-cn-i-abc/0f1e~x.png");
        assert_eq!(encode_path("a b/c?d#e%"), "a%20b/c%3Fd%23e%25");
    }

    #[test]
    fn put_refusals_name_a_crc_mismatch() {
        let reply: Value = serde_json::from_str(
            r#"{"success":-1,"error":{"code":400,"error":"Crc32Mismatch","error_code":4001,"message":"bad"}}"#,
        )
        .unwrap();
        let err = refusal(&reply, 400, b"", "L");
        let Error::Upload(u) = &err else { panic!("{err:?}") };
        assert_eq!(u.failure, UploadFailure::CrcMismatch { status: 400 });
        assert_eq!((u.detail.as_str(), u.log_id.as_str()), ("Crc32Mismatch: bad", "L"));
        assert!(!err.is_retryable() && !err.is_ambiguous());

        let reply: Value =
            serde_json::from_str(r#"{"success":-1,"error":{"code":401,"error":"InvalidAuthorization"}}"#).unwrap();
        let err = refusal(&reply, 401, b"", "");
        let Error::Upload(u) = &err else { panic!("{err:?}") };
        assert_eq!(u.failure, UploadFailure::Refused { status: 401, code: "401".into() });
        assert!(err.to_string().contains("InvalidAuthorization"), "{err}");
    }
}
