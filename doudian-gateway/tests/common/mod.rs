//! A minimal signed caller built from reqwest and the SDK's sign functions (deliberately
//! not the SDK client: these tests check the gateway, not the client).
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use doudian_gateway::{format_gmt8, Gateway, RunningGateway};
use doudian_sdk::sign::{canonical_param_json, sign};
use doudian_sdk::SignMethod;
use serde_json::{json, Value};

pub const APP_KEY: &str = "7012345678901234567";
pub const APP_SECRET: &str = "9f8e7d6c-5b4a-4321-8fed-cba987654321";

/// How the timestamp is written.
#[derive(Debug, Clone, Copy)]
pub enum Stamp {
    Seconds,
    Millis,
    DateTime,
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub fn stamp(form: Stamp, offset_secs: i64) -> String {
    let secs = (now_secs() as i64 + offset_secs) as u64;
    match form {
        Stamp::Seconds => secs.to_string(),
        Stamp::Millis => (secs * 1000 + 123).to_string(),
        Stamp::DateTime => format_gmt8(secs),
    }
}

pub async fn gateway() -> RunningGateway {
    Gateway::builder().app_key(APP_KEY).app_secret(APP_SECRET).start().await.expect("gateway starts")
}

#[derive(Clone)]
pub struct Caller {
    pub http: reqwest::Client,
    pub base: String,
    pub app_key: String,
    pub secret: String,
    pub sign_method: Option<SignMethod>,
    pub stamp: Stamp,
    pub token: Option<String>,
}

impl Caller {
    pub fn new(gw: &RunningGateway) -> Self {
        Caller {
            http: reqwest::Client::new(),
            base: gw.base_url(),
            app_key: gw.app_key().to_owned(),
            secret: gw.app_secret().to_owned(),
            sign_method: Some(SignMethod::HmacSha256),
            stamp: Stamp::Seconds,
            token: None,
        }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// The query pairs and body of a correctly signed call.
    pub fn signed(&self, method: &str, body: &str) -> (Vec<(String, String)>, String) {
        let timestamp = stamp(self.stamp, 0);
        let canonical = canonical_param_json(body).unwrap();
        let sign_method = self.sign_method.unwrap_or(SignMethod::Md5);
        let sig = sign(sign_method, &self.app_key, &self.secret, method, &canonical, &timestamp);
        let mut query = vec![
            ("app_key".to_owned(), self.app_key.clone()),
            ("method".to_owned(), method.to_owned()),
            ("v".to_owned(), "2".to_owned()),
            ("timestamp".to_owned(), timestamp),
            ("sign".to_owned(), sig),
        ];
        if let Some(m) = self.sign_method {
            query.push(("sign_method".to_owned(), m.as_str().to_owned()));
        }
        if let Some(token) = &self.token {
            query.push(("access_token".to_owned(), token.clone()));
        }
        (query, body.to_owned())
    }

    pub async fn send(
        &self,
        method: &str,
        query: &[(String, String)],
        body: String,
    ) -> reqwest::Result<reqwest::Response> {
        let url = format!("{}/{}", self.base, method.replace('.', "/"));
        self.http
            .post(url)
            .query(query)
            .header("content-type", "application/json;charset=UTF-8")
            .body(body)
            .send()
            .await
    }

    /// Calls `method` with `params` (a JSON value, sent as written by serde_json).
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.call_text(method, &params.to_string()).await
    }

    pub async fn call_text(&self, method: &str, body: &str) -> Value {
        let (query, body) = self.signed(method, body);
        let response = self.send(method, &query, body).await.expect("reply");
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.text().await.expect("body")).expect("JSON envelope")
    }

    /// token.create for the gateway's shop; returns the data.
    pub async fn create_token(&self, shop_id: i64) -> Value {
        let reply = self
            .call("token.create", json!({"grant_type": "authorization_self", "code": "", "shop_id": shop_id}))
            .await;
        assert_eq!(reply["code"], 10000, "{reply}");
        reply["data"].clone()
    }
}

pub fn assert_error(reply: &Value, code: i64, sub_code: &str) {
    assert_eq!(reply["code"], code, "{reply}");
    assert_eq!(reply["sub_code"], sub_code, "{reply}");
    assert!(reply["log_id"].as_str().is_some_and(|id| !id.is_empty()), "{reply}");
    assert!(reply.get("data").is_none(), "{reply}");
}

pub fn assert_ok(reply: &Value) -> &Value {
    assert_eq!(reply["code"], 10000, "{reply}");
    assert_eq!(reply["msg"], "success");
    assert_eq!(reply["sub_code"], "");
    assert!(reply["log_id"].as_str().is_some_and(|id| !id.is_empty()), "{reply}");
    &reply["data"]
}

/// A caller holding a fresh token for the gateway's shop.
pub async fn authed(gw: &RunningGateway) -> Caller {
    let token = gw.issue_token();
    Caller::new(gw).with_token(&token.access_token)
}
