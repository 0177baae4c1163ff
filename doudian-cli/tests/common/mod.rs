//! Shared by the process tests that run `doudian` against an in-process gateway.

use std::process::{Command, Stdio};

use doudian_gateway::RunningGateway;

/// `doudian` with a clean environment (only `PATH`, no proxy for loopback) connected to
/// `gw`'s app and shop, its output captured.
pub fn doudian_for(gw: &RunningGateway) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doudian"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_PROXY", "127.0.0.1")
        .env("DOUDIAN_BASE_URL", gw.base_url())
        .env("DOUDIAN_APP_KEY", gw.app_key())
        .env("DOUDIAN_APP_SECRET", gw.app_secret())
        .env("DOUDIAN_SHOP_ID", gw.shop_id().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}
