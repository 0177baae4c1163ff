//! A ready push endpoint for axum (cargo feature `axum`): the whole webhook in a few lines.
//!
//! ```no_run
//! use doudian_sdk::push::{PushEvent, PushVerifier};
//! use doudian_sdk::webhook::{serve, PushEndpoint, PushJournal};
//!
//! async fn on_event(event: PushEvent) -> Result<(), std::convert::Infallible> {
//!     println!("{} {:?}", event.msg_id(), event);
//!     Ok(())
//! }
//!
//! # async fn run() -> doudian_sdk::Result<()> {
//! let verifier = PushVerifier::new("7012345678901234567", "app-secret");
//! // Verified pushes are kept in ./push-journal until `on_event` has taken each one.
//! let endpoint = PushEndpoint::new(verifier, on_event).queue(PushJournal::open("push-journal")?);
//! let app = axum::Router::new().route("/doudian/push", endpoint.into_method_router());
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.expect("a port");
//! serve(listener, app).await.expect("the server runs");
//! # Ok(()) }
//! ```
//!
//! For each POST the endpoint
//! 1. reads the body (at most [`DEFAULT_MAX_BODY_BYTES`], within [`DEFAULT_BODY_TIMEOUT`]),
//!    verifies `app-id` and `event-sign` over it; a failure is answered `401` (`400` for a
//!    body that is not a push, `413`/`408` for one too large or too slow) with
//!    [`FAILURE_REPLY`], and nothing is dispatched;
//! 2. drops records whose `msg_id` the [`SeenStore`] has seen (redeliveries);
//! 3. answers `200` [`SUCCESS_REPLY`] only once the new records are safe:
//!    * with a [`PushQueue`] ([`PushJournal`] on local disk, or a Redis stream with the
//!      `redis` feature), once they are in it: a worker hands them to the application's
//!      function in order, retries failures with back-off and resumes after a restart;
//!    * without one, once the function has taken each record within the handler deadline
//!      ([`DEFAULT_HANDLER_DEADLINE`], below the ~2 s the platform waits).
//!
//!    Otherwise (a full queue, a failing or slow function, too many pushes in progress) it
//!    answers `503` with [`FAILURE_REPLY`] and forgets the ids it had not handled, so the
//!    platform's redelivery is processed.
//!
//! A record that does not decode arrives as [`PushEvent::Undecodable`], never dropped.
//! When the seen-store fails (a shared store that is down), records are processed anyway:
//! processing a message twice is recoverable, losing it is not. [`serve`] runs the
//! router with header and body timeouts, so idle or slow connections cannot pile up.

mod journal;
mod queue;
mod serve;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};

pub use journal::{PushJournal, DEFAULT_JOURNAL_CAPACITY};
pub use queue::{PushQueue, Queued};
pub use serve::{serve, serve_with, ServeOptions};

use crate::error::{Chain, Error, VerifyError};
use crate::push::{
    first_time_only, PushEvent, PushRecord, PushVerifier, RecentMessages, SeenStore, FAILURE_REPLY, SUCCESS_REPLY,
};
use queue::WorkerSettings;

/// What an event handler may fail with.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// How many message ids the default in-memory seen-store remembers.
pub const DEFAULT_SEEN_CAPACITY: usize = 100_000;
/// Without a queue, how long the handler may take over a push's records before the push
/// is answered failure: below the ~2 s the platform waits for an answer.
pub const DEFAULT_HANDLER_DEADLINE: Duration = Duration::from_millis(1500);
/// Pushes handled at once; more are answered failure at once (the platform sends them
/// again), so a slow handler cannot make work and memory pile up.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// The largest push body read: the platform sends a handful of small records.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How much of a body over the limit is read and dropped before it is answered `413`.
const DRAINED_BYTES: usize = 8 * 1024 * 1024;
/// How long the whole body may take to arrive.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) type Dispatch = Arc<dyn Fn(PushRecord) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync>;

/// Where verified records go before the push is answered.
#[derive(Clone)]
enum Delivery {
    /// To the handler, within a deadline.
    Direct { deadline: Duration },
    /// Into a durable queue that a worker feeds to the handler.
    Queue { queue: Arc<dyn PushQueue>, worker: Arc<OnceLock<()>>, settings: WorkerSettings },
}

