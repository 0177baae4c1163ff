//! [`serve`]: an HTTP/1.1 server for the push endpoint's router, with the timeouts that
//! `axum::serve` lacks, so that connections which send nothing, or their headers a byte at
//! a time, are closed instead of piling up.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// The timeouts of [`serve_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// How long a connection may take to send a request's headers, counted from when the
    /// server starts waiting for them (an idle keep-alive connection included): default 10 s.
    pub header_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions { header_timeout: Duration::from_secs(10) }
    }
}

impl ServeOptions {
    /// Sets [`header_timeout`](Self::header_timeout).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }
}

/// Serves `router` on `listener` with the default [`ServeOptions`] until the process ends.
/// (The push endpoint bounds how long a body may take: [`super::PushEndpoint::body_limits`].)
pub async fn serve(listener: TcpListener, router: axum::Router) -> std::io::Result<()> {
    serve_with(listener, router, ServeOptions::default(), std::future::pending()).await
}

/// Serves `router` on `listener` until `shutdown` completes; connections in progress then
/// finish on their own.
pub async fn serve_with(
    listener: TcpListener,
    router: axum::Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(options.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return Ok(()),
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait a little instead of spinning or
            // stopping the server.
            Err(error) => {
                tracing::warn!(error = %error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "push connection ended");
            }
        });
    }
}
