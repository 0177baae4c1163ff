//! Binary material upload over the raw wire (PROTOCOL.md §8): open.materialToken, the GET
//! of its auth_query, the PUT with Authorization and Content-CRC32, material.uploadImageSync.

mod common;

use common::*;
use doudian_gateway::Gateway;
use doudian_sdk::upload::{crc32, crc32_hex};
use serde_json::{json, Value};

/// What the GET of an auth_query handed out.
#[derive(Clone)]
struct Address {
    store_uri: String,
    auth: String,
    host: String,
}

async fn auth_query(caller: &Caller, extension: &str) -> String {
    let reply = caller.call("open.materialToken", json!({"upload_num": 1, "file_extension": extension})).await;
    assert_ok(&reply)["auth_query"].as_str().expect("auth_query").to_owned()
}

async fn address(http: &reqwest::Client, auth_query: &str) -> Address {
    let response = http.get(auth_query).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-tt-logid").is_some_and(|id| !id.is_empty()));
    let reply = json_of(response).await;
    assert!(reply["ResponseMetadata"].get("Error").is_none(), "{reply}");
    let info = &reply["Result"]["UploadAddress"]["StoreInfos"][0];
    Address {
        store_uri: info["StoreUri"].as_str().unwrap().to_owned(),
        auth: info["Auth"].as_str().unwrap().to_owned(),
        host: reply["Result"]["UploadAddress"]["UploadHosts"][0].as_str().unwrap().to_owned(),
    }
}

async fn put(http: &reqwest::Client, address: &Address, auth: &str, crc: &str, bytes: &[u8]) -> (u16, Value) {
    let response = http
        .put(format!("http://{}/{}", address.host, address.store_uri))
        .header("authorization", auth)
        .header("content-crc32", crc)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), json_of(response).await)
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).expect("a JSON reply")
}

fn png_like(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len.saturating_sub(8)).map(|i| (i * 31 % 256) as u8));
    bytes
}

#[tokio::test]
async fn the_three_steps_store_an_object_that_image_sync_accepts() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let http = reqwest::Client::new();
    let query = auth_query(&caller, ".png").await;
    assert!(query.starts_with(&format!("{}/_imagex/?Action=ApplyImageUpload&", gw.base_url())), "{query}");
    let address = address(&http, &query).await;
    assert_eq!(address.host, gw.addr().to_string(), "the upload host is the gateway itself");

    let bytes = png_like(5000);
    let (status, reply) = put(&http, &address, &address.auth, &crc32_hex(crc32(&bytes)), &bytes).await;
    assert_eq!((status, reply["success"].as_i64()), (200, Some(0)), "{reply}");
    assert_eq!(reply["payload"]["hash"], crc32_hex(crc32(&bytes)));
    let stored = gw.stored_object(&address.store_uri).expect("stored");
    assert_eq!((stored.size, stored.crc32, stored.extension.as_str()), (5000, crc32(&bytes), ".png"));

    let sync = json!({"folder_id": "0", "material_name": "front", "file_uri": address.store_uri});
    let data = assert_ok(&caller.call("material.uploadImageSync", sync).await).clone();
    assert_eq!(data["is_new"], true);
    assert_eq!(data["material_id"].as_str().map(str::len), Some(19));
    assert!(data["byte_url"].as_str().unwrap().ends_with(&address.store_uri), "{data}");

    let unknown = json!({"folder_id": "0", "material_name": "x", "file_uri": "tos-cn-i-doudiangw/never-uploaded"});
    assert_error(&caller.call("material.uploadImageSync", unknown).await, 40003, "isv.parameter-invalid");

    let uploads = gw.counters().uploads;
    assert_eq!((uploads.tokens_issued, uploads.addresses, uploads.puts, uploads.stored), (1, 1, 1, 1));
    assert_eq!((uploads.put_refusals, uploads.bytes_stored), (0, 5000));
}