/// A push endpoint: a verifier, a seen-store, the application's event function and where
/// verified records wait for it. [`push_endpoint`] builds one with the defaults.
#[derive(Clone)]
pub struct PushEndpoint {
    verifier: Arc<PushVerifier>,
    seen: Arc<dyn SeenStore>,
    dispatch: Dispatch,
    delivery: Delivery,
    in_flight: Arc<tokio::sync::Semaphore>,
    max_body_bytes: usize,
    body_timeout: Duration,
}

impl std::fmt::Debug for PushEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let delivery = match &self.delivery {
            Delivery::Direct { deadline } => format!("direct within {deadline:?}"),
            Delivery::Queue { queue, .. } => format!("queued ({} waiting)", queue.waiting()),
        };
        f.debug_struct("PushEndpoint")
            .field("verifier", &self.verifier)
            .field("delivery", &delivery)
            .finish_non_exhaustive()
    }
}

/// The outcome of one POST, before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// Verified and safe: this many records were new and are handled or queued (the rest
    /// were redeliveries). Answered success.
    Verified {
        /// New records, handled or queued.
        dispatched: usize,
        /// Records dropped as already seen.
        duplicates: usize,
    },
    /// Refused: why; nothing was dispatched.
    Refused(VerifyError),
    /// Verified but not taken (a full queue, a failing or slow handler, too many pushes at
    /// once): answered failure, so the platform sends the push again.
    NotTaken(String),
}

impl PushEndpoint {
    /// An endpoint that verifies with `verifier`, remembers the last
    /// [`DEFAULT_SEEN_CAPACITY`] message ids in memory and calls `handler` for each event
    /// before answering (see [`queue`](Self::queue) to answer once records are queued).
    pub fn new<F, Fut, E>(verifier: PushVerifier, handler: F) -> Self
    where
        F: Fn(PushEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        Self::with_records(verifier, move |record: PushRecord| handler(record.into_event()))
    }

