//! The client's HTTP/1.1 transport against raw servers on loopback: connections kept and
//! reused, never reused after an unfinished exchange, closed ones replaced, gzip, TLS with
//! an added root, and both ways through an HTTP proxy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doudian_sdk::error::TransportKind;
use doudian_sdk::retry::RetryPolicy;
use doudian_sdk::{CallOptions, Client, Error};
use e2e_tests::envelope;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How the server answers one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    /// 200 with an envelope, the connection kept.
    Ok,
    /// The same with `Connection: close`, then the connection closed.
    OkAndClose,
    /// The same without saying so, then the connection closed.
    OkThenDrop,
    /// The envelope gzip-encoded.
    Gzip,
    /// The headers and half the body, then nothing.
    Stall,
}

/// A loopback HTTP/1.1 server written on raw sockets, so that the test decides what
/// happens to each connection.
struct RawServer {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
    /// One message each time the server closed a connection it had answered on.
    closed: mpsc::UnboundedReceiver<()>,
}

type Script = Arc<dyn Fn(usize) -> Answer + Send + Sync>;

impl RawServer {
    async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> RawServer {
        RawServer::start_with(script, None).await
    }

    /// With `tls`, connections are TLS with that server configuration.
    async fn start_with(
        script: impl Fn(usize) -> Answer + Send + Sync + 'static,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (connections, heads) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let (script, served): (Script, _) = (Arc::new(script), Arc::new(AtomicUsize::new(0)));
        let (count, log) = (connections.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (script, served, log, closed_tx, tls) =
                    (script.clone(), served.clone(), log.clone(), closed_tx.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(tls) => {
                            // A client that refuses the certificate ends the handshake.
                            if let Ok(stream) = tls.accept(stream).await {
                                serve(stream, script, served, log, closed_tx).await;
                            }
                        }
                        None => serve(stream, script, served, log, closed_tx).await,
                    }
                });
            }
        });
        RawServer { addr, connections, heads, closed }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// The head of one request (up to the blank line), and its body read by Content-Length.
