//! Where a client's connections go and how they are opened: the origin of the base URL,
//! reached directly or through an HTTP proxy, over TLS (rustls) for `https`.

use std::future::poll_fn;
use std::sync::Arc;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tower_service::Service;

use super::{BoxError, Io};

/// Where the client's requests go: the scheme, host and port of the base URL and its path.
#[derive(Debug, Clone)]
pub(in crate::client) struct Origin {
    scheme: Scheme,
    /// `host[:port]`, the port only when it is not the scheme's: the `Host` header.
    authority: Authority,
    /// The base URL's path without its trailing `/` (empty for the bare host).
    path: String,
}

impl Origin {
    /// Parses a base URL: `http` or `https`, a host, an optional path; no credentials, query
    /// or fragment. Hosts are written as rust-url does (IDNA to punycode, lower case).
    pub(in crate::client) fn parse(base_url: &str) -> Result<Origin, String> {
        let url = url::Url::parse(base_url).map_err(|e| format!("base URL `{base_url}`: {e}"))?;
        let scheme = match url.scheme() {
            "https" => Scheme::HTTPS,
            "http" => Scheme::HTTP,
            other => return Err(format!("base URL `{base_url}`: the scheme must be https or http, not `{other}`")),
        };
        let host = url.host_str().filter(|host| !host.is_empty());
        let Some(host) = host else { return Err(format!("base URL `{base_url}` has no host")) };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("base URL `{base_url}`: credentials in the URL are not sent; remove them"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("base URL `{base_url}` must not have a query or fragment"));
        }
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let authority = Authority::try_from(authority).map_err(|e| format!("base URL `{base_url}`: {e}"))?;
        Ok(Origin { scheme, authority, path: url.path().trim_end_matches('/').to_owned() })
    }

    pub(in crate::client) fn is_https(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The `Host` header's value.
    pub(in crate::client) fn host_header(&self) -> HeaderValue {
        HeaderValue::from_str(self.authority.as_str()).expect("an authority is a valid header value")
    }

    /// The base URL's path, to put before a method's path.
    pub(in crate::client) fn path(&self) -> &str {
        &self.path
    }

    /// `scheme://authority/`: what a connector connects to.
    fn uri(&self) -> Uri {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .expect("scheme and authority make a URI")
    }

    /// `path_and_query` of this origin in absolute form (for a forwarding proxy).
    pub(in crate::client) fn absolute(&self, path_and_query: PathAndQuery) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }
}

/// Which proxy the client's requests go through.
#[derive(Debug, Clone)]
pub(in crate::client) enum ProxySetting {
    /// None.
    None,
    /// The one named by `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` for the origin, unless
    /// `NO_PROXY` names it (as curl reads them).
    Environment,
    /// This proxy URL (`http://[user:password@]host:port`).
    Url(String),
}

/// The certificates a TLS server may chain to: the Mozilla roots (webpki-roots) and any the
/// application adds.
#[derive(Debug, Clone, Default)]
pub(in crate::client) struct TlsRoots {
    extra: Vec<CertificateDer<'static>>,
}

