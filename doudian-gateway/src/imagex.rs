//! Binary material upload (PROTOCOL.md §8), played by the gateway itself:
//!
//! 1. `open.materialToken` answers an `auth_query` URL pointing back at the gateway
//!    (`/_imagex/?Action=ApplyImageUpload&...&Credential=…`), its credential single-use;
//! 2. `GET /_imagex/` answers the ImageX-shaped address: a store URI, its `Auth` and the
//!    gateway's own `host:port` as upload host;
//! 3. `PUT /tos-cn-i-doudiangw/{object}` checks `Authorization` and `Content-CRC32`
//!    (lower-case hex without leading zeros) against the body, streamed, and remembers
//!    the object (its size and CRC, not its bytes);
//! 4. `material.uploadImageSync` with `file_uri` = a stored URI makes it a material.
//!
//! The upload endpoints take faults from rules naming them, `imagex.apply` and
//! `imagex.put` (delay, HTTP status, dropped connection before; dropped after storing);
//! rules for every method are left to the API calls.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::envelope::{ApiFailure, CODE_MISSING_PARAMETER};
use crate::faults::Fault;
use crate::listener::{dropped, request_host, Connection};
use crate::params::Params;
use crate::query::Query;
use crate::state::Inner;
use crate::uploads::{Apply, Slot, StoredObject};

/// The bucket-like prefix of every store URI the gateway hands out.
pub(crate) const STORE_PREFIX: &str = "tos-cn-i-doudiangw";
/// How long an `auth_query` credential and an upload `Auth` stay valid (gateway clock).
const CREDENTIAL_TTL_MS: u64 = 15 * 60 * 1000;
/// At most this many store infos per `open.materialToken`.
const MAX_UPLOAD_NUM: i64 = 10;

/// CRC-32 (IEEE, reflected), bit by bit: deliberately not the SDK's table-driven code, so
/// the two check each other.
fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

/// `Content-CRC32` as the official SDK writes it: 1-8 lower-case hex digits, no leading
/// zero (except `0` itself).
fn parse_crc_header(text: &str) -> Option<u32> {
    let well_formed = (1..=8).contains(&text.len())
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && (text == "0" || !text.starts_with('0'));
    well_formed.then(|| u32::from_str_radix(text, 16).ok()).flatten()
}

/// `open.materialToken`: a single-use credential in an `auth_query` URL back to `host`.
pub(crate) fn material_token(inner: &Inner, p: &Params<'_>, host: &str) -> Result<Value, ApiFailure> {
    let upload_num = p.i64_req("upload_num")?;
    if !(1..=MAX_UPLOAD_NUM).contains(&upload_num) {
        return Err(ApiFailure::parameter_invalid(format!(
            "`upload_num` must be 1 to {MAX_UPLOAD_NUM}, got {upload_num}"
        )));
    }
    let extension = p.str_opt("file_extension")?.unwrap_or_default();
    let name = extension.strip_prefix('.');
    if !extension.is_empty() && !name.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(ApiFailure::parameter_invalid(format!(
            "`file_extension` must be a dot and letters or digits, e.g. `.jpg`, got {extension:?}"
        )));
    }
    let credential = format!("{:016x}{:016x}", inner.rng.next_u64(), inner.rng.next_u64());
    let now = inner.clock.now_ms();
    let apply =
        Apply { extension: extension.clone(), upload_num: upload_num as usize, expires_ms: now + CREDENTIAL_TTL_MS };
    {
        // Unused credentials are forgotten once expired.
        let mut uploads = inner.uploads();
        uploads.applies.retain(|_, unused| unused.expires_ms >= now);
        uploads.applies.insert(credential.clone(), apply);
    }
    inner.counters.update(|c| c.uploads.tokens_issued += 1);
    Ok(json!({
        "auth_query": format!(
            "http://{host}/_imagex/?Action=ApplyImageUpload&Version=2018-08-01&ServiceId=doudiangw\
             &UploadNum={upload_num}&FileExtension={extension}&Credential={credential}"
        )
    }))
}

