//! A ready push endpoint for axum (cargo feature `axum`): the whole webhook in one line.
//!
//! ```no_run
//! use doudian_sdk::push::{PushEvent, PushVerifier};
//! use doudian_sdk::webhook::push_endpoint;
//! use doudian_sdk::AppSecret;
//!
//! async fn on_event(event: PushEvent) -> Result<(), std::convert::Infallible> {
//!     println!("{} {:?}", event.msg_id(), event);
//!     Ok(())
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let verifier = PushVerifier::new("7012345678901234567", AppSecret::new("app-secret"));
//! let app = axum::Router::new().route("/doudian/push", push_endpoint(verifier, on_event));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! For each POST the endpoint
//! 1. verifies `app-id` and `event-sign` over the raw body; a failure is answered
//!    `401` (`400` for a body that is not a push) with [`FAILURE_REPLY`], and nothing is
//!    dispatched;
//! 2. drops records whose `msg_id` the [`SeenStore`] has seen (redeliveries);
//! 3. answers `200` [`SUCCESS_REPLY`] at once: the platform wants its answer within ~2 s;
//! 4. afterwards, in a spawned task, hands each record to the application's async function
//!    as a typed [`PushEvent`], in order. A record that does not decode arrives as
//!    [`PushEvent::Undecodable`], never dropped. When the function fails (or panics), its
//!    `msg_id` is forgotten, so a redelivery of it is processed again.
//!
//! When the seen-store fails (a shared store that is down), records are processed anyway:
//! processing a message twice is recoverable, losing it is not.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use crate::error::{Error, VerifyError};
use crate::push::{PushEvent, PushRecord, PushVerifier, RecentMessages, SeenStore, FAILURE_REPLY, SUCCESS_REPLY};

/// What an event handler may fail with.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// How many message ids the default in-memory seen-store remembers.
pub const DEFAULT_SEEN_CAPACITY: usize = 100_000;

type Dispatch = Arc<dyn Fn(PushRecord) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync>;

/// A push endpoint: a verifier, a seen-store and the application's event function.
/// [`push_endpoint`] builds one with the defaults; use this type to change the store.
#[derive(Clone)]
pub struct PushEndpoint {
    verifier: Arc<PushVerifier>,
    seen: Arc<dyn SeenStore>,
    dispatch: Dispatch,
}

impl std::fmt::Debug for PushEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushEndpoint").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

/// The outcome of one POST, before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// Verified; this many records were new and will be dispatched (the rest were
    /// redeliveries).
    Verified {
        /// Records handed to the application.
        dispatched: usize,
        /// Records dropped as already seen.
        duplicates: usize,
    },
    /// Refused: why; nothing was dispatched.
    Refused(VerifyError),
}

impl PushEndpoint {
    /// An endpoint that verifies with `verifier`, remembers the last
    /// [`DEFAULT_SEEN_CAPACITY`] message ids in memory and calls `handler` for each event.
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
        }
    }

    /// Uses `store` to drop redeliveries: share one between replicas (for example
    /// `doudian_sdk::redis::RedisSeenStore`, cargo feature `redis`) so that each message
    /// is processed once.
    pub fn seen_store(mut self, store: Arc<dyn SeenStore>) -> Self {
        self.seen = store;
        self
    }

    /// The axum route: `Router::new().route("/push", endpoint.into_method_router())`.
    pub fn into_method_router<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        post(move |headers: HeaderMap, body: Bytes| {
            let endpoint = self.clone();
            async move { endpoint.respond(&headers, &body).await }
        })
    }

    /// Handles one POST: verifies, drops redeliveries, starts dispatching the new records
    /// in the background, and returns the HTTP answer.
    pub async fn respond(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        let (status, reply) = match self.accept(headers, body).await {
            Accepted::Verified { .. } => (StatusCode::OK, SUCCESS_REPLY),
            Accepted::Refused(reason) => {
                tracing::warn!(reason = %reason, "push refused");
                let status = match reason {
                    VerifyError::Malformed(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                (status, FAILURE_REPLY)
            }
        };
        let mut response = (status, reply).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// [`respond`](Self::respond) without the HTTP answer: what was done with the push.
    pub async fn accept(&self, headers: &HeaderMap, body: &[u8]) -> Accepted {
        let records = match self.verifier.receive_headers(headers, body) {
            Ok(records) => records,
            Err(Error::Verify(reason)) => return Accepted::Refused(*reason),
            Err(other) => return Accepted::Refused(VerifyError::Malformed(other.to_string())),
        };
        let total = records.len();
        let mut fresh = Vec::with_capacity(total);
        for record in records {
            if record.msg_id.is_empty() {
                fresh.push(record);
                continue;
            }
            match self.seen.first_time(&record.msg_id).await {
                Ok(true) => fresh.push(record),
                Ok(false) => tracing::debug!(msg_id = %record.msg_id, "push redelivery dropped"),
                Err(e) => {
                    tracing::warn!(msg_id = %record.msg_id, error = %e, "seen-store failed; processing the push anyway");
                    fresh.push(record);
                }
            }
        }
        let dispatched = fresh.len();
        if dispatched > 0 {
            tokio::spawn(dispatch_all(fresh, self.dispatch.clone(), self.seen.clone()));
        }
        Accepted::Verified { dispatched, duplicates: total - dispatched }
    }
}

/// Hands the records to the application in order; a failure or panic forgets the id.
async fn dispatch_all(records: Vec<PushRecord>, dispatch: Dispatch, seen: Arc<dyn SeenStore>) {
    for record in records {
        let msg_id = record.msg_id.clone();
        let tag = record.tag.clone();
        let failure = match AssertUnwindSafe(dispatch(record)).catch_unwind().await {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the handler panicked".to_owned(),
        };
        tracing::warn!(msg_id = %msg_id, tag = %tag, error = %failure, "push handler failed; a redelivery will be processed");
        if !msg_id.is_empty() {
            if let Err(e) = seen.forget(&msg_id).await {
                tracing::warn!(msg_id = %msg_id, error = %e, "cannot forget the message id");
            }
        }
    }
}

/// The push endpoint with the defaults (an in-memory seen-store): verify, answer at once,
/// call `handler` with each new event afterwards.
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
mod tests {
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
    async fn a_failed_handling_is_processed_again_on_redelivery() {
        let (endpoint, mut events) = endpoint(Some("7"));
        let body = br#"[{"tag":"0","msg_id":"7","data":"x"}]"#;
        endpoint.accept(&headers(body, None), body).await;
        assert_eq!(next(&mut events).await.msg_id(), "7");
        // The forget happens after the handler returns: wait for it.
        let mut again = Accepted::Refused(VerifyError::MissingSignature);
        for _ in 0..100 {
            again = endpoint.accept(&headers(body, None), body).await;
            if again == (Accepted::Verified { dispatched: 1, duplicates: 0 }) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(again, Accepted::Verified { dispatched: 1, duplicates: 0 });
        assert_eq!(next(&mut events).await.msg_id(), "7");
    }
}
