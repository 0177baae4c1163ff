//! The HTTP/1.1 exchange with the platform: keep-alive connections to the one origin of the
//! client, each driven by the task that uses it.
//!
//! Why not a pooled background task per connection (reqwest, hyper-util's legacy client):
//! a call made in `block_on` (as in `#[tokio::main]`) then hands its request to a task on a
//! worker thread and gets the reply back across threads, several context switches per call.
//! Here the calling future polls the connection itself while it sends and reads; an idle
//! connection is polled by nobody, and is checked when it is taken again.
//!
//! One request at a time per connection (no pipelining): a connection is owned by the call
//! that took it, and goes back to the pool only after its reply was read to the end. A call
//! dropped or timed out mid-exchange drops its connection with it.

mod body;
mod connect;

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Mutex;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper::client::conn::http1::{Connection, SendRequest};

pub(super) use connect::{Connector, Origin, ProxySetting, TlsRoots};

/// The stream of one connection: TCP, or TLS over TCP (or over a proxy's tunnel).
type Io = hyper_rustls::MaybeHttpsStream<hyper_util::rt::TokioIo<tokio::net::TcpStream>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why an exchange gave no reply.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection (nothing was sent).
    Connect(BoxError),
    /// The exchange did not finish within its timeout.
    Timeout,
    /// The connection failed once the request may have been sent.
    Io(BoxError),
    /// The reply's body (or, gzip-encoded, its content) is larger than this limit.
    BodyTooLarge { limit: usize },
}

/// A reply: its status and its whole body (decoded when it was gzip-encoded).
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) body: Vec<u8>,
}

/// How long an unused connection is kept (servers close theirs after about a minute).
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);
/// At most this many unused connections are kept.
const MAX_IDLE: usize = 64;

/// The client's connections to its origin.
pub(super) struct Http {
    connector: Connector,
    /// Unused connections, the most recently used last (taken first: it is the least likely
    /// to have been closed by the server).
    idle: Mutex<Vec<Idle>>,
    connect_timeout: Duration,
    max_body: usize,
}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Driver,
    /// The deadline of the exchange in progress. One timer per connection, moved on for
    /// each call: moving a registered timer later touches nothing shared, where a new timer
    /// per call registers with the runtime's timer wheel and, on a multi-thread runtime,
    /// may wake the thread parked on the I/O driver to re-arm its wait.
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// The connection's state machine, which moves its bytes when polled, and how it ended
/// (it is never polled again once it has).
struct Driver {
    connection: Connection<Io, Full<Bytes>>,
    end: Option<hyper::Result<()>>,
}

impl Driver {
    fn poll(&mut self, cx: &mut std::task::Context<'_>) {
        if self.end.is_none() {
            if let Poll::Ready(end) = Pin::new(&mut self.connection).poll(cx) {
                self.end = Some(end);
            }
        }
    }

    /// The connection's own failure, which says more than the closed channel behind it.
    fn error(&mut self) -> Option<BoxError> {
        match self.end.take() {
            Some(Err(error)) => Some(Box::new(error)),
            end => {
                self.end = end;
                None
            }
        }
    }
}

struct Idle {
    conn: Box<Conn>,
    since: Instant,
}

impl Http {
    pub(super) fn new(connector: Connector, connect_timeout: Duration, max_body: usize) -> Http {
        Http { connector, idle: Mutex::new(Vec::new()), connect_timeout, max_body }
    }

    /// The origin requests go to, and how (directly or through a proxy).
    pub(super) fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Sends `request` and reads the whole reply, all within `timeout`.
    pub(super) async fn send(&self, request: Request<Full<Bytes>>, timeout: Duration) -> Result<Reply, Failure> {
        let deadline = tokio::time::Instant::now() + timeout;
        // A kept connection the server closed in the meantime may turn the request away
        // unsent (hyper hands it back); it goes once more, on a new connection.
        let (mut conn, reused) = self.take(deadline).await?;
        match exchange_on(&mut conn, request, deadline, self.max_body).await {
            Exchange::Unsent(error, request) => match reused {
                true => {
                    tracing::debug!(error = %error, "a kept connection turned the request away; sending it on a new one");
                    let mut conn = self.connect_boxed(deadline).await?;
                    let outcome = exchange_on(&mut conn, *request, deadline, self.max_body).await;
                    self.finish(conn_outcome(outcome), conn)
                }
                // Nothing was sent: as good as no connection.
                false => Err(Failure::Connect(error)),
            },
            outcome => self.finish(conn_outcome(outcome), conn),
        }
    }

