//! The connection side, built like an edge server: a cap on open connections, a deadline
//! for the request head, an idle deadline for silent connections (idle keep-alives, slow
//! clients), and a kill switch per connection for the dropped-connection faults.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Uri};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::envelope::{ApiFailure, CODE_SERVICE_BUSY};

/// Connection limits of a gateway (see [`crate::GatewayBuilder`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The whole request head must arrive within this.
    pub(crate) header_read_timeout: Duration,
    /// A connection on which nothing moves for this long is closed.
    pub(crate) idle_timeout: Duration,
    /// The whole request body must arrive within this.
    pub(crate) body_timeout: Duration,
    /// Connections open at once; more are answered 503 and closed.
    pub(crate) max_connections: usize,
    /// The largest request body; more is answered 413.
    pub(crate) max_body_bytes: usize,
}

impl Default for Limits {
    /// What an edge in front of an API would use.
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What a request knows about its connection: the peer, and the switch that drops it.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    killed: Arc<AtomicBool>,
    peer: SocketAddr,
}

impl Connection {
    /// Makes every further read and write of the connection fail: the client sees it close
    /// without a reply.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
    }

    /// The client's address.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    #[cfg(test)]
    pub(crate) fn for_tests(peer: SocketAddr) -> Self {
        Connection { killed: Arc::default(), peer }
    }
}

/// `host[:port]` the client reached the gateway by (the URI's authority under HTTP/2, the
/// `Host` header under HTTP/1), or the bound address.
pub(crate) fn request_host(bound: SocketAddr, uri: &Uri, headers: &HeaderMap) -> String {
    let plain =
        |host: &&str| !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b));
    uri.authority()
        .map(|a| a.as_str())
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .filter(plain)
        .map(str::to_owned)
        .unwrap_or_else(|| bound.to_string())
}

/// A dropped connection: the reply is never written.
pub(crate) fn dropped(connection: &Connection) -> axum::response::Response {
    connection.kill();
    axum::response::Response::new(axum::body::Body::empty())
}

/// A TCP stream with the kill switch and the idle deadline.
struct GuardedStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl GuardedStream {
    fn failure(&self) -> Option<io::Error> {
        self.killed
            .load(Ordering::Acquire)
            .then(|| io::Error::new(io::ErrorKind::ConnectionAborted, "connection dropped by fault injection"))
    }

    /// After progress, the idle deadline moves; while waiting, it may expire.
    fn check_idle<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                let next = Instant::now() + self.idle;
                self.deadline.as_mut().reset(next);
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle too long")))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.failure() {
            return Poll::Ready(Err(e));
        }
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.check_idle(cx, poll)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.failure() {
            return Poll::Ready(Err(e));
        }
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check_idle(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.failure() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Writes the body of an over-capacity refusal (in the envelope, with a fresh log id).
pub(crate) type Refusal = Arc<dyn Fn(&ApiFailure) -> String + Send + Sync>;

/// Accepts connections until `stop` turns true, serving each with `router`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    refusal: Refusal,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => return,
        };
        // Small request/response pairs: never wait for Nagle.
        let _ = stream.set_nodelay(true);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let failure = ApiFailure::new(
                CODE_SERVICE_BUSY,
                "dop.service-error",
                format!("more than {} connections are open", limits.max_connections),
            );
            tokio::spawn(refuse_over_capacity(stream, refusal(&failure)));
            continue;
        };
        let killed = Arc::new(AtomicBool::new(false));
        let connection = Connection { killed: killed.clone(), peer };
        let io = GuardedStream {
            inner: stream,
            killed,
            idle: limits.idle_timeout,
            deadline: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(connection.clone()));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let (builder, mut stop) = (builder.clone(), stop.clone());
        tokio::spawn(async move {
            let served = builder.serve_connection(TokioIo::new(io), service);
            tokio::pin!(served);
            tokio::select! {
                outcome = served.as_mut() => {
                    if let Err(e) = outcome {
                        tracing::debug!(%peer, error = %e, "connection closed with an error");
                    }
                }
                () = stopped(&mut stop) => {
                    // Finish the request in flight, then close.
                    served.as_mut().graceful_shutdown();
                    let _ = served.as_mut().await;
                }
            }
            drop(permit);
        });
    }
}

/// Resolves when the gateway is told to stop (or its handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Over the connection cap: one 503 with `body`, then close.
async fn refuse_over_capacity(mut stream: TcpStream, body: String) {
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json;charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(reply.as_bytes())).await;
    let _ = stream.shutdown().await;
}