/// `material.uploadImageSync`: `file_uri` must be a stored object; `url` is taken as is.
pub(crate) fn upload_image_sync(inner: &Inner, p: &Params<'_>) -> Result<Value, ApiFailure> {
    let folder_id = p.str_req("folder_id")?;
    p.str_req("material_name")?;
    let need_distinct = p.bool_opt("need_distinct")?.unwrap_or(false);
    let mut uploads = inner.uploads();
    let (content_key, byte_url) = match (p.str_opt("file_uri")?, p.str_opt("url")?) {
        (Some(file_uri), _) => {
            let object = uploads.objects.get(&file_uri).ok_or_else(|| {
                ApiFailure::parameter_invalid(format!(
                    "`file_uri` {file_uri:?} is not an uploaded object (open.materialToken, then PUT the bytes)"
                ))
            })?;
            let key = format!("{:08x}:{}", object.crc32, object.size);
            (key, format!("https://p3-aio.ecombdimg.com/obj/{file_uri}"))
        }
        (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => (url.clone(), url),
        (None, Some(url)) => return Err(ApiFailure::parameter_invalid(format!("`url` {url:?} is not an http(s) URL"))),
        (None, None) => {
            return Err(ApiFailure::new(
                CODE_MISSING_PARAMETER,
                "isv.parameter-missing",
                "one of `file_uri` and `url` is required",
            ))
        }
    };
    let existing = need_distinct.then(|| uploads.materials.get(&content_key).cloned()).flatten();
    let is_new = existing.is_none();
    let material_id = existing.unwrap_or_else(|| {
        uploads.next_material += 1;
        let id = (7_400_000_000_000_000_000u64 + uploads.next_material).to_string();
        uploads.materials.insert(content_key, id.clone());
        id
    });
    // Images pass the audit at once here (3: passed).
    Ok(json!({
        "material_id": material_id,
        "folder_id": folder_id,
        "is_new": is_new,
        "audit_status": 3,
        "byte_url": byte_url,
    }))
}

fn imagex_reply(status: StatusCode, log_id: &str, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(log_id) {
        headers.insert("x-tt-logid", value);
    }
    response
}

/// Faults before processing: `Some(reply)` when one answers instead of the endpoint.
async fn faults_before(inner: &Inner, name: &str, connection: &Connection) -> (Option<Response>, Vec<Fault>) {
    let drawn = inner.faults.draw_endpoint(name, &inner.rng);
    if !drawn.fired.is_empty() {
        inner.counters.update(|c| drawn.fired.iter().for_each(|fired| *c.faults.entry(fired).or_default() += 1));
    }
    if !drawn.delay.is_zero() {
        tokio::time::sleep(drawn.delay).await;
    }
    let early = match drawn.before {
        Some(Fault::DropConnection) => Some(dropped(connection)),
        Some(Fault::HttpStatus(code)) => {
            let mut response = Response::new(Body::from(format!("<html><body><h1>{code}</h1></body></html>")));
            *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            Some(response)
        }
        _ => None,
    };
    (early, drawn.after)
}

/// `GET /_imagex/?Action=ApplyImageUpload&...&Credential=…`: the upload address.
pub(crate) async fn apply(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    inner.counters.update(|c| c.requests += 1);
    let (early, after) = faults_before(&inner, "imagex.apply", &connection).await;
    if let Some(response) = early {
        return response;
    }
    let log_id = inner.log_ids.next(inner.clock.now_ms());
    let query = Query::parse(uri.query());
    let metadata = json!({
        "RequestId": log_id, "Action": "ApplyImageUpload", "Version": "2018-08-01",
        "Service": "imagex", "Region": "cn-north-1",
    });
    let refuse = |status: StatusCode, code: &str, message: String| {
        inner.counters.update(|c| c.uploads.address_refusals += 1);
        let mut metadata = metadata.clone();
        metadata["Error"] = json!({ "Code": code, "Message": message });
        imagex_reply(status, &log_id, &json!({ "ResponseMetadata": metadata }))
    };
    if query.get("Action") != Some("ApplyImageUpload") {
        return refuse(StatusCode::BAD_REQUEST, "InvalidAction", "Action must be ApplyImageUpload".to_owned());
    }
    let now = inner.clock.now_ms();
    let credential = query.non_empty("Credential").unwrap_or_default();
    let Some(apply) = inner.uploads().applies.remove(credential) else {
        let message = "the credential is unknown or was already used (each auth_query works once)";
        return refuse(StatusCode::UNAUTHORIZED, "InvalidCredential", message.to_owned());
    };
    if now > apply.expires_ms {
        return refuse(StatusCode::UNAUTHORIZED, "CredentialExpired", "the credential expired".to_owned());
    }
    inner.uploads().slots.retain(|_, slot| slot.expires_ms >= now);
    let store_infos: Vec<Value> = (0..apply.upload_num)
        .map(|_| {
            let store_uri = format!("{STORE_PREFIX}/{:016x}{:016x}", inner.rng.next_u64(), inner.rng.next_u64());
            let auth =
                format!("SpaceKey/doudiangw/1/:version:v2:{:016x}{:016x}", inner.rng.next_u64(), inner.rng.next_u64());
            let slot =
                Slot { auth: auth.clone(), extension: apply.extension.clone(), expires_ms: now + CREDENTIAL_TTL_MS };
            inner.uploads().slots.insert(store_uri.clone(), slot);
            json!({ "StoreUri": store_uri, "Auth": auth })
        })
        .collect();
    inner.counters.update(|c| c.uploads.addresses += 1);
    let host = request_host(inner.config.addr, &uri, &headers);
    let reply = json!({
        "ResponseMetadata": metadata,
        "Result": {
            "UploadAddress": { "StoreInfos": store_infos, "UploadHosts": [host], "SessionKey": log_id },
            "RequestId": log_id,
        },
    });
    if after.contains(&Fault::DropAfterProcessing) {
        return dropped(&connection);
    }
    imagex_reply(StatusCode::OK, &log_id, &reply)
}

/// Why a PUT was refused: HTTP status, error name, message.
struct PutRefusal(StatusCode, &'static str, String);

/// `PUT /tos-cn-i-doudiangw/{object}`: checks the credential and the checksum, stores.
pub(crate) async fn put_object(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    Path(object): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    inner.counters.update(|c| {
        c.requests += 1;
        c.uploads.puts += 1;
    });
    let (early, after) = faults_before(&inner, "imagex.put", &connection).await;
    if let Some(response) = early {
        return response;
    }
    let log_id = inner.log_ids.next(inner.clock.now_ms());
    let store_uri = format!("{STORE_PREFIX}/{object}");
    match store(&inner, &store_uri, &headers, body).await {
        Ok(stored) => {
            inner.counters.update(|c| {
                c.uploads.stored += 1;
                c.uploads.bytes_stored += stored.size;
            });
            if after.contains(&Fault::DropAfterProcessing) {
                return dropped(&connection);
            }
            let payload = json!({ "hash": format!("{:x}", stored.crc32), "size": stored.size, "key": store_uri });
            let reply = json!({
                "success": 0,
                "error": { "code": 200, "error": "", "error_code": 0, "message": "" },
                "payload": payload,
            });
            imagex_reply(StatusCode::OK, &log_id, &reply)
        }
        Err(PutRefusal(status, name, message)) => {
            inner.counters.update(|c| {
                c.uploads.put_refusals += 1;
                c.uploads.crc_mismatches += u64::from(name == "Crc32Mismatch");
            });
            let reply = json!({
                "success": -1,
                "error": { "code": status.as_u16(), "error": name, "error_code": status.as_u16(), "message": message },
            });
            imagex_reply(status, &log_id, &reply)
        }
    }
}

/// The checks in order (slot, credential, header, body), then the object is remembered.
/// A repeated PUT of the same bytes to the same store URI stores the same object again.
async fn store(inner: &Inner, store_uri: &str, headers: &HeaderMap, body: Body) -> Result<StoredObject, PutRefusal> {
    let now = inner.clock.now_ms();
    let extension = {
        let uploads = inner.uploads();
        let Some(slot) = uploads.slots.get(store_uri) else {
            let message = format!("{store_uri} was not handed out by an upload address");
            return Err(PutRefusal(StatusCode::NOT_FOUND, "NoSuchUpload", message));
        };
        let sent = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
        if sent != slot.auth.as_bytes() {
            let message = "Authorization is missing or is not the Auth of this store URI".to_owned();
            return Err(PutRefusal(StatusCode::UNAUTHORIZED, "InvalidAuthorization", message));
        }
        if now > slot.expires_ms {
            return Err(PutRefusal(StatusCode::UNAUTHORIZED, "AuthorizationExpired", "the Auth expired".to_owned()));
        }
        slot.extension.clone()
    };
    let header_text = headers.get("content-crc32").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(expected) = parse_crc_header(header_text) else {
        let message = format!(
            "Content-CRC32 must be the body's CRC-32 in lower-case hex without leading zeros, got {header_text:?}"
        );
        return Err(PutRefusal(StatusCode::BAD_REQUEST, "InvalidContentCRC32", message));
    };
    let (crc32, size) = checksum_body(inner, body).await?;
    if crc32 != expected {
        let message = format!("Content-CRC32 {header_text} does not match the body's CRC-32 {crc32:x}");
        return Err(PutRefusal(StatusCode::BAD_REQUEST, "Crc32Mismatch", message));
    }
    let object = StoredObject { store_uri: store_uri.to_owned(), size, crc32, extension };
    inner.uploads().objects.insert(store_uri.to_owned(), object.clone());
    Ok(object)
}

/// Reads the body chunk by chunk within the upload size and time limits: its CRC-32 and
/// size, without keeping it.
async fn checksum_body(inner: &Inner, body: Body) -> Result<(u32, u64), PutRefusal> {
    let limit = inner.config.max_upload_bytes;
    let read = async {
        let (mut crc, mut size, mut body) = (!0u32, 0u64, body);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                PutRefusal(StatusCode::BAD_REQUEST, "InvalidBody", format!("the body could not be read: {e}"))
            })?;
            if let Some(data) = frame.data_ref() {
                size += data.len() as u64;
                if size > limit {
                    let message = format!("the body is larger than {limit} bytes");
                    return Err(PutRefusal(StatusCode::PAYLOAD_TOO_LARGE, "EntityTooLarge", message));
                }
                crc = crc32_update(crc, data);
            }
        }
        Ok((!crc, size))
    };
    let timeout = inner.config.limits.body_timeout;
    tokio::time::timeout(timeout, read).await.unwrap_or_else(|_| {
        let message = format!("the body did not arrive within {} s", timeout.as_secs_f64());
        Err(PutRefusal(StatusCode::REQUEST_TIMEOUT, "RequestTimeout", message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitwise_crc_known_answers() {
        assert_eq!(!crc32_update(!0, b"123456789"), 0xcbf4_3926);
        assert_eq!(!crc32_update(!0, b""), 0);
        let split = crc32_update(crc32_update(!0, b"1234"), b"56789");
        assert_eq!(!split, 0xcbf4_3926);
    }

    #[test]
    fn crc_headers_are_lower_hex_without_padding() {
        assert_eq!(parse_crc_header("cbf43926"), Some(0xcbf4_3926));
        assert_eq!(parse_crc_header("abc"), Some(0xabc));
        assert_eq!(parse_crc_header("0"), Some(0));
        for bad in ["", "00000abc", "0abc", "CBF43926", "0xabc", "123456789", "xyz", " abc"] {
            assert_eq!(parse_crc_header(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn image_sync_needs_an_uploaded_uri() {
        let inner = Inner::for_tests();
        let params = json!({"folder_id": "0", "material_name": "x", "file_uri": "tos-cn-i-doudiangw/nope"});
        let failure = upload_image_sync(&inner, &Params::new(&params)).unwrap_err();
        assert_eq!((failure.code, failure.sub_code.as_str()), (40003, "isv.parameter-invalid"));
        inner.uploads().objects.insert(
            "tos-cn-i-doudiangw/yes".into(),
            StoredObject { store_uri: "tos-cn-i-doudiangw/yes".into(), size: 3, crc32: 7, extension: ".png".into() },
        );
        let params = json!({"folder_id": "0", "material_name": "x", "file_uri": "tos-cn-i-doudiangw/yes", "need_distinct": true});
        let first = upload_image_sync(&inner, &Params::new(&params)).unwrap();
        let again = upload_image_sync(&inner, &Params::new(&params)).unwrap();
        assert_eq!((first["is_new"].as_bool(), again["is_new"].as_bool()), (Some(true), Some(false)));
        assert_eq!(first["material_id"], again["material_id"]);
        assert_eq!(first["material_id"].as_str().map(str::len), Some(19));
        let neither = upload_image_sync(&inner, &Params::new(&json!({"folder_id": "0", "material_name": "x"})));
        assert_eq!(neither.unwrap_err().code, 40001);
    }
}