#[tokio::test]
async fn corrupted_padded_or_unauthorised_puts_are_refused() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let http = reqwest::Client::new();
    let address = address(&http, &auth_query(&caller, ".jpg").await).await;
    // A body whose CRC has leading zero digits, to tell padded from unpadded.
    let bytes = (0u32..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|b| crc32(b) < 0x1000_0000)
        .expect("some 4-byte body has a CRC below 0x10000000");
    let crc = crc32(&bytes);
    let refused = |reply: &Value, name: &str| {
        assert_eq!(reply["success"], -1, "{reply}");
        assert_eq!(reply["error"]["error"], name, "{reply}");
    };

    let (status, reply) = put(&http, &address, &address.auth, &crc32_hex(crc ^ 1), &bytes).await;
    assert_eq!(status, 400);
    refused(&reply, "Crc32Mismatch");
    let (status, reply) = put(&http, &address, &address.auth, &format!("{crc:08x}"), &bytes).await;
    assert_eq!(status, 400);
    refused(&reply, "InvalidContentCRC32");
    let (_, reply) = put(&http, &address, &address.auth, &format!("{crc:X}"), &bytes).await;
    refused(&reply, "InvalidContentCRC32");
    let (status, reply) = put(&http, &address, "SpaceKey/other", &crc32_hex(crc), &bytes).await;
    assert_eq!(status, 401);
    refused(&reply, "InvalidAuthorization");
    let elsewhere = Address { store_uri: "tos-cn-i-doudiangw/unknown".into(), ..address.clone() };
    let (status, reply) = put(&http, &elsewhere, &elsewhere.auth, &crc32_hex(crc), &bytes).await;
    assert_eq!(status, 404);
    refused(&reply, "NoSuchUpload");
    assert!(gw.counters().uploads.stored == 0);

    // The slot survives refusals, and a second PUT of the same bytes is idempotent.
    for _ in 0..2 {
        let (status, reply) = put(&http, &address, &address.auth, &crc32_hex(crc), &bytes).await;
        assert_eq!((status, reply["success"].as_i64()), (200, Some(0)), "{reply}");
    }
    let uploads = gw.counters().uploads;
    assert_eq!((uploads.stored, uploads.put_refusals, uploads.crc_mismatches), (2, 5, 1));
    assert_eq!(gw.stored_object(&address.store_uri).map(|o| o.crc32), Some(crc));
}

#[tokio::test]
async fn an_auth_query_works_once_and_parameters_are_checked() {
    let gw = gateway().await;
    let caller = authed(&gw).await;
    let http = reqwest::Client::new();
    let query = auth_query(&caller, ".png").await;
    address(&http, &query).await;
    let again = http.get(&query).send().await.unwrap();
    assert_eq!(again.status(), 401);
    let reply = json_of(again).await;
    assert_eq!(reply["ResponseMetadata"]["Error"]["Code"], "InvalidCredential", "{reply}");
    assert_eq!(gw.counters().uploads.address_refusals, 1);

    // Credentials and Auth live 15 minutes on the gateway's clock.
    let late = auth_query(&caller, ".png").await;
    let slot = address(&http, &auth_query(&caller, ".png").await).await;
    gw.advance_clock(std::time::Duration::from_secs(16 * 60));
    let expired = http.get(&late).send().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(json_of(expired).await["ResponseMetadata"]["Error"]["Code"], "CredentialExpired");
    let (status, reply) = put(&http, &slot, &slot.auth, "0", b"").await;
    assert_eq!((status, reply["error"]["error"].as_str()), (401, Some("AuthorizationExpired")), "{reply}");

    let no_dot = caller.call("open.materialToken", json!({"upload_num": 1, "file_extension": "png"})).await;
    assert_error(&no_dot, 40003, "isv.parameter-invalid");
    let none = caller.call("open.materialToken", json!({"upload_num": 0, "file_extension": ".png"})).await;
    assert_error(&none, 40003, "isv.parameter-invalid");
    let missing = caller.call("open.materialToken", json!({"file_extension": ".png"})).await;
    assert_error(&missing, 40001, "isv.parameter-missing");
}

#[tokio::test]
async fn bodies_over_the_upload_limit_are_refused() {
    let gw = Gateway::builder().app_key(APP_KEY).app_secret(APP_SECRET).max_upload_bytes(1000).start().await.unwrap();
    let caller = authed(&gw).await;
    let http = reqwest::Client::new();
    let address = address(&http, &auth_query(&caller, ".png").await).await;
    let bytes = png_like(1001);
    let (status, reply) = put(&http, &address, &address.auth, &crc32_hex(crc32(&bytes)), &bytes).await;
    assert_eq!((status, reply["error"]["error"].as_str()), (413, Some("EntityTooLarge")), "{reply}");
    assert!(gw.stored_object(&address.store_uri).is_none());
}