    /// Keeps the connection for the next call when its exchange ended cleanly.
    fn finish(&self, outcome: (Result<Reply, Failure>, bool), conn: Box<Conn>) -> Result<Reply, Failure> {
        let (reply, reusable) = outcome;
        if reusable && !conn.sender.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(Idle { conn, since: Instant::now() });
            }
        }
        reply
    }

    /// A kept connection that is still open (and whether it was kept), or a new one.
    async fn take(&self, deadline: tokio::time::Instant) -> Result<(Box<Conn>, bool), Failure> {
        loop {
            let candidate = {
                let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                // The oldest are first: drop those kept too long.
                let expired = idle.iter().take_while(|kept| kept.since.elapsed() >= IDLE_TIMEOUT).count();
                idle.drain(..expired);
                idle.pop()
            };
            let Some(Idle { mut conn, .. }) = candidate else { break };
            // Polling the idle connection reads what the server sent meanwhile: a close
            // ends it here rather than under the next request.
            poll_fn(|cx| {
                conn.driver.poll(cx);
                Poll::Ready(())
            })
            .await;
            if conn.driver.end.is_none() && !conn.sender.is_closed() {
                return Ok((conn, true));
            }
        }
        Ok((self.connect_boxed(deadline).await?, false))
    }

    /// [`Http::connect`] on the heap: a connection (TLS state and buffers, a few KiB) is
    /// held by pointer, so the call's future stays small and is not copied about whole.
    async fn connect_boxed(&self, deadline: tokio::time::Instant) -> Result<Box<Conn>, Failure> {
        Box::pin(self.connect(deadline)).await.map(Box::new)
    }

    /// A new connection, within the connect timeout and the call's deadline (either way
    /// nothing was sent when it runs out).
    async fn connect(&self, deadline: tokio::time::Instant) -> Result<Conn, Failure> {
        let connecting = async {
            let io = self.connector.connect().await.map_err(Failure::Connect)?;
            let (sender, driver) = hyper::client::conn::http1::Builder::new()
                .handshake(io)
                .await
                .map_err(|e| Failure::Connect(Box::new(e)))?;
            let driver = Driver { connection: driver, end: None };
            Ok(Conn { sender, driver, deadline: Box::pin(tokio::time::sleep_until(deadline)) })
        };
        let limit = deadline.min(tokio::time::Instant::now() + self.connect_timeout);
        match tokio::time::timeout_at(limit, connecting).await {
            Ok(conn) => conn,
            Err(_) => Err(Failure::Connect("connecting timed out".into())),
        }
    }
}

/// How one exchange on one connection ended.
enum Exchange {
    /// The reply, read to its end, and whether the connection is still open.
    Done { reply: Reply, open: bool },
    /// The connection turned the request away before sending any of it, and gave it back.
    Unsent(BoxError, Box<Request<Full<Bytes>>>),
    /// It failed once the request may have been sent; the connection is spent.
    Failed(Failure),
}

/// The reply, and whether the connection may carry another request.
fn conn_outcome(exchange: Exchange) -> (Result<Reply, Failure>, bool) {
    match exchange {
        Exchange::Done { reply, open } => (Ok(reply), open),
        Exchange::Unsent(error, _) => (Err(Failure::Connect(error)), false),
        Exchange::Failed(failure) => (Err(failure), false),
    }
}

async fn exchange_on(
    conn: &mut Conn,
    request: Request<Full<Bytes>>,
    deadline: tokio::time::Instant,
    max_body: usize,
) -> Exchange {
    let Conn { sender, driver, deadline: timer } = conn;
    timer.as_mut().reset(deadline);
    let timed_out = |_: TimedOut| Exchange::Failed(Failure::Timeout);
    match drive(driver, timer, sender.ready()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Exchange::Unsent(Box::new(error), Box::new(request)),
        Err(late) => return timed_out(late),
    }
    let response = match drive(driver, timer, sender.try_send_request(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(mut refused)) => match refused.take_message() {
            Some(request) => return Exchange::Unsent(Box::new(refused.into_error()), Box::new(request)),
            None => {
                let error = Box::new(refused.into_error());
                return Exchange::Failed(Failure::Io(driver.error().unwrap_or(error)));
            }
        },
        Err(late) => return timed_out(late),
    };
    let (parts, incoming) = response.into_parts();
    match drive(driver, timer, body::read(incoming, &parts.headers, max_body)).await {
        // The connection may have ended with a whole reply (`Connection: close`).
        Ok(Ok(body)) => Exchange::Done { reply: Reply { status: parts.status, body }, open: driver.end.is_none() },
        Ok(Err(body::Failure::TooLarge)) => Exchange::Failed(Failure::BodyTooLarge { limit: max_body }),
        Ok(Err(body::Failure::Io(error))) => Exchange::Failed(Failure::Io(driver.error().unwrap_or(error))),
        Err(late) => timed_out(late),
    }
}

/// The exchange's deadline passed.
struct TimedOut;

/// Runs `work` while polling the connection's driver, which moves the bytes it waits for,
/// until the deadline.
async fn drive<T>(
    driver: &mut Driver,
    deadline: &mut Pin<Box<tokio::time::Sleep>>,
    work: impl Future<Output = T>,
) -> Result<T, TimedOut> {
    let mut work = pin!(work);
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        driver.poll(cx);
        // The driver may have handed the work what it waited for.
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
