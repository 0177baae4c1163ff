//! `doudian mock`: the bundled gateway, for local development and for `call` without
//! credentials.

use std::time::Duration;

use clap::Args;
use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::{Client, ClientBuilder, SignMethod};

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
    /// Also accept a sign over the body exactly as received (for clients that sign their
    /// own serialisation instead of the canonical param_json).
    #[arg(long)]
    lenient_sign: bool,
    /// How long issued access tokens live, in seconds (the platform's: 7 days).
    #[arg(long, value_name = "SECS")]
    token_ttl: Option<u64>,
    /// Seconds within which a request's head must arrive.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    header_read_timeout: f64,
    /// Seconds after which a silent connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    idle_timeout: f64,
    /// Seconds within which a request's body must arrive.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    body_timeout: f64,
    /// Connections open at once; more get 503.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// The largest request body in bytes; larger ones get 413.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_body_bytes: usize,
}

fn seconds(value: f64, flag: &str) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| Failure::config(format!("--{flag} must be a number of seconds >= 0")))
}

pub async fn run(args: MockArgs) -> Result<(), Failure> {
    let mut builder = Gateway::builder()
        .port(args.port)
        .lenient_sign(args.lenient_sign)
        .header_read_timeout(seconds(args.header_read_timeout, "header-read-timeout")?)
        .idle_timeout(seconds(args.idle_timeout, "idle-timeout")?)
        .body_timeout(seconds(args.body_timeout, "body-timeout")?)
        .max_connections(args.max_connections)
        .max_body_bytes(args.max_body_bytes);
    if let Some(ttl) = args.token_ttl {
        builder = builder.token_ttl(Duration::from_secs(ttl));
    }
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

    pub fn app_key(&self) -> &str {
        self.gateway.app_key()
    }

    /// A self-use client for the gateway's shop, to be built.
    pub fn builder(&self, sign_method: SignMethod) -> ClientBuilder {
        Client::builder(self.gateway.app_key(), self.gateway.app_secret())
            .base_url(self.gateway.base_url())
            .shop_id(self.gateway.shop_id().to_string())
            .sign_method(sign_method)
            .env_proxy(false)
    }
}
