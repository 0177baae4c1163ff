//! `doudian call METHOD [JSON]`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use doudian_sdk::redis::Redis;
use doudian_sdk::token::{FileTokenStore, TokenStore};
use doudian_sdk::{CallOptions, Client, ClientBuilder, SignMethod};

use super::{print_json, Failure};

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method, e.g. order.searchList (`doudian methods` lists them).
    method: String,
    /// The parameters as JSON text; `-` reads them from stdin. Default `{}`.
    params: Option<String>,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Print the whole reply (data and log_id) instead of only data.
    #[arg(long)]
    with_log_id: bool,
    /// Send the parameters as they are, without checking them against the method's schema
    /// (`doudian methods --schema METHOD`).
    #[arg(long)]
    no_validate: bool,
}

/// Where to call and as whom: flags or `DOUDIAN_*` variables. With no app key and secret,
/// the bundled gateway is started in-process.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// The gateway base URL.
    #[arg(long, env = "DOUDIAN_BASE_URL")]
    base_url: Option<String>,
    /// The app key.
    #[arg(long, env = "DOUDIAN_APP_KEY")]
    app_key: Option<String>,
    /// The app secret.
    #[arg(long, env = "DOUDIAN_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
    /// Self-use apps: the shop id.
    #[arg(long, env = "DOUDIAN_SHOP_ID")]
    shop_id: Option<String>,
    /// Tool apps: the authorisation code from the shop's consent redirect.
    #[arg(long, env = "DOUDIAN_AUTH_CODE")]
    auth_code: Option<String>,
    /// md5 or hmac-sha256.
    #[arg(long, env = "DOUDIAN_SIGN_METHOD", default_value = "hmac-sha256")]
    sign_method: String,
    /// Where tokens are kept between runs, shared by every process using the same store:
    /// `file:PATH` (one file per shop in the directory `PATH.d`, locked across processes;
    /// a single-file `PATH` of earlier versions is still read) or `redis://HOST:PORT[/DB]`.
    #[arg(long, env = "DOUDIAN_TOKEN_STORE")]
    token_store: Option<String>,
    /// The same as `--token-store file:PATH`.
    #[arg(long, env = "DOUDIAN_TOKEN_FILE", conflicts_with = "token_store")]
    token_file: Option<PathBuf>,
}

impl ConnectionArgs {
    /// The app key, when one is set.
    pub fn app_key(&self) -> Option<&str> {
        self.app_key.as_deref()
    }

    /// The same settings for another shop of a self-use app (a client per shop, each
    /// with its own token); `None` for the bundled gateway and for tool apps, whose
    /// client reaches its shops with `Client::for_shop`.
    pub fn for_shop(&self, shop: &str) -> Option<ConnectionArgs> {
        (self.app_key.is_some() && self.shop_id.is_some())
            .then(|| ConnectionArgs { shop_id: Some(shop.to_owned()), ..self.clone() })
    }

    /// The app secret, when one is set.
    pub fn app_secret(&self) -> Option<&str> {
        self.app_secret.as_deref()
    }
}

/// A token store from its `--token-store` description.
pub(crate) fn token_store(description: &str, app_key: &str) -> Result<Arc<dyn TokenStore>, Failure> {
    if description.starts_with("redis://") || description.starts_with("rediss://") {
        let redis = Redis::connect(description, app_key).map_err(|e| Failure::config(e.to_string()))?;
        return Ok(Arc::new(redis.token_store()));
    }
    match description.strip_prefix("file:") {
        Some(path) if !path.is_empty() => Ok(Arc::new(FileTokenStore::new(path))),
        _ => {
            Err(Failure::config(format!("--token-store `{description}`: expected file:PATH or redis://HOST:PORT[/DB]")))
        }
    }
}

pub async fn run(args: CallArgs) -> Result<(), Failure> {
    let params = match args.params.as_deref() {
        None => "{}".to_owned(),
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::config(format!("cannot read stdin: {e}")))?;
            text
        }
        Some(text) => text.to_owned(),
    };
    // Another spelling of a method's name (`crossBorder.stockTaking`) is sent under the
    // method's own (`crossborder.stockTaking`).
    let method = match doudian_sdk::catalog::find(&args.method) {
        Some(m) if m.name != args.method => {
            tracing::info!("`{}` is another spelling of `{}`: sent as `{}`", args.method, m.name, m.name);
            m.name
        }
        _ => args.method.as_str(),
    };
    if !args.no_validate {
        validate(method, &params)?;
    }
    let (client, _gateway) = connect(&args.connection).await?;
    let reply = client.call_json(method, &params, &CallOptions::new()).await?;
    if args.with_log_id {
        print_json(&serde_json::json!({ "log_id": reply.log_id(), "data": reply.data() }))
    } else {
        print_json(reply.data())
    }
}

