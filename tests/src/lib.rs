//! Shared set-up for the end-to-end tests in `tests/tests/*.rs`: the SDK client against the
//! bundled gateway on loopback, a webhook receiver that verifies pushes the way an app
//! must, and a scripted HTTP server for replies the gateway cannot produce.

pub mod postgres_server;
pub mod redis_server;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use doudian_gateway::{Gateway, OrderStatus, RunningGateway};
use doudian_sdk::push::{PushEvent, PushVerifier, FAILURE_REPLY, SUCCESS_REPLY};
use doudian_sdk::retry::RetryPolicy;
use doudian_sdk::{AppSecret, Client, ClientBuilder};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Every order status the gateway models.
pub const ALL_STATUSES: [OrderStatus; 5] = [
    OrderStatus::AwaitingPayment,
    OrderStatus::AwaitingShipment,
    OrderStatus::Shipped,
    OrderStatus::Canceled,
    OrderStatus::Completed,
];

/// The seeded shop: 45 orders, 5 products, 8 after-sale requests, 7 logistics companies.
pub const SEEDED_ORDERS: usize = 45;
/// Products in the seeded shop.
pub const SEEDED_PRODUCTS: usize = 5;
/// After-sale requests in the seeded shop.
pub const SEEDED_AFTER_SALES: usize = 8;

/// A gateway with the platform's defaults and the seeded shop.
pub async fn gateway() -> RunningGateway {
    Gateway::builder().start().await.expect("the gateway starts")
}

/// Retries with a backoff of a few milliseconds, so fault tests stay fast.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::attempts(attempts).with_backoff(Duration::from_millis(2), Duration::from_millis(10))
}

/// A client builder for the gateway's app and shop (self-use), no proxy, fast retries.
pub fn client_builder(gw: &RunningGateway) -> ClientBuilder {
    Client::builder(gw.app_key(), gw.app_secret())
        .base_url(gw.base_url())
        .shop_id(gw.shop_id().to_string())
        .env_proxy(false)
        .timeout(Duration::from_secs(10))
        .retry(fast_retry(3))
}

/// A ready client for the gateway's shop.
pub fn client(gw: &RunningGateway) -> Client {
    client_builder(gw).build().expect("the client builds")
}

/// The ids of every order the gateway holds.
pub fn all_order_ids(gw: &RunningGateway) -> BTreeSet<String> {
    ALL_STATUSES.iter().flat_map(|status| gw.order_ids(*status)).collect()
}

