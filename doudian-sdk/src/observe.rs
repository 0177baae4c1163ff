//! Watching the call path: a [`CallObserver`] set with
//! [`ClientBuilder::observer`](crate::ClientBuilder::observer) hears every attempt of every
//! call before it goes out, and every answer after it comes back: the method, the attempt
//! number, the latency, the platform's code and sub_code (or the transport or decode
//! failure), the reply's size, whether the platform throttled it and how long the client's
//! rate limiter held it back. Counting, metrics, logs or alerts are built on it.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use doudian_sdk::observe::{Answer, CallObserver};
//!
//! /// Counts the answers the platform throttled.
//! #[derive(Default)]
//! struct Throttled(AtomicU64);
//!
//! impl CallObserver for Throttled {
//!     fn answer(&self, answer: &Answer<'_>) {
//!         if answer.throttled {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! let throttled = Arc::new(Throttled::default());
//! let client = doudian_sdk::Client::builder("7012345678901234567", "app-secret")
//!     .observer(throttled.clone())
//!     .build()?;
//! # Ok::<(), doudian_sdk::Error>(())
//! ```
//!
//! Several observers may be set; each hears every event, in the order they were set.
//! Without any (the default) the call path builds no events at all.
//!
//! An observer runs on the call's task, between the attempt and the caller: it should be
//! quick and must not block (hand slow work to a channel). It cannot break a call: a panic
//! in an observer is caught, logged as a warning (target `doudian_sdk::observe`), and the
//! call goes on as if the observer had returned; the observer is still called for later
//! events. The client holds no lock while an observer runs, so nothing of the client is
//! poisoned; an observer that keeps a lock of its own should recover from its poisoning.
//! (A build with `panic = "abort"` aborts, as it does for any panic.)
//!
//! With the `metrics` feature every client also records what it hears through the
//! [`metrics`](https://docs.rs/metrics) facade: see [`metrics`](self#metrics) below.
//!
//! # Metrics
//!
//! With the `metrics` cargo feature, every client records, per answer:
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `doudian_calls_total` | counter | `method`, `outcome` |
//! | `doudian_call_errors_total` | counter | `method`, `code`, `sub_code` |
//! | `doudian_call_duration_seconds` | histogram | `method` |
//!
//! * `outcome`: `success`, `api_error` (the platform answered with an error code),
//!   `transport_error` (no answer), `decode_error` (an answer that does not decode).
//! * `code` and `sub_code` of an API error: the platform's (`60000`,
//!   `isv.traffic-limited`); of a transport error: `transport` and the kind (`connect`,
//!   `timeout`, `io`, `http_503`, `body_too_large`); of a decode error: `decode` and the
//!   stage (`envelope`, `data`).
//! * The duration is [`Answer::latency`], in seconds.
//!
//! Each attempt of a retried call counts once. Nothing is recorded until the application
//! installs a recorder, which is one line, for example with `metrics-exporter-prometheus`:
//! `PrometheusBuilder::new().install()?`.

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "metrics")]
pub(crate) use metrics::Metrics;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{DecodeStage, Error, TransportKind};

/// Hears every attempt of every call a client makes (see the [module](self)).
///
/// Both methods do nothing by default: implement the ones you need. They are called on
/// the call's task and must be quick.
pub trait CallObserver: Send + Sync + 'static {
    /// An attempt is about to start (before it waits for its rate-limit slot).
    fn attempt(&self, attempt: &Attempt<'_>) {
        let _ = attempt;
    }

    /// An attempt was answered, or failed without an answer.
    fn answer(&self, answer: &Answer<'_>) {
        let _ = answer;
    }
}

/// An observer shared with the application (to read what it counted) is still an observer.
impl<T: CallObserver + ?Sized> CallObserver for Arc<T> {
    fn attempt(&self, attempt: &Attempt<'_>) {
        (**self).attempt(attempt);
    }
    fn answer(&self, answer: &Answer<'_>) {
        (**self).answer(answer);
    }
}

/// An attempt about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt<'a> {
    /// The platform method, e.g. `order.searchList`.
    pub method: &'a str,
    /// The attempt's number, from 1. A call sent again with a fresh token after the
    /// platform rejected its token keeps its attempt number.
    pub attempt: u32,
}

/// How one attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer<'a> {
    /// The platform method.
    pub method: &'a str,
    /// The attempt's number, from 1 (as in [`Attempt::attempt`]).
    pub attempt: u32,
    /// From sending the request to the answer read and decoded (the wait for a rate-limit
    /// slot is not included: that is [`paced`](Self::paced)).
    pub latency: Duration,
    /// How long the client's rate limiter held the attempt back before it was sent (zero
    /// without a limiter, or when a slot was free).
    pub paced: Duration,
    /// What came back.
    pub outcome: Outcome<'a>,
    /// The platform throttled the call (60000 / `isv.traffic-limited`).
    pub throttled: bool,
    /// The size of the reply body in bytes (0 when none was read).
    pub bytes: usize,
    /// The platform's log id of the reply (empty when there is none).
    pub log_id: &'a str,
}

/// What came back for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// Success, and its `data` decoded.
    Success,
    /// The platform answered with an error code.
    Api {
        /// The code (`40003`, `60000`, ...).
        code: i64,
        /// The sub-code (`isv.traffic-limited`, ...); empty when the platform sent none.
        sub_code: &'a str,
    },
    /// No answer: the connection, a timeout, an HTTP status, the size limit.
    Transport(TransportKind),
    /// An answer that does not decode: not an envelope, or `data` not of its type.
    Decode(DecodeStage),
    /// Another failure (not one an exchange gives today).
    Other,
}

