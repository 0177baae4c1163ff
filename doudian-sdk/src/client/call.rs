//! The call path: one [`Call`] value handed from the public entry points down through the
//! retry loop, the token step and the rate limiter to the transport, and back up decoded.
//!
//! ```text
//! Client::call      retries (retry::run)
//!   Client::attempt   the shop's token; one refresh when the platform rejects it
//!     Inner::send       observers, rate limiter, transport, decoding
//!       Inner::send_once  one signed HTTP exchange and the envelope check (transport.rs)
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::{Duration, Instant};

use super::{CallOptions, Client, Inner, Response};
use crate::error::{DecodeStage, Error, Result};
use crate::observe::{Answer, Attempt};
use crate::retry::{self, RetryClass, RetryPolicy};
use crate::secret::AccessToken;

/// Options for the calls the client makes on its own (token calls).
static NO_OPTIONS: CallOptions = CallOptions {
    retry: None,
    timeout: None,
    access_token: None,
    without_token: false,
    log_id: None,
    #[cfg(feature = "schema")]
    validate: false,
};

/// One call: what it calls, with which parameters, and how (the same on every attempt).
pub(super) struct Call<'a> {
    /// The platform method, e.g. `order.searchList`.
    pub(super) method: &'a str,
    /// The canonical `param_json` that is signed and sent.
    pub(super) param_json: String,
    /// The caller's options.
    pub(super) options: &'a CallOptions,
    /// The retry policy in force (the call's, else the client's).
    pub(super) policy: &'a RetryPolicy,
    /// Whether an ambiguous failure may be retried: reads, or writes the policy allows.
    pub(super) retry_ambiguous: bool,
    /// Whether the client supplies the shop's token (and refreshes it once when rejected).
    pub(super) managed_token: bool,
    /// Whether the call waits for the rate limiter's slot (the client's own token calls do not).
    pub(super) paced: bool,
}

impl<'a> Call<'a> {
    /// A call a user asked for.
    pub(super) fn new(
        client: &'a Client,
        method: &'a str,
        param_json: String,
        class: RetryClass,
        options: &'a CallOptions,
    ) -> Self {
        let policy = options.retry.as_ref().unwrap_or(&client.inner.retry);
        let is_token_call = matches!(method, "token.create" | "token.refresh");
        Call {
            method,
            param_json,
            options,
            policy,
            retry_ambiguous: policy.retries_ambiguous(class),
            managed_token: !is_token_call && !options.without_token && options.access_token.is_none(),
            paced: true,
        }
    }

    /// A token call the client makes itself: no access token, not paced, retried like a
    /// read (creating or refreshing twice is harmless: the platform returns the same pair).
    pub(super) fn token(method: &'a str, param_json: String, policy: &'a RetryPolicy) -> Self {
        Call {
            method,
            param_json,
            options: &NO_OPTIONS,
            policy,
            retry_ambiguous: true,
            managed_token: false,
            paced: false,
        }
    }
}

impl Client {
    /// Sends `call` with retries and token handling, decoding each answer with `decode`.
    pub(super) async fn call<T>(
        &self,
        call: &Call<'_>,
        decode: impl Fn(&str, Vec<u8>) -> Result<Response<T>>,
    ) -> Result<Response<T>> {
        // The refresh-and-retry after a rejected token happens once per call, whatever the retries.
        let refreshed = AtomicBool::new(false);
        retry::run(call.policy, call.method, call.retry_ambiguous, |attempt| {
            self.attempt(call, &refreshed, attempt, &decode)
        })
        .await
    }

    /// One attempt with the shop's token; when the platform says the token expired, one
    /// refresh (shared with every caller that saw the same token) and the call again.
    async fn attempt<T>(
        &self,
        call: &Call<'_>,
        refreshed: &AtomicBool,
        attempt: u32,
        decode: &impl Fn(&str, Vec<u8>) -> Result<Response<T>>,
    ) -> Result<Response<T>> {
        let token = match call.managed_token {
            true => Some(self.managed_access_token().await?),
            false => call.options.access_token.clone(),
        };
        match self.inner.send(call, token.as_ref(), attempt, decode).await {
            Err(error)
                if call.managed_token && error.is_token_expired() && !refreshed.swap(true, Ordering::Relaxed) =>
            {
                let fresh = self.replace_rejected_token(token).await?;
                self.inner.send(call, Some(&fresh), attempt, decode).await
            }
            outcome => outcome,
        }
    }
}