async fn read_request<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .map_or(0, |v| v.parse::<usize>().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(head)
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    script: Script,
    served: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
    closed: mpsc::UnboundedSender<()>,
) {
    let mut stream = BufReader::new(stream);
    while let Some(head) = read_request(&mut stream).await {
        heads.lock().unwrap().push(head);
        let answer = script(served.fetch_add(1, Ordering::SeqCst));
        let body = envelope(r#"{"list":[1,2,3]}"#).into_bytes();
        let reply = match answer {
            Answer::Ok | Answer::OkThenDrop => response(&body, ""),
            Answer::OkAndClose => response(&body, "Connection: close\r\n"),
            Answer::Gzip => response(&gzip(&body), "Content-Encoding: gzip\r\n"),
            Answer::Stall => {
                let mut half = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
                half.extend_from_slice(&body[..body.len() / 2]);
                half
            }
        };
        if stream.get_mut().write_all(&reply).await.is_err() {
            return;
        }
        match answer {
            Answer::OkAndClose | Answer::OkThenDrop => {
                let _ = stream.get_mut().shutdown().await;
                drop(stream);
                let _ = closed.send(());
                return;
            }
            // Holds the connection open without a word until the client gives up.
            Answer::Stall => {
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
                return;
            }
            Answer::Ok | Answer::Gzip => {}
        }
    }
}

fn response(body: &[u8], extra: &str) -> Vec<u8> {
    let mut reply =
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n", body.len())
            .into_bytes();
    reply.extend_from_slice(body);
    reply
}

fn gzip(content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(content).unwrap();
    encoder.finish().unwrap()
}

fn client(base_url: &str) -> Client {
    Client::builder("7300000000000000001", "raw-secret")
        .base_url(base_url)
        .env_proxy(false)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn no_token() -> CallOptions {
    CallOptions::new().without_token()
}

async fn call(client: &Client) -> doudian_sdk::Result<serde_json::Value> {
    client.call_json("shop.brandList", "{}", &no_token()).await.map(|reply| reply.into_data())
}

#[tokio::test]
async fn sequential_calls_share_one_connection() {
    let server = RawServer::start(|_| Answer::Ok).await;
    let client = client(&server.base_url());
    for _ in 0..20 {
        assert_eq!(call(&client).await.unwrap()["list"][2], 3);
    }
    assert_eq!(server.connections(), 1);
    // Clones and shop handles share the pool.
    call(&client.clone()).await.unwrap();
    call(&client.for_shop("1")).await.unwrap();
    assert_eq!(server.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_have_a_connection_and_keep_them() {
    let server = RawServer::start(|_| Answer::Ok).await;
    let client = client(&server.base_url());
    let round = || futures_util::future::join_all((0..16).map(|_| call(&client)));
    for reply in round().await {
        assert_eq!(reply.unwrap()["list"][0], 1);
    }
    // All 16 find the pool empty when they start.
    let opened = server.connections();
    assert_eq!(opened, 16);
    for reply in round().await {
        reply.unwrap();
    }
    assert_eq!(server.connections(), opened, "the second round reuses the first round's connections");
    assert_eq!(server.heads().len(), 32);
}

#[tokio::test]
async fn a_connection_the_server_closes_is_replaced() {
    // Said (`Connection: close`) and unsaid (the socket just closes after the reply).
    for answer in [Answer::OkAndClose, Answer::OkThenDrop] {
        let mut server = RawServer::start(move |_| answer).await;
        let client = client(&server.base_url());
        for n in 1..=3 {
            call(&client).await.unwrap_or_else(|e| panic!("{answer:?} call {n}: {e}"));
            // The next call starts once the server has closed this one, and the runtime
            // has been idle (and so has read its sockets' news), as between real calls.
            server.closed.recv().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(server.connections(), 3, "{answer:?}");
    }
}

#[tokio::test]
async fn a_connection_whose_exchange_did_not_finish_is_never_reused() {
    // The first reply stalls halfway; the client gives up; the second call must not read
    // the rest of the first reply as its own: it goes on a new connection.
    let server = RawServer::start(|n| if n == 0 { Answer::Stall } else { Answer::Ok }).await;
    let client = client(&server.base_url());
    let options = no_token().timeout(Duration::from_millis(300));
    let err = client.call_json("shop.brandList", "{}", &options).await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref t) if t.kind == TransportKind::Timeout), "{err:?}");
    assert_eq!(call(&client).await.unwrap()["list"][1], 2);
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn gzip_replies_are_decoded() {
    let server = RawServer::start(|_| Answer::Gzip).await;
    let client = client(&server.base_url());
    assert_eq!(call(&client).await.unwrap()["list"][2], 3);
    let head = server.heads().pop().unwrap().to_ascii_lowercase();
    assert!(head.contains("\r\naccept-encoding: gzip\r\n"), "{head}");
    // A gzip reply is still held to the limit once decoded.
    let small = Client::builder("7300000000000000001", "raw-secret")
        .base_url(server.base_url())
        .env_proxy(false)
        .retry(RetryPolicy::none())
        .max_response_bytes(40)
        .build()
        .unwrap();
    let err = call(&small).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref t) if matches!(t.kind, TransportKind::BodyTooLarge { limit: 40 })),
        "{err:?}"
    );
}

#[tokio::test]
async fn requests_name_the_host_and_path_of_the_base_url() {
    let server = RawServer::start(|_| Answer::Ok).await;
    let client = client(&format!("{}/gateway/", server.base_url()));
    call(&client).await.unwrap();
    let head = server.heads().pop().unwrap();
    assert!(
        head.starts_with("POST /gateway/shop/brandList?app_key=7300000000000000001&method=shop.brandList&"),
        "{head}"
    );
    assert!(head.to_ascii_lowercase().contains(&format!("\r\nhost: {}\r\n", server.addr)), "{head}");
}

