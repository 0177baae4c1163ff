//! Binary material upload through the SDK: a local image goes through open.materialToken,
//! the address GET and the PUT to the gateway, then into material.uploadImageSync; limits,
//! refusals, retries and what goes over the wire.

use doudian_gateway::{Fault, FaultRule};
use doudian_sdk::api::material::MaterialUploadImageSyncRequest;
use doudian_sdk::error::{Chain, TransportKind, UploadFailure, UploadStep};
use doudian_sdk::upload::{crc32, crc32_hex, UploadOptions};
use doudian_sdk::{AccessToken, CallOptions, Error};
use e2e_tests::*;

/// PNG-looking bytes: the signature, then a pattern.
fn png_like(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len.saturating_sub(8)).map(|i| (i * 31 % 256) as u8));
    bytes
}

fn upload_error(err: &Error) -> &doudian_sdk::error::UploadError {
    match err {
        Error::Upload(upload) => upload,
        other => panic!("expected an upload error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_local_image_reaches_the_material_center() {
    let gw = gateway().await;
    let client = client(&gw);
    let dir = TempDir::new("upload");
    let path = dir.path().join("Front.PNG");
    let image = png_like(300 * 1024); // several 64 KiB chunks
    std::fs::write(&path, &image).unwrap();

    let uploaded = client.upload_file(&path).await.unwrap();
    assert!(uploaded.store_uri.starts_with("tos-cn-i-doudiangw/"), "{uploaded:?}");
    assert_eq!((uploaded.size, uploaded.crc32), (image.len() as u64, crc32(&image)));
    assert!(!uploaded.log_id.is_empty());
    let stored = gw.stored_object(&uploaded.store_uri).expect("the gateway stored it");
    assert_eq!((stored.size, stored.crc32, stored.extension.as_str()), (uploaded.size, uploaded.crc32, ".png"));

    let request = MaterialUploadImageSyncRequest::new("0", "front").file_uri(&uploaded.store_uri).need_distinct(true);
    let material = client.execute(&request).await.unwrap();
    assert_eq!(material.is_new, Some(true));
    assert_eq!(material.material_id.as_deref().map(str::len), Some(19));
    let again = client.execute(&request).await.unwrap();
    assert_eq!((again.is_new, &again.material_id), (Some(false), &material.material_id));

    // Bytes in memory take the same way.
    let jpeg = b"\xff\xd8\xff\xe0 not really a jpeg".to_vec();
    let from_memory = client.upload_material(jpeg.clone(), ".jpg").await.unwrap();
    assert_ne!(from_memory.store_uri, uploaded.store_uri);
    assert_eq!(gw.stored_object(&from_memory.store_uri).unwrap().crc32, crc32(&jpeg));

    let unknown = MaterialUploadImageSyncRequest::new("0", "x").file_uri("tos-cn-i-doudiangw/never-uploaded");
    let err = client.execute(&unknown).await.unwrap_err();
    assert_eq!(err.api().map(|api| (api.code, api.sub_code.as_str())), Some((40003, "isv.parameter-invalid")));

    let uploads = gw.counters().uploads;
    assert_eq!((uploads.tokens_issued, uploads.addresses, uploads.puts, uploads.stored), (2, 2, 2, 2));
    assert_eq!(uploads.put_refusals, 0);
}

#[tokio::test]
async fn an_over_limit_file_is_refused_before_any_request() {
    let gw = gateway().await;
    let client = client(&gw);
    let dir = TempDir::new("upload-limit");
    let path = dir.path().join("big.png");
    std::fs::write(&path, png_like(1001)).unwrap();

    let err = client.upload_file_with(&path, &UploadOptions::new().max_bytes(1000)).await.unwrap_err();
    let upload = upload_error(&err);
    assert_eq!(
        (upload.step, &upload.failure),
        (UploadStep::Read, &UploadFailure::TooLarge { size: 1001, limit: 1000 })
    );
    assert!(!err.is_retryable() && !err.is_ambiguous());
    assert_eq!(gw.counters().requests, 0, "not even the token call was sent");
    // The same file within the limit goes through.
    client.upload_file_with(&path, &UploadOptions::new().max_bytes(1001)).await.unwrap();
}

#[tokio::test]
async fn a_lost_put_reply_is_retried_to_the_same_store_uri() {
    let gw = gateway().await;
    let client = client(&gw);
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method("imagex.put").times(1));
    let uploaded = client.upload_material(png_like(2048), ".png").await.unwrap();
    let uploads = gw.counters().uploads;
    // One address, two PUTs of the same bytes to it: the object exists once.
    assert_eq!((uploads.tokens_issued, uploads.addresses, uploads.puts, uploads.stored), (1, 1, 2, 2));
    assert!(gw.stored_object(&uploaded.store_uri).is_some());

    // A lost address reply starts again from the token call (the auth_query works once).
    gw.reset_counters();
    gw.inject(FaultRule::new(Fault::DropConnection).for_method("imagex.apply").times(1));
    client.upload_material(png_like(100), ".png").await.unwrap();
    let uploads = gw.counters().uploads;
    assert_eq!((uploads.tokens_issued, uploads.addresses, uploads.stored), (2, 1, 1));

    // Every PUT reply lost: the outcome is unknown, and said so.
    gw.reset_counters();
    gw.inject(FaultRule::new(Fault::DropAfterProcessing).for_method("imagex.put"));
    let err = client.upload_material(png_like(100), ".png").await.unwrap_err();
    let upload = upload_error(&err);
    assert_eq!((upload.step, &upload.failure), (UploadStep::Put, &UploadFailure::Transport(TransportKind::Io)));
    assert!(err.is_ambiguous() && !err.is_retryable(), "{err}");
    assert_eq!(gw.counters().uploads.puts, 3, "the client's 3 attempts");
}

#[tokio::test]
async fn the_wire_and_a_crc_mismatch_through_a_scripted_platform() {
    // Three servers, each started before the one whose reply names it: the upload host,
    // the address service, the platform.
    let put_refusal = r#"{"success":-1,"error":{"code":400,"error":"Crc32Mismatch","error_code":4001,"message":"checksum mismatch"}}"#;
    let storage = ScriptedServer::start(vec![Canned { status: 400, body: put_refusal.into(), chunked: false }]).await;
    let address = format!(
        r#"{{"ResponseMetadata":{{"RequestId":"R1"}},"Result":{{"UploadAddress":{{"StoreInfos":[{{"StoreUri":"tos-cn-i-x/obj1","Auth":"SpaceKey/secret-auth"}}],"UploadHosts":["{}"]}}}}}}"#,
        storage.base_url.trim_start_matches("http://")
    );
    let imagex = ScriptedServer::start(vec![Canned::ok(address)]).await;
    let token = envelope(&format!(r#"{{"auth_query":"{}/apply?Credential=secret-credential"}}"#, imagex.base_url));
    let platform = ScriptedServer::start(vec![Canned::ok(token)]).await;

    let client = platform.client(fast_retry(3));
    let options = UploadOptions::new().token_call(CallOptions::new().access_token(AccessToken::new("tok-secret")));
    let bytes = png_like(70_000);
    let err = client.upload_material_with(bytes.clone(), ".png", &options).await.unwrap_err();

    let upload = upload_error(&err);
    assert_eq!((upload.step, &upload.failure), (UploadStep::Put, &UploadFailure::CrcMismatch { status: 400 }));
    assert!(!err.is_retryable() && !err.is_ambiguous(), "a refusal is final: {err}");
    for secret in ["secret-auth", "secret-credential", "tok-secret"] {
        assert!(!format!("{err} {err:?}").contains(secret), "{secret} leaks: {err:?}");
    }
    assert_eq!((platform.hits(), imagex.hits(), storage.hits()), (1, 1, 1), "no retry after a refusal");

    let call = &platform.requests()[0];
    assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/open/materialToken"));
    let params: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(params, serde_json::json!({"file_extension": ".png", "upload_num": 1}));
    let get = &imagex.requests()[0];
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", "/apply"));
    assert_eq!(get.query_value("Credential").as_deref(), Some("secret-credential"));
    let put = &storage.requests()[0];
    assert_eq!((put.method.as_str(), put.path.as_str()), ("PUT", "/tos-cn-i-x/obj1"));
    assert_eq!(put.header("authorization"), Some("SpaceKey/secret-auth"));
    assert_eq!(put.header("content-crc32"), Some(crc32_hex(crc32(&bytes)).as_str()));
    assert_eq!(put.header("content-length"), Some("70000"));
    assert_eq!(put.body, bytes);
}

#[tokio::test]
async fn an_unreachable_upload_host_is_retried_alone_and_reported_as_such() {
    let address = r#"{"Result":{"UploadAddress":{"StoreInfos":[{"StoreUri":"tos-cn-i-x/obj2","Auth":"A"}],"UploadHosts":["127.0.0.1:9"]}}}"#;
    let imagex = ScriptedServer::start(vec![Canned::ok(address)]).await;
    let token = envelope(&format!(r#"{{"auth_query":"{}/apply?c=1"}}"#, imagex.base_url));
    let platform = ScriptedServer::start(vec![Canned::ok(token)]).await;
    let client = platform.client(fast_retry(3));
    let options = UploadOptions::new().token_call(CallOptions::new().access_token(AccessToken::new("t")));

    let err = client.upload_material_with(png_like(10), ".png", &options).await.unwrap_err();
    let upload = upload_error(&err);
    assert_eq!((upload.step, &upload.failure), (UploadStep::Put, &UploadFailure::Transport(TransportKind::Connect)));
    assert!(err.is_retryable() && !err.is_ambiguous(), "nothing was sent: {err}");
    // The message, then the HTTP client's cause (from `source()`).
    let printed = Chain(&err).to_string();
    assert!(printed.starts_with("upload failed at the PUT of the bytes: could not connect: "), "{printed}");
    assert!(!printed.contains("127.0.0.1:9/"), "no URL in errors: {printed}");
    // The PUT was retried on its own: one token call, one address.
    assert_eq!((platform.hits(), imagex.hits()), (1, 1));
}