/// Checks the parameters against the method's schema before anything is signed or sent:
/// every violation on its own line, with its JSON path. A method the spec does not know,
/// and text that is not JSON (the call refuses it), pass through.
fn validate(method: &str, params: &str) -> Result<(), Failure> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(params) else { return Ok(()) };
    if doudian_sdk::schema::params(method).is_none() {
        tracing::info!("`{method}` is not in the spec: its parameters are sent unchecked");
        return Ok(());
    }
    let Err(violations) = doudian_sdk::schema::validate_params(method, &value) else { return Ok(()) };
    let lines: Vec<String> = violations.iter().map(|v| format!("  {v}")).collect();
    Err(Failure::config(format!(
        "invalid parameters for {method} (nothing was sent; --no-validate sends them as they are):\n{}",
        lines.join("\n")
    )))
}

/// Builds a client from the connection settings. The second value keeps a bundled
/// gateway alive while the client is in use.
pub async fn connect(args: &ConnectionArgs) -> Result<(Client, Option<super::mock::Bundled>), Failure> {
    connect_with(args, |builder, _app_key| Ok(builder)).await
}

/// [`connect`], with `tune` adding settings to the client (it gets the app key).
pub async fn connect_with(
    args: &ConnectionArgs,
    tune: impl FnOnce(ClientBuilder, &str) -> Result<ClientBuilder, Failure>,
) -> Result<(Client, Option<super::mock::Bundled>), Failure> {
    let sign_method: SignMethod =
        args.sign_method.parse().map_err(|e: doudian_sdk::Error| Failure::config(e.to_string()))?;
    let (app_key, app_secret) = match (&args.app_key, &args.app_secret) {
        (Some(key), Some(secret)) => (key.clone(), secret.clone()),
        (None, None) => {
            let bundled = super::mock::Bundled::start().await?;
            eprintln!(
                "note: no DOUDIAN_APP_KEY/DOUDIAN_APP_SECRET set; using the bundled gateway at {}",
                bundled.base_url()
            );
            let builder = tune(bundled.builder(sign_method), bundled.app_key())?;
            return Ok((builder.build()?, Some(bundled)));
        }
        _ => {
            return Err(Failure::config(
                "set both DOUDIAN_APP_KEY and DOUDIAN_APP_SECRET (or neither, for the bundled gateway)",
            ))
        }
    };
    let store = match (&args.token_store, &args.token_file) {
        (Some(description), _) => Some(token_store(description, &app_key)?),
        (None, Some(path)) => Some(Arc::new(FileTokenStore::new(path)) as Arc<dyn TokenStore>),
        (None, None) => None,
    };
    let mut builder = tune(Client::builder(app_key.clone(), app_secret).sign_method(sign_method), &app_key)?;
    if let Some(store) = store {
        builder = builder.token_store(store);
    }
    if let Some(url) = &args.base_url {
        builder = builder.base_url(url);
    }
    match (&args.shop_id, &args.auth_code) {
        (Some(shop), None) => Ok((builder.shop_id(shop).build()?, None)),
        (None, Some(code)) => {
            let client = builder.build()?;
            let authorized = client.authorize_code(code).await?;
            if let Some(error) = &authorized.save_error {
                tracing::error!(error = %doudian_sdk::error::Chain(error),
                    "the token store did not take the new pair: this command uses it, but later runs will not find it");
            }
            Ok((authorized.shop, None))
        }
        (Some(_), Some(_)) => {
            Err(Failure::config("set DOUDIAN_SHOP_ID (self-use app) or DOUDIAN_AUTH_CODE (tool app), not both"))
        }
        (None, None) => Err(Failure::config("set DOUDIAN_SHOP_ID (self-use app) or DOUDIAN_AUTH_CODE (tool app)")),
    }
}
