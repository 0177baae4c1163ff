//! `doudian mock`: the bundled gateway, for local development and for `call` without
//! credentials.

use clap::Args;
use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::{Client, SignMethod};

use super::Failure;

#[derive(Debug, Args)]
pub struct MockArgs {
    /// The port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The app key the gateway accepts.
    #[arg(long)]
    app_key: Option<String>,
    /// The app secret requests must be signed with.
    #[arg(long, hide_env_values = true)]
    app_secret: Option<String>,
}

pub async fn run(args: MockArgs) -> Result<(), Failure> {
    let mut builder = Gateway::builder().port(args.port);
    if let Some(key) = args.app_key {
        builder = builder.app_key(key);
    }
    if let Some(secret) = args.app_secret {
        builder = builder.app_secret(secret);
    }
    let gateway = builder.start().await.map_err(|e| Failure::config(format!("cannot start the gateway: {e}")))?;
    println!("doudian mock gateway listening");
    println!("DOUDIAN_BASE_URL={}", gateway.base_url());
    println!("DOUDIAN_APP_KEY={}", gateway.app_key());
    println!("DOUDIAN_APP_SECRET={}", gateway.app_secret());
    println!("DOUDIAN_SHOP_ID={}", gateway.shop_id());
    println!(
        "# control (loopback only): GET {0}/_mock/stats, POST {0}/_mock/clock, POST {0}/_mock/faults",
        gateway.base_url()
    );
    println!("(Ctrl-C to stop)");
    let _ = tokio::signal::ctrl_c().await;
    gateway.shutdown().await;
    Ok(())
}

/// A gateway started in-process for `doudian call` without credentials.
pub struct Bundled {
    gateway: RunningGateway,
}

impl Bundled {
    pub async fn start() -> Result<Self, Failure> {
        let gateway =
            Gateway::builder().start().await.map_err(|e| Failure::config(format!("cannot start the gateway: {e}")))?;
        Ok(Bundled { gateway })
    }

    pub fn base_url(&self) -> String {
        self.gateway.base_url()
    }

    /// A self-use client for the gateway's shop.
    pub fn client(&self, sign_method: SignMethod) -> Result<Client, Failure> {
        Ok(Client::builder(self.gateway.app_key(), self.gateway.app_secret())
            .base_url(self.gateway.base_url())
            .shop_id(self.gateway.shop_id().to_string())
            .sign_method(sign_method)
            .env_proxy(false)
            .build()?)
    }
}
