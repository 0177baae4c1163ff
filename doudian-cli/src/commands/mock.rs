//! `doudian mock`: the bundled gateway, for local development and for `call` without
//! credentials.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use clap::Args;
use doudian_gateway::{Gateway, RunningGateway};
use doudian_sdk::error::Chain;
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
    /// Add N orders awaiting shipment (order_status 2) to the seeded shop's 20, built like
    /// them, for batch-shipping runs and for --churn to move (at most 1000000; spread over
    /// the shops with --shops).
    #[arg(long, value_name = "N", default_value_t = 0)]
    orders: usize,
    /// Serve K shops: the gateway's own (DOUDIAN_SHOP_ID) and K-1 more with the ids that
    /// follow it, each with the seeded products (at most 1000).
    #[arg(long, value_name = "K", default_value_t = 1)]
    shops: usize,
    /// Change R orders a second along their life cycle (paid, shipped, completed, some
    /// cancelled or refunded, new orders created), each stamped with the gateway's clock and
    /// pushed to --webhook; POST /_mock/churn {"rate": R} changes it, 0 stops it.
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    churn: f64,
    /// Draw churn's choices from this seed (the same seed, the same changes).
    #[arg(long, value_name = "SEED")]
    churn_seed: Option<u64>,
    /// Push trade and refund messages (churn's and those caused by calls), signed, to URL;
    /// POST /_mock/webhook {"url": …} changes it.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Drop this share (0 to 1) of push messages without sending them, as lost pushes.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    push_drop: f64,
    /// How many orders one order.searchList filter reaches (the platform's 50000): pages
    /// starting past it are refused, total still counts every match.
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    search_cap: usize,
    /// Limit METHOD to N calls a second for all clients together (burst: N at once); calls
    /// over it get 60000 isv.traffic-limited and change nothing. Repeatable, one method
    /// each, e.g. --qps order.logisticsAdd=100.
    #[arg(long = "qps", value_name = "METHOD=N", value_parser = parse_qps)]
    qps: Vec<(String, u32)>,
}

/// `METHOD=N` of `--qps`: a method name and a whole number of calls a second, at least 1.
fn parse_qps(text: &str) -> Result<(String, u32), String> {
    let (method, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("expected METHOD=N (calls per second), e.g. order.logisticsAdd=100; got `{text}`"))?;
    let method = method.trim();
    if method.is_empty() {
        return Err(format!("expected METHOD=N, but the method name before `=` is empty in `{text}`"));
    }
    let rate: u32 = rate.trim().parse().map_err(|_| {
        format!("the limit of {method} must be a whole number of calls per second (1 to {}), got `{rate}`", u32::MAX)
    })?;
    if rate == 0 {
        return Err(format!("the limit of {method} must be at least 1 call per second"));
    }
    Ok((method.to_owned(), rate))
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
        .max_body_bytes(args.max_body_bytes)
        .awaiting_orders(args.orders)
        .shops(args.shops)
        .churn(args.churn)
        .push_drop(args.push_drop)
        .search_cap(args.search_cap);
    if let Some(seed) = args.churn_seed {
        builder = builder.churn_seed(seed);
    }
    if let Some(url) = &args.webhook {
        builder = builder.webhook(url.clone());
    }
    for (method, rate) in &args.qps {
        builder = builder.method_qps(method.clone(), *rate);
    }
    if let Some(ttl) = args.token_ttl {
        builder = builder.token_ttl(Duration::from_secs(ttl));
    }
    if let Some(key) = args.app_key {
        builder = builder.app_key(key);
    }
    if let Some(secret) = args.app_secret {
        builder = builder.app_secret(secret);
    }
    let gateway =
        builder.start().await.map_err(|e| Failure::config(format!("cannot start the gateway: {}", Chain(&e))))?;
    // The banner goes out in one write, and a reader that stops reading (a test that has
    // what it needs, `| head`) does not end the gateway: printing errors are ignored.
    let mut banner = String::new();
    macro_rules! banner {
        ($($arg:tt)*) => {{
            let _ = writeln!(banner, $($arg)*);
        }};
    }
    banner!("doudian mock gateway listening");
    banner!("DOUDIAN_BASE_URL={}", gateway.base_url());
    banner!("DOUDIAN_APP_KEY={}", gateway.app_key());
    banner!("DOUDIAN_APP_SECRET={}", gateway.app_secret());
    banner!("DOUDIAN_SHOP_ID={}", gateway.shop_id());
    if args.shops > 1 {
        let ids: Vec<String> = gateway.shop_ids().iter().map(i64::to_string).collect();
        banner!("DOUDIAN_SHOP_IDS={}", ids.join(","));
    }
    banner!(
        "# control (loopback only): GET {0}/_mock/stats, POST {0}/_mock/clock, POST {0}/_mock/faults, \
         GET|POST {0}/_mock/churn, GET {0}/_mock/orders, POST {0}/_mock/webhook",
        gateway.base_url()
    );
    if args.orders > 0 {
        banner!("# {} orders awaiting shipment (20 seeded + {})", 20 + args.orders, args.orders);
    }
    if args.churn > 0.0 {
        banner!("# churn: {} order changes a second", args.churn);
    }
    if args.search_cap != 50_000 {
        banner!("# order.searchList: one filter reaches {} orders", args.search_cap);
    }
    for (method, rate) in &args.qps {
        banner!("# {method}: at most {rate} calls a second, then 60000 isv.traffic-limited");
    }
    banner!("(Ctrl-C to stop)");
    {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
    }
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
        let gateway = Gateway::builder()
            .start()
            .await
            .map_err(|e| Failure::config(format!("cannot start the gateway: {}", Chain(&e))))?;
        Ok(Bundled { gateway })
    }

    pub fn base_url(&self) -> String {
        self.gateway.base_url()
    }

    pub fn app_key(&self) -> &str {
        self.gateway.app_key()
    }

    pub fn app_secret(&self) -> &str {
        self.gateway.app_secret()
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

#[cfg(test)]
mod tests {
    use super::parse_qps;

    #[test]
    fn qps_flags() {
        assert_eq!(parse_qps("order.logisticsAdd=100"), Ok(("order.logisticsAdd".to_owned(), 100)));
        assert_eq!(parse_qps(" order.searchList = 5 "), Ok(("order.searchList".to_owned(), 5)));
        assert!(parse_qps("order.logisticsAdd=abc").unwrap_err().contains("whole number of calls per second"));
        assert!(parse_qps("order.logisticsAdd=-1").unwrap_err().contains("whole number"));
        assert!(parse_qps("order.logisticsAdd=0").unwrap_err().contains("at least 1"));
        assert!(parse_qps("order.logisticsAdd").unwrap_err().contains("expected METHOD=N"));
        assert!(parse_qps("=5").unwrap_err().contains("method name"));
    }
}