impl<'a> Outcome<'a> {
    fn of(error: Option<&'a Error>) -> Self {
        match error {
            None => Outcome::Success,
            Some(Error::Api(api)) => Outcome::Api { code: api.code, sub_code: &api.sub_code },
            Some(Error::Transport(transport)) => Outcome::Transport(transport.kind),
            Some(Error::Decode(decode)) => Outcome::Decode(decode.stage),
            Some(_) => Outcome::Other,
        }
    }
}

impl<'a> Answer<'a> {
    /// The answer of an attempt whose outcome is `error` (`None`: success).
    pub(crate) fn new(
        method: &'a str,
        attempt: u32,
        latency: Duration,
        paced: Duration,
        bytes: usize,
        log_id: &'a str,
        error: Option<&'a Error>,
    ) -> Self {
        let throttled = error.is_some_and(Error::is_rate_limited);
        Answer { method, attempt, latency, paced, outcome: Outcome::of(error), throttled, bytes, log_id }
    }
}

/// The observers of one client, each shielded from the others and from the call.
#[derive(Default)]
pub(crate) struct Observers(Vec<Box<dyn CallObserver>>);

impl Observers {
    /// Adds an observer after those already set.
    pub(crate) fn push(&mut self, observer: Box<dyn CallObserver>) {
        self.0.push(observer);
    }

    /// No observer is set: the call path skips building events.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tells every observer that an attempt starts.
    pub(crate) fn attempt(&self, attempt: &Attempt<'_>) {
        for observer in &self.0 {
            shielded(attempt.method, || observer.attempt(attempt));
        }
    }

    /// Tells every observer how an attempt went.
    pub(crate) fn answer(&self, answer: &Answer<'_>) {
        for observer in &self.0 {
            shielded(answer.method, || observer.answer(answer));
        }
    }
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} observer(s)", self.0.len())
    }
}

/// Runs one observer's hook; a panic stops there, logged, and the call goes on.
fn shielded(method: &str, hook: impl FnOnce()) {
    // Unwind safety: the hook borrows the event (read only) and the observer, whose own
    // state is its business; the client's state is not touched.
    if catch_unwind(AssertUnwindSafe(hook)).is_err() {
        tracing::warn!(method, "a call observer panicked; the call goes on without it for this event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, DecodeError, TransportError};
    use std::sync::Mutex;

    /// Records every event as text.
    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl CallObserver for Log {
        fn attempt(&self, attempt: &Attempt<'_>) {
            self.0.lock().unwrap().push(format!("attempt {} {}", attempt.method, attempt.attempt));
        }
        fn answer(&self, answer: &Answer<'_>) {
            self.0.lock().unwrap().push(format!("answer {} {} {:?}", answer.method, answer.attempt, answer.outcome));
        }
    }

    struct Panics;

    impl CallObserver for Panics {
        fn attempt(&self, _: &Attempt<'_>) {
            panic!("observer bug");
        }
        fn answer(&self, _: &Answer<'_>) {
            panic!("observer bug");
        }
    }

    fn answer(error: Option<&Error>) -> Answer<'_> {
        Answer::new("m", 2, Duration::from_millis(5), Duration::ZERO, 10, "L", error)
    }

    #[test]
    fn a_panicking_observer_neither_stops_the_others_nor_escapes() {
        let log = Arc::new(Log::default());
        let mut observers = Observers::default();
        observers.push(Box::new(Panics));
        observers.push(Box::new(log.clone()));
        observers.push(Box::new(Panics));
        assert!(!observers.is_empty());
        observers.attempt(&Attempt { method: "m", attempt: 1 });
        observers.answer(&answer(None));
        observers.attempt(&Attempt { method: "m", attempt: 2 });
        assert_eq!(*log.0.lock().unwrap(), ["attempt m 1", "answer m 2 Success", "attempt m 2"]);
        assert_eq!(format!("{observers:?}"), "3 observer(s)");
        assert!(Observers::default().is_empty());
    }

    #[test]
    fn outcomes_name_the_code_or_the_failure_kind() {
        let throttled = Error::from(ApiError {
            method: "m".into(),
            code: 60000,
            msg: "too fast".into(),
            sub_code: "isv.traffic-limited".into(),
            sub_msg: String::new(),
            log_id: "L".into(),
        });
        let answered = answer(Some(&throttled));
        assert_eq!(answered.outcome, Outcome::Api { code: 60000, sub_code: "isv.traffic-limited" });
        assert!(answered.throttled);
        assert!(!answer(None).throttled);
        assert_eq!(answer(None).outcome, Outcome::Success);
        let timeout = Error::from(TransportError { method: "m".into(), kind: TransportKind::Timeout, source: None });
        assert_eq!(answer(Some(&timeout)).outcome, Outcome::Transport(TransportKind::Timeout));
        assert!(!answer(Some(&timeout)).throttled);
        let decode = Error::from(DecodeError {
            context: "m".into(),
            stage: DecodeStage::Data,
            path: "data.x".into(),
            message: "bad".into(),
            excerpt: String::new(),
            log_id: String::new(),
        });
        assert_eq!(answer(Some(&decode)).outcome, Outcome::Decode(DecodeStage::Data));
        assert_eq!(answer(Some(&Error::config("x"))).outcome, Outcome::Other);
    }
}