/// A self-signed certificate for `names`, as (certificate PEM, TLS acceptor).
fn tls_server(names: &[&str]) -> (String, tokio_rustls::TlsAcceptor) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    (cert.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test]
async fn tls_with_an_added_root_and_refused_without_it() {
    let (pem, acceptor) = tls_server(&["127.0.0.1"]);
    let server = RawServer::start_with(|_| Answer::Ok, Some(acceptor)).await;
    let base_url = format!("https://{}", server.addr);
    let trusting = Client::builder("7300000000000000001", "raw-secret")
        .base_url(&base_url)
        .env_proxy(false)
        .retry(RetryPolicy::none())
        .add_root_certificate_pem(&pem)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(call(&trusting).await.unwrap()["list"][0], 1);
    }
    assert_eq!(server.connections(), 1, "one TLS connection, kept");
    // Without the root the certificate is unknown: no connection, nothing sent.
    let err = call(&client(&base_url)).await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref t) if t.kind == TransportKind::Connect), "{err:?}");
    assert!(!err.is_ambiguous());
    assert_eq!(server.heads().len(), 3);
    // Not a certificate: refused when the client is built.
    let err = Client::builder("k", "s").add_root_certificate_pem("nothing").build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// An HTTP proxy on loopback: `CONNECT` tunnels go to `tunnel_to`, whatever host they
/// name; other requests are answered by the proxy itself. Records every request head.
async fn proxy(tunnel_to: Option<std::net::SocketAddr>) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = heads.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                while let Some(head) = read_request(&mut stream).await {
                    log.lock().unwrap().push(head.clone());
                    if head.starts_with("CONNECT ") {
                        let mut upstream = TcpStream::connect(tunnel_to.expect("a tunnel target")).await.unwrap();
                        stream.get_mut().write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.unwrap();
                        let _ = tokio::io::copy_bidirectional(stream.get_mut(), &mut upstream).await;
                        return;
                    }
                    let body = envelope(r#"{"list":[7]}"#).into_bytes();
                    if stream.get_mut().write_all(&response(&body, "")).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, heads)
}

#[tokio::test]
async fn http_calls_are_forwarded_by_a_proxy_with_its_credentials() {
    let (proxy_addr, heads) = proxy(None).await;
    // The API host does not resolve: only the proxy is connected to.
    let client = Client::builder("7300000000000000001", "raw-secret")
        .base_url("http://api.doudian.invalid/base")
        .proxy(format!("http://user:pa%20ss@{proxy_addr}"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(call(&client).await.unwrap()["list"][0], 7);
    let head = heads.lock().unwrap().pop().unwrap();
    assert!(head.starts_with("POST http://api.doudian.invalid/base/shop/brandList?app_key="), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("\r\nhost: api.doudian.invalid\r\n"), "{head}");
    // user:pa ss
    assert!(lower.contains("\r\nproxy-authorization: basic dxnlcjpwysbzcw==\r\n"), "{head}");
}

#[tokio::test]
async fn https_calls_go_through_a_proxy_tunnel() {
    let (pem, acceptor) = tls_server(&["api.doudian.test"]);
    let server = RawServer::start_with(|_| Answer::Ok, Some(acceptor)).await;
    let (proxy_addr, heads) = proxy(Some(server.addr)).await;
    let client = Client::builder("7300000000000000001", "raw-secret")
        .base_url("https://api.doudian.test")
        .proxy(format!("http://{proxy_addr}"))
        .add_root_certificate_pem(&pem)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for _ in 0..2 {
        assert_eq!(call(&client).await.unwrap()["list"][2], 3);
    }
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "one tunnel, kept: {heads:?}");
    assert!(heads[0].starts_with("CONNECT api.doudian.test:443 HTTP/1.1"), "{heads:?}");
    // Inside the tunnel the requests are in origin form, for the API's host.
    let inner = server.heads();
    assert_eq!(inner.len(), 2);
    assert!(inner[0].starts_with("POST /shop/brandList?"), "{inner:?}");
    assert!(inner[0].to_ascii_lowercase().contains("\r\nhost: api.doudian.test\r\n"), "{inner:?}");
}
