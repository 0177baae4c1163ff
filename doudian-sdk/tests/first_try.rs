//! Code a newcomer writes first, exactly as written (issue 19): this file must compile.
//! Each line below did not before; the tests also run it, against nothing but loopback.

use doudian_sdk::error::TransportKind;
use doudian_sdk::push::{sign_push_body, PushVerifier};
use doudian_sdk::retry::RetryPolicy;
use doudian_sdk::token::FileTokenStore;
use doudian_sdk::{CallOptions, Client, Error, SignMethod};
use serde_json::json;

#[test]
fn a_store_goes_to_the_builder_as_it_is() {
    let (k, s) = ("7012345678901234567", "app-secret");
    let client = Client::builder(k, s).token_store(FileTokenStore::new("t.json")).build().unwrap();
    assert_eq!(client.app_key(), k);
}

#[test]
fn a_verifier_takes_the_secret_as_text() {
    let verifier = PushVerifier::new("k", "s");
    let body = b"[]";
    let signature = sign_push_body("k", "s", body, SignMethod::Md5);
    assert!(verifier.verify(Some("k"), Some(&signature), body).is_ok());
    assert!(PushVerifier::new("k", "another").verify(Some("k"), Some(&signature), body).is_err());
}

#[tokio::test]
async fn a_call_takes_a_json_value() {
    // Port 9 on loopback: nothing listens, so the call is built, signed and refused a
    // connection.
    let client = Client::builder("7012345678901234567", "app-secret")
        .base_url("http://127.0.0.1:9")
        .env_proxy(false)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let options = CallOptions::default().without_token();
    let result = client.call_value("shop.brandList", &json!({}), &options).await;
    assert!(matches!(result, Err(Error::Transport(ref t)) if t.kind == TransportKind::Connect), "{result:?}");
    // The brief's form, with the client's own token handling: no shop is configured.
    let unconfigured = client.call_value("shop.brandList", &json!({}), &CallOptions::default()).await;
    assert!(matches!(unconfigured, Err(Error::Config(_))), "{unconfigured:?}");
}