impl TlsRoots {
    /// Adds the certificates of a PEM text (one or more `CERTIFICATE` blocks).
    pub(in crate::client) fn add_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        let before = self.extra.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.extra.push(cert.map_err(|e| format!("root certificate PEM: {e}"))?);
        }
        match self.extra.len() > before {
            true => Ok(()),
            false => Err("root certificate PEM: no CERTIFICATE block".to_owned()),
        }
    }

    fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.extra {
            roots.add(cert.clone()).map_err(|e| format!("root certificate: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// Opens connections to the origin.
pub(in crate::client) struct Connector {
    origin: Origin,
    target: Uri,
    route: Route,
}

enum Route {
    Direct(HttpsConnector<HttpConnector>),
    /// `https` through an HTTP proxy: TLS inside the proxy's `CONNECT` tunnel.
    Tunnel(HttpsConnector<Tunnel<HttpConnector>>),
    /// `http` through an HTTP proxy: requests in absolute form, sent to the proxy.
    Forward {
        to_proxy: HttpsConnector<HttpConnector>,
        proxy: Uri,
        auth: Option<HeaderValue>,
    },
}

impl Connector {
    pub(in crate::client) fn new(origin: Origin, proxy: &ProxySetting, roots: &TlsRoots) -> Result<Connector, String> {
        let target = origin.uri();
        let intercept = match proxy {
            ProxySetting::None => None,
            ProxySetting::Environment => Matcher::from_env().intercept(&target),
            ProxySetting::Url(url) => {
                Uri::try_from(url.as_str()).map_err(|e| format!("proxy URL: {e}"))?;
                let intercept = Matcher::builder().all(url.clone()).build().intercept(&target);
                Some(intercept.ok_or_else(|| format!("proxy URL `{url}` is not a proxy URL"))?)
            }
        };
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let tls = roots.client_config()?;
        let https =
            |tls| hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1();
        let route = match intercept {
            None => Route::Direct(https(tls).wrap_connector(tcp)),
            Some(intercept) => {
                let proxy = intercept.uri().clone();
                if proxy.scheme() != Some(&Scheme::HTTP) {
                    return Err(format!("proxy `{}`: only http:// proxies are supported", redacted(&proxy)));
                }
                let auth = intercept.basic_auth().cloned();
                match origin.is_https() {
                    true => {
                        let mut tunnel = Tunnel::new(proxy, tcp);
                        if let Some(auth) = auth {
                            tunnel = tunnel.with_auth(auth);
                        }
                        Route::Tunnel(https(tls).wrap_connector(tunnel))
                    }
                    false => Route::Forward { to_proxy: https(tls).wrap_connector(tcp), proxy, auth },
                }
            }
        };
        Ok(Connector { origin, target, route })
    }

    pub(in crate::client) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// `Some` when requests go to a forwarding proxy: they are then in absolute form and
    /// carry its `Proxy-Authorization` (the value inside, when the proxy URL had one).
    pub(in crate::client) fn forwarding(&self) -> Option<Option<&HeaderValue>> {
        match &self.route {
            Route::Forward { auth, .. } => Some(auth.as_ref()),
            _ => None,
        }
    }

    /// A new connection (TLS handshake done for `https`).
    pub(super) async fn connect(&self) -> Result<Io, BoxError> {
        match &self.route {
            Route::Direct(connector) => call(connector.clone(), self.target.clone()).await,
            Route::Tunnel(connector) => call(connector.clone(), self.target.clone()).await,
            Route::Forward { to_proxy, proxy, .. } => call(to_proxy.clone(), proxy.clone()).await,
        }
    }
}

async fn call<S>(mut connector: S, uri: Uri) -> Result<Io, BoxError>
where
    S: Service<Uri, Response = Io, Error = BoxError>,
{
    poll_fn(|cx| connector.poll_ready(cx)).await?;
    connector.call(uri).await
}

/// A proxy URI for messages: its scheme and host, never its credentials.
fn redacted(uri: &Uri) -> String {
    format!("{}://{}", uri.scheme_str().unwrap_or("?"), uri.host().unwrap_or("?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_base_urls() {
        let cases = [
            ("https://openapi-fxg.jinritemai.com", true, "openapi-fxg.jinritemai.com", ""),
            ("http://127.0.0.1:9", false, "127.0.0.1:9", ""),
            ("http://127.0.0.1:80/", false, "127.0.0.1", ""),
            ("HTTP://Example.COM:8080/", false, "example.com:8080", ""),
            ("http://[::1]:8080", false, "[::1]:8080", ""),
            ("https://h:443/prefix/", true, "h", "/prefix"),
            ("http://host/a/b", false, "host", "/a/b"),
            ("http://host/a/./b/../c", false, "host", "/a/c"),
            ("http://host/a%20b/c", false, "host", "/a%20b/c"),
            ("https://例子.example/api", true, "xn--fsqu00a.example", "/api"),
        ];
        for (base, https, authority, path) in cases {
            let origin = Origin::parse(base).unwrap_or_else(|e| panic!("{base}: {e}"));
            assert_eq!(
                (origin.is_https(), origin.host_header().to_str().unwrap(), origin.path()),
                (https, authority, path),
                "{base}"
            );
        }
        for base in [
            "ftp://host",
            "http://user:pw@host/",
            "http://host/?q=1",
            "http://host/#f",
            "http://",
            "not a url",
            "file:///x",
        ] {
            assert!(Origin::parse(base).is_err(), "{base}");
        }
    }

    #[test]
    fn proxies_route_by_the_origins_scheme() {
        let roots = TlsRoots::default();
        let proxy = ProxySetting::Url("http://user:pw@127.0.0.1:3128".into());
        let http = Connector::new(Origin::parse("http://api.example").unwrap(), &proxy, &roots).unwrap();
        let auth = http.forwarding().expect("an http origin goes through a forwarding proxy");
        assert_eq!(auth.unwrap().to_str().unwrap(), "Basic dXNlcjpwdw==");
        let https = Connector::new(Origin::parse("https://api.example").unwrap(), &proxy, &roots).unwrap();
        assert!(matches!(https.route, Route::Tunnel(_)));
        let direct =
            Connector::new(Origin::parse("https://api.example").unwrap(), &ProxySetting::None, &roots).unwrap();
        assert!(matches!(direct.route, Route::Direct(_)));
        let socks = ProxySetting::Url("socks5://127.0.0.1:1080".into());
        let err = Connector::new(Origin::parse("https://api.example").unwrap(), &socks, &roots).err().unwrap();
        assert!(err.contains("only http:// proxies"), "{err}");
    }

    #[test]
    fn root_certificates_come_from_pem() {
        let mut roots = TlsRoots::default();
        assert!(roots.add_pem(b"no pem here").is_err());
        let bad = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(roots.add_pem(bad).is_err());
        assert!(roots.client_config().is_ok());
    }
}