impl Inner {
    /// One request: the observers hear it start; it waits for its slot when calls are
    /// paced; it is sent; the limiter hears whether the platform throttled it; the answer
    /// is decoded; the observers hear how it went.
    pub(super) async fn send<T>(
        &self,
        call: &Call<'_>,
        token: Option<&AccessToken>,
        attempt: u32,
        decode: &impl Fn(&str, Vec<u8>) -> Result<Response<T>>,
    ) -> Result<Response<T>> {
        let method = call.method;
        if !self.observers.is_empty() {
            self.observers.attempt(&Attempt { method, attempt });
        }
        let limiter = self.limiter.as_ref().filter(|_| call.paced);
        let mut paced = Duration::ZERO;
        if let Some(limiter) = limiter {
            let waiting = Instant::now();
            limiter.acquire(method).await;
            paced = waiting.elapsed();
        }
        let sent_at = Instant::now();
        let sent = self.send_once(call, token, attempt, decode).await;
        if let Some(limiter) = limiter {
            match &sent.reply {
                Err(error) if error.is_rate_limited() => limiter.throttled(method, sent_at),
                // The platform answered (a `data` that does not decode is still an answer).
                Ok(_) | Err(Error::Api(_)) => limiter.answered(method, sent_at),
                Err(Error::Decode(decode)) if matches!(decode.stage, DecodeStage::Data) => {
                    limiter.answered(method, sent_at)
                }
                Err(_) => {}
            }
        }
        let outcome = sent.reply;
        if !self.observers.is_empty() {
            let log_id = match &outcome {
                Ok(reply) => reply.log_id(),
                Err(error) => error.log_id().unwrap_or_default(),
            };
            let latency = sent_at.elapsed();
            let answer = Answer::new(method, attempt, latency, paced, sent.bytes, log_id, outcome.as_ref().err());
            self.observers.answer(&answer);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::sync::{Arc, Mutex};

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::error::TransportKind;
    use crate::observe::{CallObserver, Outcome};
    use crate::ratelimit::RateLimiter;

    /// Holds every call back one second (on the runtime's clock) and counts them.
    #[derive(Default)]
    struct OneSecondSlots(AtomicU32);

    impl RateLimiter for OneSecondSlots {
        fn acquire<'a>(&'a self, _: &'a str) -> BoxFuture<'a, ()> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Box::pin(tokio::time::sleep(Duration::from_secs(1)))
        }
    }

    /// What one observer heard, in order.
    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);

    impl CallObserver for Heard {
        fn attempt(&self, attempt: &Attempt<'_>) {
            self.0.lock().unwrap().push(format!("{} attempt {}", attempt.method, attempt.attempt));
        }
        fn answer(&self, answer: &Answer<'_>) {
            let outcome = match answer.outcome {
                // Refused, or (should the paused clock run out first) timed out: no answer either way.
                Outcome::Transport(TransportKind::Connect | TransportKind::Timeout) => "no answer".to_owned(),
                other => format!("{other:?}"),
            };
            let Answer { method, attempt, paced, bytes, .. } = *answer;
            self.0
                .lock()
                .unwrap()
                .push(format!("{method} answer {attempt}: {outcome}, paced {paced:?}, {bytes} bytes"));
        }
    }

    /// A client of `observers` calling a loopback port where nothing listens, paced by
    /// `limiter`, three attempts.
    fn unreachable(limiter: Option<Arc<OneSecondSlots>>, observers: Vec<Arc<Heard>>) -> Client {
        let policy = RetryPolicy::attempts(3).with_backoff(Duration::from_millis(10), Duration::from_millis(10));
        let mut builder = Client::builder("7012345678901234567", "s").base_url("http://127.0.0.1:9").env_proxy(false);
        builder = builder.retry(policy).timeout(Duration::from_secs(600));
        if let Some(limiter) = limiter {
            builder = builder.rate_limiter(limiter);
        }
        for observer in observers {
            builder = builder.observer(observer);
        }
        builder.build().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn every_observer_hears_every_attempt_with_the_time_it_was_paced() {
        let limiter = Arc::new(OneSecondSlots::default());
        let (first, second) = (Arc::new(Heard::default()), Arc::new(Heard::default()));
        let client = unreachable(Some(limiter.clone()), vec![first.clone(), second.clone()]);
        let options = CallOptions::new().without_token();
        let error = client.call_json("shop.brandList", "{}", &options).await.unwrap_err();
        assert!(matches!(error, Error::Transport(_)), "{error:?}");
        let heard: Vec<String> = (1..=3)
            .flat_map(|n| {
                [
                    format!("shop.brandList attempt {n}"),
                    format!("shop.brandList answer {n}: no answer, paced 1s, 0 bytes"),
                ]
            })
            .collect();
        assert_eq!(*first.0.lock().unwrap(), heard);
        assert_eq!(*second.0.lock().unwrap(), heard, "every observer hears every event");
        assert_eq!(limiter.0.load(Ordering::Relaxed), 3, "each attempt waited for its slot");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_limiter_nothing_is_paced() {
        let heard = Arc::new(Heard::default());
        let client = unreachable(None, vec![heard.clone()]);
        let options = CallOptions::new().without_token().retry(RetryPolicy::none());
        client.call_json("shop.brandList", "{}", &options).await.unwrap_err();
        assert_eq!(
            *heard.0.lock().unwrap(),
            ["shop.brandList attempt 1", "shop.brandList answer 1: no answer, paced 0ns, 0 bytes"]
        );
    }
}
