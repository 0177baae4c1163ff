//! Shared set-up of the example programs: where to connect and as whom.
//!
//! With `DOUDIAN_BASE_URL`, `DOUDIAN_APP_KEY`, `DOUDIAN_APP_SECRET` and `DOUDIAN_SHOP_ID`
//! set, the programs talk to that gateway (the real platform, the sandbox, or a `doudian
//! mock`). With none of them set, they start the bundled gateway in-process.

use std::time::Duration;

use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::retry::RetryPolicy;
use doudian_sdk::Client;

/// Where the example runs.
pub struct Target {
    /// The client, acting for the shop.
    pub client: Client,
    /// The bundled gateway, when no credentials were given (kept alive while in use).
    pub gateway: Option<RunningGateway>,
}

/// Builds the client from the environment, or starts the bundled gateway.
pub async fn connect() -> Result<Target, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let retry = RetryPolicy::attempts(4).with_backoff(Duration::from_millis(200), Duration::from_secs(3));
    match (var("DOUDIAN_APP_KEY"), var("DOUDIAN_APP_SECRET"), var("DOUDIAN_SHOP_ID")) {
        (Some(key), Some(secret), Some(shop)) => {
            let mut builder = Client::builder(key, secret).shop_id(shop).retry(retry);
            if let Some(url) = var("DOUDIAN_BASE_URL") {
                builder = builder.base_url(url);
            }
            if let Some(method) = var("DOUDIAN_SIGN_METHOD") {
                builder = builder.sign_method(method.parse()?);
            }
            Ok(Target { client: builder.build()?, gateway: None })
        }
        (None, None, None) => {
            let gateway = Gateway::builder().start().await?;
            let client = Client::builder(gateway.app_key(), gateway.app_secret())
                .base_url(gateway.base_url())
                .shop_id(gateway.shop_id().to_string())
                .retry(retry)
                .env_proxy(false)
                .build()?;
            Ok(Target { client, gateway: Some(gateway) })
        }
        _ => Err("set all of DOUDIAN_APP_KEY, DOUDIAN_APP_SECRET and DOUDIAN_SHOP_ID (and DOUDIAN_BASE_URL), \
                  or none of them to use the bundled gateway"
            .into()),
    }
}