    /// Like [`new`](Self::new), but `handler` gets each verified, new record as received
    /// (`data` still JSON text), to decode or forward as it likes.
    pub fn with_records<F, Fut, E>(verifier: PushVerifier, handler: F) -> Self
    where
        F: Fn(PushRecord) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        let dispatch: Dispatch = Arc::new(move |record| {
            let future = handler(record);
            Box::pin(async move { future.await.map_err(Into::into) })
        });
        PushEndpoint {
            verifier: Arc::new(verifier),
            seen: Arc::new(RecentMessages::new(DEFAULT_SEEN_CAPACITY)),
            dispatch,
            delivery: Delivery::Direct { deadline: DEFAULT_HANDLER_DEADLINE },
            in_flight: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_IN_FLIGHT)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }

    /// Uses `store` to drop redeliveries: share one between replicas (for example
    /// `doudian_sdk::redis::Redis::seen_store`, cargo feature `redis`) so that each message
    /// is processed once.
    pub fn seen_store(mut self, store: impl SeenStore) -> Self {
        self.seen = Arc::new(store);
        self
    }

    /// Answers success once the records are in `queue`, and hands them to the handler
    /// from there: one at a time in order of arrival, a failed one again after a back-off
    /// (1 s doubling to 5 minutes), until it succeeds. The worker starts with the router
    /// ([`into_method_router`](Self::into_method_router)) or the first push, inside the
    /// Tokio runtime, and first takes what an earlier run left in the queue.
    pub fn queue(mut self, queue: impl PushQueue) -> Self {
        let settings = WorkerSettings::default();
        self.delivery = Delivery::Queue { queue: Arc::new(queue), worker: Arc::new(OnceLock::new()), settings };
        self
    }

    /// With a queue: hand out up to `records` at once (default 1, which keeps the order
    /// of arrival; more suit a slow handler whose events are independent).
    pub fn handler_concurrency(mut self, records: usize) -> Self {
        if let Delivery::Queue { settings, .. } = &mut self.delivery {
            settings.concurrency = records.max(1);
        }
        self
    }

    /// Without a queue: how long the handler may take over one push's records (default
    /// [`DEFAULT_HANDLER_DEADLINE`]); a push not handled by then is answered failure.
    pub fn handler_deadline(mut self, deadline: Duration) -> Self {
        if let Delivery::Direct { deadline: current } = &mut self.delivery {
            *current = deadline;
        }
        self
    }

    /// Pushes in progress at once (default [`DEFAULT_MAX_IN_FLIGHT`]); more are answered
    /// failure at once.
    pub fn max_in_flight(mut self, pushes: usize) -> Self {
        self.in_flight = Arc::new(tokio::sync::Semaphore::new(pushes.max(1)));
        self
    }

    /// The largest body read (default [`DEFAULT_MAX_BODY_BYTES`]) and how long it may take
    /// to arrive (default [`DEFAULT_BODY_TIMEOUT`]).
    pub fn body_limits(mut self, max_bytes: usize, timeout: Duration) -> Self {
        (self.max_body_bytes, self.body_timeout) = (max_bytes, timeout);
        self
    }

    /// The axum route: `Router::new().route("/push", endpoint.into_method_router())`.
    /// Starts the queue's worker, if the endpoint has a queue.
    pub fn into_method_router<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        self.start_worker();
        post(move |headers: HeaderMap, body: Body| {
            let endpoint = self.clone();
            async move {
                match endpoint.read_body(body).await {
                    Ok(bytes) => endpoint.respond(&headers, &bytes).await,
                    Err(status) => failure(status),
                }
            }
        })
    }

    fn start_worker(&self) {
        if let Delivery::Queue { queue, worker, settings } = &self.delivery {
            worker.get_or_init(|| queue::spawn_worker(queue.clone(), self.dispatch.clone(), settings.clone()));
        }
    }

    /// The body, or the status that refuses it: too large, too slow or broken.
    async fn read_body(&self, body: Body) -> Result<Bytes, StatusCode> {
        let limit = self.max_body_bytes;
        let read = async move {
            let mut stream = body.into_data_stream();
            let mut bytes = Vec::new();
            let mut too_large = 0usize;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
                if too_large > 0 || bytes.len() + chunk.len() > limit {
                    // Read on (and drop) a while, so that the sender, still writing, gets
                    // to read the answer instead of a reset connection.
                    too_large += chunk.len();
                    if too_large > DRAINED_BYTES {
                        break;
                    }
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            match too_large {
                0 => Ok(Bytes::from(bytes)),
                _ => Err(StatusCode::PAYLOAD_TOO_LARGE),
            }
        };
        let outcome = tokio::time::timeout(self.body_timeout, read).await.unwrap_or(Err(StatusCode::REQUEST_TIMEOUT));
        if let Err(status) = outcome {
            tracing::warn!(status = status.as_u16(), limit, "push body refused");
        }
        outcome
    }

    /// Handles one POST whose body has been read: verifies, drops redeliveries, hands the
    /// new records on, and returns the HTTP answer.
    pub async fn respond(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        match self.accept(headers, body).await {
            Accepted::Verified { .. } => json_reply(StatusCode::OK, SUCCESS_REPLY),
            Accepted::Refused(reason) => {
                tracing::warn!(reason = %reason, "push refused");
                failure(match reason {
                    VerifyError::Malformed(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                })
            }
            Accepted::NotTaken(_) => failure(StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    /// [`respond`](Self::respond) without the HTTP answer: what was done with the push.
    pub async fn accept(&self, headers: &HeaderMap, body: &[u8]) -> Accepted {
        self.start_worker();
        let records = match self.verifier.receive_headers(headers, body) {
            Ok(records) => records,
            Err(Error::Verify(reason)) => return Accepted::Refused(*reason),
            Err(other) => return Accepted::Refused(VerifyError::Malformed(other.to_string())),
        };
        let Ok(_permit) = self.in_flight.try_acquire() else {
            tracing::warn!("too many pushes in progress: answered failure, the platform sends it again");
            return Accepted::NotTaken("too many pushes in progress".into());
        };
        let total = records.len();
        let fresh = first_time_only(records, &*self.seen).await;
        let dispatched = fresh.len();
        let outcome = match &self.delivery {
            _ if fresh.is_empty() => Ok(()),
            Delivery::Queue { queue, .. } => self.enqueue(queue.as_ref(), fresh).await,
            Delivery::Direct { deadline } => self.handle_now(fresh, *deadline).await,
        };
        match outcome {
            Ok(()) => Accepted::Verified { dispatched, duplicates: total - dispatched },
            Err(reason) => {
                tracing::warn!(reason = %reason, "push not taken: answered failure, the platform sends it again");
                Accepted::NotTaken(reason)
            }
        }
    }

    async fn enqueue(&self, queue: &dyn PushQueue, records: Vec<PushRecord>) -> Result<(), String> {
        let ids: Vec<String> = records.iter().map(|r| r.msg_id.clone()).collect();
        let reason = match queue.push(records).await {
            Ok(true) => return Ok(()),
            Ok(false) => "the push queue is full".to_owned(),
            Err(error) => format!("cannot queue the push: {}", Chain(&error)),
        };
        self.forget(&ids).await;
        Err(reason)
    }

    /// Hands the records to the handler in order within `deadline`. Those not handled
    /// (failed, panicked, cut off by the deadline) are forgotten as seen.
    async fn handle_now(&self, records: Vec<PushRecord>, deadline: Duration) -> Result<(), String> {
        let ids: Vec<String> = records.iter().map(|r| r.msg_id.clone()).collect();
        let mut handled = 0;
        let run = async {
            for record in records {
                let msg_id = record.msg_id.clone();
                match AssertUnwindSafe((self.dispatch)(record)).catch_unwind().await {
                    Ok(Ok(())) => handled += 1,
                    Ok(Err(e)) => return Err(format!("the handler failed on {msg_id}: {e}")),
                    Err(_) => return Err(format!("the handler panicked on {msg_id}")),
                }
            }
            Ok(())
        };
        let outcome = tokio::time::timeout(deadline, run)
            .await
            .unwrap_or_else(|_| Err(format!("the handler took longer than {deadline:?}")));
        if outcome.is_err() {
            self.forget(&ids[handled..]).await;
        }
        outcome
    }

    async fn forget(&self, ids: &[String]) {
        for msg_id in ids.iter().filter(|id| !id.is_empty()) {
            if let Err(e) = self.seen.forget(msg_id).await {
                tracing::warn!(msg_id = %msg_id, error = %Chain(&e), "cannot forget the message id; its redelivery may be dropped");
            }
        }
    }
}

/// A failure answer the platform understands: `status` with [`FAILURE_REPLY`].
fn failure(status: StatusCode) -> Response {
    json_reply(status, FAILURE_REPLY)
}

fn json_reply(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The push endpoint with the defaults (an in-memory seen-store, the handler called within
/// the deadline before answering).
pub fn push_endpoint<S, F, Fut, E>(verifier: PushVerifier, handler: F) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(PushEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<HandlerError>,
{
    PushEndpoint::new(verifier, handler).into_method_router()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::push::sign_push_body;
    use crate::{AppSecret, SignMethod};
    use std::time::Duration;
    use tokio::sync::mpsc;

    const KEY: &str = "7012345678901234567";
    const SECRET: &str = "secret";

    fn headers(body: &[u8], sign: Option<String>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        // Signature first: the header order must not matter.
        if let Some(sign) = sign.or_else(|| Some(sign_push_body(KEY, SECRET, body, SignMethod::Md5))) {
            headers.insert("event-sign", sign.parse().unwrap());
        }
        headers.insert("app-id", KEY.parse().unwrap());
        headers
    }

    fn endpoint(fail_on: Option<&'static str>) -> (PushEndpoint, mpsc::UnboundedReceiver<PushEvent>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let verifier = PushVerifier::new(KEY, AppSecret::new(SECRET));
        let endpoint = PushEndpoint::new(verifier, move |event: PushEvent| {
            let sender = sender.clone();
            async move {
                let failing = Some(event.msg_id()) == fail_on;
                sender.send(event).unwrap();
                if failing {
                    Err("handler failed")
                } else {
                    Ok(())
                }
            }
        });
        (endpoint, receiver)
    }

    async fn next(receiver: &mut mpsc::UnboundedReceiver<PushEvent>) -> PushEvent {
        tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn verified_records_dispatch_once_and_bad_signatures_dispatch_nothing() {
        let (endpoint, mut events) = endpoint(None);
        let body = br#"[{"tag":"0","msg_id":"1","data":"x"},{"tag":"999","msg_id":"2","data":"{\"a\":1}"},{"tag":"100","msg_id":"3","data":"{\"create_time\":\"x\"}"}]"#;
        let accepted = endpoint.accept(&headers(body, None), body).await;
        assert_eq!(accepted, Accepted::Verified { dispatched: 3, duplicates: 0 });
        assert!(next(&mut events).await.is_test());
        assert!(matches!(next(&mut events).await, PushEvent::Unknown { ref tag, .. } if tag == "999"));
        let undecodable = next(&mut events).await;
        assert!(
            matches!(undecodable, PushEvent::Undecodable { tag: 100, ref error, .. } if error.contains("create_time")),
            "{undecodable:?}"
        );

        // A redelivery is dropped.
        assert_eq!(
            endpoint.accept(&headers(body, None), body).await,
            Accepted::Verified { dispatched: 0, duplicates: 3 }
        );

        // A tampered body, a wrong app id, a missing signature: refused, nothing dispatched.
        let other = br#"[{"tag":"0","msg_id":"9","data":"x"}]"#;
        let forged = headers(other, Some(sign_push_body(KEY, "wrong", other, SignMethod::Md5)));
        let response = endpoint.respond(&forged, other).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let mut no_sign = HeaderMap::new();
        no_sign.insert("app-id", KEY.parse().unwrap());
        assert!(matches!(endpoint.accept(&no_sign, other).await, Accepted::Refused(_)));
        let not_a_push = b"{}";
        let response = endpoint.respond(&headers(not_a_push, None), not_a_push).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(events.try_recv().is_err(), "a refused push dispatched something");
    }

    #[tokio::test]
    async fn a_failed_or_panicking_handler_answers_failure_and_the_redelivery_is_processed() {
        let (endpoint, mut events) = endpoint(Some("7"));
        let body = br#"[{"tag":"0","msg_id":"6","data":"x"},{"tag":"0","msg_id":"7","data":"x"},{"tag":"0","msg_id":"8","data":"x"}]"#;
        let accepted = endpoint.accept(&headers(body, None), body).await;
        assert!(matches!(accepted, Accepted::NotTaken(ref why) if why.contains("failed on 7")), "{accepted:?}");
        let response = endpoint.respond(&headers(body, None), body).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(next(&mut events).await.msg_id(), "6");
        assert_eq!(next(&mut events).await.msg_id(), "7");
        assert_eq!(next(&mut events).await.msg_id(), "7", "the answer to the redelivery above");
        // 6 was handled and stays seen; 7 failed and 8 was never reached: both are processed
        // again when the platform sends the push again.
        let handling =
            PushEndpoint::new(PushVerifier::new(KEY, AppSecret::new(SECRET)), |_| async { Ok::<_, HandlerError>(()) })
                .seen_store(endpoint.seen.clone());
        assert_eq!(
            handling.accept(&headers(body, None), body).await,
            Accepted::Verified { dispatched: 2, duplicates: 1 }
        );

        let panicking =
            PushEndpoint::new(PushVerifier::new(KEY, AppSecret::new(SECRET)), |event: PushEvent| async move {
                assert!(event.msg_id() != "9", "the handler panics");
                Ok::<_, HandlerError>(())
            });
        let body = br#"[{"tag":"0","msg_id":"9","data":"x"}]"#;
        let accepted = panicking.accept(&headers(body, None), body).await;
        assert!(matches!(accepted, Accepted::NotTaken(ref why) if why.contains("panicked on 9")), "{accepted:?}");
        assert!(matches!(panicking.accept(&headers(body, None), body).await, Accepted::NotTaken(_)), "not remembered");
    }

    /// A handler that never finishes, counting its calls and the most running at once.
    #[derive(Default)]
    struct Stuck {
        calls: std::sync::atomic::AtomicUsize,
        running: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    impl Stuck {
        fn handler(
            self: &Arc<Self>,
        ) -> impl Fn(PushRecord) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync + 'static {
            let stuck = self.clone();
            move |_record| {
                let stuck = stuck.clone();
                Box::pin(async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    stuck.calls.fetch_add(1, SeqCst);
                    let now = stuck.running.fetch_add(1, SeqCst) + 1;
                    stuck.most.fetch_max(now, SeqCst);
                    struct Leave(Arc<Stuck>);
                    impl Drop for Leave {
                        fn drop(&mut self) {
                            self.0.running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    let _leave = Leave(stuck);
                    std::future::pending::<Result<(), HandlerError>>().await
                })
            }
        }
    }

    fn push_body(n: usize) -> Vec<u8> {
        format!(r#"[{{"tag":"0","msg_id":"m{n}","data":"x"}}]"#).into_bytes()
    }

    /// `pushes` pushes at once, each with one new record; the outcomes.
    async fn flood(endpoint: &PushEndpoint, pushes: usize) -> Vec<Accepted> {
        let tasks: Vec<_> = (0..pushes)
            .map(|n| {
                let endpoint = endpoint.clone();
                tokio::spawn(async move {
                    let body = push_body(n);
                    endpoint.accept(&headers(&body, None), &body).await
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(pushes);
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        outcomes
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_handler_without_a_queue_bounds_the_work_in_progress_and_answers_failure() {
        let stuck = Arc::new(Stuck::default());
        let endpoint = PushEndpoint::with_records(PushVerifier::new(KEY, AppSecret::new(SECRET)), stuck.handler())
            .handler_deadline(Duration::from_millis(1500))
            .max_in_flight(16);
        let outcomes = flood(&endpoint, 50_000).await;
        // Every push is answered failure: cut off by the deadline, or refused while 16 were
        // in progress. No handler outlives its push.
        assert!(outcomes.iter().all(|o| matches!(o, Accepted::NotTaken(_))));
        use std::sync::atomic::Ordering::SeqCst;
        assert!(stuck.most.load(SeqCst) <= 16, "{} handlers at once", stuck.most.load(SeqCst));
        assert_eq!(stuck.running.load(SeqCst), 0);
        let cut_off =
            outcomes.iter().filter(|o| matches!(o, Accepted::NotTaken(why) if why.contains("longer than"))).count();
        assert_eq!(cut_off, stuck.calls.load(SeqCst));
        assert!(cut_off >= 16);
        // The ids were forgotten: a redelivery is processed.
        let body = push_body(0);
        assert!(
            matches!(endpoint.accept(&headers(&body, None), &body).await, Accepted::NotTaken(ref why) if why.contains("longer than"))
        );
        assert_eq!(stuck.calls.load(SeqCst), cut_off + 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_handler_with_a_journal_fills_it_to_capacity_and_no_further() {
        let dir = TempDir::new("stuck");
        let stuck = Arc::new(Stuck::default());
        let journal = PushJournal::with_capacity(dir.path(), 1_000).unwrap();
        let endpoint = PushEndpoint::with_records(PushVerifier::new(KEY, AppSecret::new(SECRET)), stuck.handler())
            .queue(journal.clone())
            .max_in_flight(100_000);
        let outcomes = flood(&endpoint, 50_000).await;
        let queued = outcomes.iter().filter(|o| matches!(o, Accepted::Verified { dispatched: 1, .. })).count();
        assert_eq!(queued, 1_000, "the journal holds its capacity");
        assert_eq!(
            outcomes.len() - queued,
            outcomes.iter().filter(|o| matches!(o, Accepted::NotTaken(why) if why.contains("full"))).count()
        );
        assert_eq!(journal.waiting(), 1_000);
        use std::sync::atomic::Ordering::SeqCst;
        assert_eq!(stuck.most.load(SeqCst), 1, "one record handed out at a time");
        // A push refused as full was forgotten: sent again once there is room, it is taken.
        let refused = (0..50_000).find(|n| matches!(outcomes[*n], Accepted::NotTaken(_))).unwrap();
        let body = push_body(refused);
        assert!(matches!(endpoint.accept(&headers(&body, None), &body).await, Accepted::NotTaken(_)), "still full");
    }

    #[tokio::test(start_paused = true)]
    async fn a_journaled_record_whose_handler_fails_is_retried_until_it_succeeds() {
        let dir = TempDir::new("retry");
        let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (sender, mut handled) = mpsc::unbounded_channel();
        let counter = attempts.clone();
        let endpoint =
            PushEndpoint::with_records(PushVerifier::new(KEY, AppSecret::new(SECRET)), move |record: PushRecord| {
                let (counter, sender) = (counter.clone(), sender.clone());
                async move {
                    let attempt = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    assert!(attempt != 2, "the second attempt panics");
                    if attempt < 4 {
                        return Err(HandlerError::from(format!("attempt {attempt} fails")));
                    }
                    sender.send(record.msg_id).unwrap();
                    Ok(())
                }
            })
            .queue(PushJournal::open(dir.path()).unwrap());
        let body = br#"[{"tag":"0","msg_id":"r1","data":"x"}]"#;
        // Answered success at once: the record is on disk.
        assert_eq!(
            endpoint.accept(&headers(body, None), body).await,
            Accepted::Verified { dispatched: 1, duplicates: 0 }
        );
        assert_eq!(tokio::time::timeout(Duration::from_secs(600), handled.recv()).await.unwrap().unwrap(), "r1");
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    /// A directory removed when dropped.
    pub(crate) struct TempDir(std::path::PathBuf);

    impl TempDir {
        pub(crate) fn new(label: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "doudian-webhook-{label}-{}-{}",
                std::process::id(),
                crate::retry::random_u64()
            ));
            TempDir(path)
        }
        pub(crate) fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
