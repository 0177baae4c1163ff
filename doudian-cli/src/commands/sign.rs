//! `doudian sign`: the tool for debugging a signature error.

use clap::Args;
use doudian_sdk::sign::{self, SignMethod};

use super::{print_json, Failure};

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The app key.
    #[arg(long, env = "DOUDIAN_APP_KEY")]
    app_key: String,
    /// The app secret.
    #[arg(long, env = "DOUDIAN_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// The method, e.g. order.searchList.
    #[arg(long)]
    method: String,
    /// The timestamp exactly as sent (Unix seconds, milliseconds or `yyyy-MM-dd HH:mm:ss`).
    #[arg(long)]
    timestamp: String,
    /// md5 or hmac-sha256.
    #[arg(long, env = "DOUDIAN_SIGN_METHOD", default_value = "hmac-sha256")]
    sign_method: String,
    /// The parameters as JSON text (canonicalised before signing).
    #[arg(long, default_value = "{}")]
    param_json: String,
}

pub fn run(args: SignArgs) -> Result<(), Failure> {
    let sign_method: SignMethod =
        args.sign_method.parse().map_err(|e: doudian_sdk::Error| Failure::config(e.to_string()))?;
    let param_json = sign::canonical_param_json(&args.param_json).map_err(|e| Failure::config(e.to_string()))?;
    let masked = sign::sign_string_masked(&args.app_key, &args.method, &param_json, &args.timestamp);
    let signature =
        sign::sign(sign_method, &args.app_key, &args.app_secret, &args.method, &param_json, &args.timestamp);
    print_json(&serde_json::json!({
        "param_json": param_json,
        "sign_method": sign_method.as_str(),
        "sign_string_masked": masked,
        "sign": signature,
    }))
}
