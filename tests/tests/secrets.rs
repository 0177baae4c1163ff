//! No secret, token or authorisation code in any Debug or Display text of the errors the
//! token calls produce, of the request and reply types, or in the SDK's trace logs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doudian_gateway::{Fault, FaultRule, Gateway};
use doudian_sdk::api::shop::ShopBrandListRequest;
use doudian_sdk::api::token::{TokenCreateRequest, TokenRefreshRequest};
use doudian_sdk::client::Authorized;
use doudian_sdk::token::MemoryTokenStore;
use doudian_sdk::Client;
use e2e_tests::*;

/// Everything a caller could print about an error: Display, Debug and every source.
fn every_text(error: &doudian_sdk::Error) -> String {
    let mut text = format!("{error}\n{error:?}\n");
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(&format!("{inner}\n{inner:?}\n"));
        source = inner.source();
    }
    text
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_call_errors_and_trace_logs_never_show_a_token() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Tokens live 30 minutes: every use is inside the refresh window, so both token calls
    // run, and every fault below hits them after the gateway issued a pair.
    let gw = Gateway::builder().token_ttl(Duration::from_secs(1800)).start().await.unwrap();
    let mut texts = String::new();
    let faults = [
        Fault::MalformedJson,
        Fault::TruncatedJson,
        Fault::IdsAsStrings,
        Fault::Oversized(64 * 1024),
        Fault::DropAfterProcessing,
        Fault::RateLimit,
        Fault::HttpStatus(500),
    ];
    for fault in faults {
        for method in ["token.create", "token.refresh"] {
            let client = client_builder(&gw)
                .retry(fast_retry(1))
                .max_response_bytes(32 * 1024)
                .token_store(Arc::new(MemoryTokenStore::new()))
                .build()
                .unwrap();
            if method == "token.refresh" {
                client.token().await.unwrap();
            }
            gw.inject(FaultRule::new(fault.clone()).for_method(method).times(1));
            let outcome = match method {
                "token.create" => client.token().await.map(|_| ()),
                _ => {
                    // Refresh while valid: the failure is logged, not returned; force the
                    // rejected-token path too, whose failure is returned.
                    client.execute(&ShopBrandListRequest::new()).await.map(|_| ())
                }
            };
            if let Err(error) = outcome {
                texts.push_str(&every_text(&error));
            }
            gw.clear_faults();
        }
    }
    // A refresh whose reply does not decode, returned to the caller: a tool app (which
    // cannot create a token by itself) whose token the platform calls expired.
    let long_lived = gateway().await;
    let tool = Client::builder(long_lived.app_key(), long_lived.app_secret())
        .base_url(long_lived.base_url())
        .env_proxy(false)
        .retry(fast_retry(1))
        .build()
        .unwrap();
    let Authorized { shop, token, .. } =
        tool.authorize_code(long_lived.mint_auth_code(long_lived.shop_id())).await.unwrap();
    long_lived.expire_token(token.access_token.expose());
    long_lived.inject(FaultRule::new(Fault::MalformedJson).for_method("token.refresh").times(1));
    let error = shop.execute(&ShopBrandListRequest::new()).await.unwrap_err();
    let doudian_sdk::Error::Decode(decode) = &error else { panic!("{error:?}") };
    assert!(decode.excerpt.contains("withheld"), "{decode:?}");
    texts.push_str(&every_text(&error));

    // Requests and replies of the token methods.
    let issued = gw.issue_token();
    let create = TokenCreateRequest::new("authorization_code").code("auth-code-SECRET");
    let refresh = TokenRefreshRequest::new("refresh_token", issued.refresh_token.clone());
    texts.push_str(&format!(
        "{create:?}\n{refresh:?}\n{issued:?}\n{:?}\n",
        Gateway::builder().app_secret("builder-SECRET")
    ));
    texts.push_str(&format!("{shop:?}\n{:?}\n", shop.token().await));

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("doudian.call") && logs.contains("token.refresh"), "the trace logs were captured:\n{logs}");
    let mut secrets = vec![gw.app_secret().to_owned(), "auth-code-SECRET".to_owned(), "builder-SECRET".to_owned()];
    for gateway in [&gw, &long_lived] {
        secrets.extend(gateway.issued_tokens().into_iter().flat_map(|t| [t.access_token, t.refresh_token]));
    }
    assert!(secrets.len() > 20, "{}", secrets.len());
    for secret in &secrets {
        assert!(!texts.contains(secret.as_str()), "`{secret}` is printed:\n{texts}");
        assert!(!logs.contains(secret.as_str()), "`{secret}` is logged:\n{logs}");
    }
}
