//! The secrets a command's logs and replies must never show.

use std::path::Path;

use doudian_gateway::RunningGateway;
use serde_json::Value;

/// The app secret, the pair in the token file and every pair the gateway issued: at least
/// five, or the test did not run both token calls and its scan would mean little.
pub fn every_secret(gw: &RunningGateway, token_file: &Path) -> Vec<String> {
    let shop_file = doudian_sdk::token::FileTokenStore::new(token_file).token_path(&gw.shop_id().to_string());
    let stored: Value = serde_json::from_slice(&std::fs::read(shop_file).unwrap()).unwrap();
    let mut secrets = vec![gw.app_secret().to_owned()];
    for field in ["access_token", "refresh_token"] {
        secrets.push(stored[field].as_str().unwrap().to_owned());
    }
    secrets.extend(gw.issued_tokens().into_iter().flat_map(|t| [t.access_token, t.refresh_token]));
    assert!(secrets.len() >= 5, "{secrets:?}");
    secrets
}