/// The first order awaiting shipment.
pub fn order_awaiting_shipment(gw: &RunningGateway) -> String {
    gw.order_ids(OrderStatus::AwaitingShipment).into_iter().next().expect("the seeded shop has orders to ship")
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// Checks `ready` up to `checks` times, `pause` apart, until it holds; whether it did. A
/// wait bounded by a count of checks, not by elapsed time: a busy machine makes each check
/// slower, never the count smaller.
pub fn poll_until(checks: u32, pause: Duration, mut ready: impl FnMut() -> bool) -> bool {
    for check in 0..checks {
        if ready() {
            return true;
        }
        if check + 1 < checks {
            std::thread::sleep(pause);
        }
    }
    false
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/doudian-e2e-<label>-<pid>-<n>`, the first `n` not taken (a
    /// directory left by an earlier process with the same id is skipped, never reused).
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("doudian-e2e-{label}-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the webhook made of one delivery.
#[derive(Debug)]
pub struct Delivery {
    /// The decoded events, or why verification / parsing failed.
    pub outcome: Result<Vec<PushEvent>, String>,
    /// The raw body as received.
    pub body: Vec<u8>,
}

/// A push receiver on `127.0.0.1:0`, written as an app's handler must be: verify the
/// `event-sign` over the raw body, parse and decode, answer [`SUCCESS_REPLY`] (HTTP 200) or
/// [`FAILURE_REPLY`] (HTTP 401) when verification fails.
pub struct Webhook {
    /// The URL to push to.
    pub url: String,
    received: mpsc::UnboundedReceiver<Delivery>,
    task: JoinHandle<()>,
}

impl Webhook {
    /// Starts the receiver with `verifier`.
    pub async fn start(verifier: PushVerifier) -> Webhook {
        let (sender, received) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/push",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (verifier, sender) = (verifier.clone(), sender.clone());
                async move {
                    let pairs =
                        headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()));
                    let outcome = verifier
                        .receive_headers(pairs, &body)
                        .and_then(|records| records.iter().map(|r| r.decode()).collect::<Result<Vec<_>, _>>())
                        .map_err(|e| e.to_string());
                    let reply = if outcome.is_ok() {
                        (StatusCode::OK, SUCCESS_REPLY)
                    } else {
                        (StatusCode::UNAUTHORIZED, FAILURE_REPLY)
                    };
                    let _ = sender.send(Delivery { outcome, body: body.to_vec() });
                    reply
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the webhook");
        let url = format!("http://{}/push", listener.local_addr().expect("webhook address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook { url, received, task }
    }

    /// A receiver for the gateway's app (md5 pushes).
    pub async fn for_gateway(gw: &RunningGateway) -> Webhook {
        Self::start(PushVerifier::new(gw.app_key(), AppSecret::new(gw.app_secret()))).await
    }

    /// The next delivery (waits at most 5 s).
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("a push arrives within 5 s")
            .expect("the webhook is running")
    }

    /// A delivery that already arrived, without waiting.
    pub fn try_next(&mut self) -> Option<Delivery> {
        self.received.try_recv().ok()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One canned HTTP reply of a [`ScriptedServer`].
#[derive(Debug, Clone)]
pub struct Canned {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// Send the body as a stream of chunks without a Content-Length.
    pub chunked: bool,
}

impl Canned {
    /// HTTP 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Canned { status: 200, body: body.into(), chunked: false }
    }

    /// `status` with a small HTML body.
    pub fn status(status: u16) -> Self {
        Canned { status, body: format!("<html>{status}</html>").into_bytes(), chunked: false }
    }

    /// The same reply, streamed without a Content-Length.
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }
}

/// A request as a [`ScriptedServer`] received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The query pairs, decoded as a form.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// The decoded query value of `name`.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A loopback HTTP server answering every request with the next canned reply (the last
/// one repeats), counting and recording requests: for replies the gateway cannot produce
/// and for checking what goes over the wire.
pub struct ScriptedServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts the server with `replies` (at least one).
    pub async fn start(replies: Vec<Canned>) -> ScriptedServer {
        assert!(!replies.is_empty(), "a scripted server needs at least one reply");
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(replies));
        let (counter, log) = (hits.clone(), requests.clone());
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let (replies, counter, log) = (replies.clone(), counter.clone(), log.clone());
                async move {
                    let recorded = Recorded {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        query: uri.query().unwrap_or_default().to_owned(),
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect(),
                        body: body.to_vec(),
                    };
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(recorded);
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    let canned = {
                        let replies = replies.lock().unwrap_or_else(|e| e.into_inner());
                        replies[n.min(replies.len() - 1)].clone()
                    };
                    let body = if canned.chunked {
                        let chunks: Vec<Result<Bytes, std::io::Error>> =
                            canned.body.chunks(8 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
                        Body::from_stream(futures_util::stream::iter(chunks))
                    } else {
                        Body::from(canned.body)
                    };
                    let mut response = Response::new(body);
                    *response.status_mut() = StatusCode::from_u16(canned.status).unwrap_or(StatusCode::OK);
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the scripted server");
        let base_url = format!("http://{}", listener.local_addr().expect("scripted server address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedServer { base_url, hits, requests, task }
    }

    /// How many requests arrived.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A client for this server that needs no token (use with
    /// `CallOptions::new().access_token(..)` or token-less calls).
    pub fn client(&self, retry: RetryPolicy) -> Client {
        Client::builder("7300000000000000001", "scripted-secret")
            .base_url(&self.base_url)
            .env_proxy(false)
            .retry(retry)
            .build()
            .expect("the client builds")
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A successful envelope around `data` (JSON text).
pub fn envelope(data: &str) -> String {
    format!(
        r#"{{"code":10000,"msg":"success","sub_code":"","sub_msg":"","log_id":"202401010000000000000000SCRIPTED","data":{data}}}"#
    )
}
