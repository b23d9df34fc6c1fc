//! HTTP over hyper-util's pooled client, with rustls for https: one call
//! with its timeout and retries, and the mapping of transport failures to
//! [`Error`]s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::Error;
use crate::config::Base;

/// The pooled HTTP(S) client and what every request carries.
pub(crate) struct Transport {
    http: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub(crate) base: Base,
    auth: HeaderValue,
    user_agent: HeaderValue,
    transaction_id: Option<HeaderValue>,
    retries: u32,
    backoff: Duration,
}

/// A response: status, headers, the whole body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The header OpenWhisk's controller takes a transaction id from (and the
/// Node client sends `__OW_TRANSACTION_ID` in).
const REQUEST_ID: &str = "x-request-id";

pub(crate) struct Settings<'a> {
    pub base: Base,
    pub api_key: &'a str,
    pub user_agent: &'a str,
    pub transaction_id: Option<&'a str>,
    pub ignore_certs: bool,
    pub retries: u32,
    pub backoff: Duration,
}

impl Transport {
    pub(crate) fn new(s: Settings<'_>) -> Result<Transport, Error> {
        use base64::Engine;
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?;
        let tls = if s.ignore_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth()
        } else {
            builder.with_webpki_roots().with_no_client_auth()
        };
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            // A paused container's idle connections are likely closed by the
            // controller meanwhile: do not reuse old ones.
            .pool_idle_timeout(Duration::from_secs(10))
            .build(connector);
        let mut auth = HeaderValue::try_from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s.api_key)
        ))
        .map_err(|_| {
            Error::Config("the api key holds characters not allowed in a header".into())
        })?;
        auth.set_sensitive(true);
        let header = |what: &str, value: &str| {
            HeaderValue::try_from(value)
                .map_err(|_| Error::Config(format!("the {what} is not a valid header value")))
        };
        Ok(Transport {
            http,
            base: s.base,
            auth,
            user_agent: header("user agent", s.user_agent)?,
            transaction_id: s
                .transaction_id
                .map(|t| header("transaction id", t))
                .transpose()?,
            retries: s.retries,
            backoff: s.backoff,
        })
    }

    /// `METHOD /api/v1/path`, for messages.
    pub(crate) fn describe(&self, method: &Method, path: &str) -> String {
        format!("{method} {}{path}", self.base.prefix)
    }

    /// One call: `path` is below `/api/v1/` and already encoded, `query`
    /// holds encoded `key=value` pairs.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let body = body.map(Bytes::from);
        let attempts = self.attempts(&method, path, query, body);
        match tokio::time::timeout(timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                request: self.describe(&method, path),
                after: timeout,
            }),
        }
    }

    async fn attempts(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, Error> {
        let read = method == Method::GET;
        let mut uri = format!(
            "{}://{}{}{path}",
            self.base.scheme, self.base.authority, self.base.prefix
        );
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(query);
        }
        let mut attempt = 0;
        loop {
            let retry_allowed = attempt < self.retries;
            let request = self.request(method, &uri, body.clone())?;
            let failure = match self.http.request(request).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    match body.collect().await {
                        Ok(collected) => {
                            let retry_status = matches!(parts.status.as_u16(), 502..=504);
                            if !(read && retry_status && retry_allowed) {
                                return Ok(Reply {
                                    status: parts.status,
                                    headers: parts.headers,
                                    body: collected.to_bytes(),
                                });
                            }
                            None
                        }
                        Err(e) if read && retry_allowed => {
                            let _ = e;
                            None
                        }
                        Err(e) => Some(self.connect_error(&chain(&e))),
                    }
                }
                Err(e) => match classify(&e) {
                    Failure::Tls(reason) => {
                        return Err(Error::Tls {
                            host: self.base.origin(),
                            reason,
                        });
                    }
                    Failure::NotSent(_) if retry_allowed => None,
                    Failure::Other(_) if read && retry_allowed => None,
                    Failure::NotSent(reason) | Failure::Other(reason) => {
                        Some(self.connect_error(&reason))
                    }
                },
            };
            if let Some(error) = failure {
                return Err(error);
            }
            tokio::time::sleep(self.backoff.saturating_mul(1 << attempt.min(16))).await;
            attempt += 1;
        }
    }

    fn connect_error(&self, reason: &str) -> Error {
        Error::Connect {
            host: self.base.origin(),
            reason: reason.to_owned(),
        }
    }

    fn request(
        &self,
        method: &Method,
        uri: &str,
        body: Option<Bytes>,
    ) -> Result<Request<Full<Bytes>>, Error> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(AUTHORIZATION, self.auth.clone())
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(tid) = &self.transaction_id {
            builder = builder.header(REQUEST_ID, tid.clone());
        }
        let body = match body {
            Some(bytes) => {
                builder =
                    builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Full::new(bytes)
            }
            None => Full::new(Bytes::new()),
        };
        builder
            .body(body)
            .map_err(|e| Error::Config(format!("cannot build the request URI: {e}")))
    }
}

/// The crypto provider of the enabled feature: `rustcrypto`, the explicit
/// choice, wins when both are on.
fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "rustcrypto")]
    let provider = rustls_rustcrypto::provider();
    // `ring`: no cmake, and a plain C compiler for cross builds (see the
    // crate docs). rustls 0.23.48 deprecates its provider for lacking
    // post-quantum key exchange, which only aws-lc-rs offers (with cmake).
    #[cfg(all(feature = "ring", not(feature = "rustcrypto")))]
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(provider)
}

#[cfg(not(any(feature = "ring", feature = "rustcrypto")))]
compile_error!(
    "whisk-client needs a TLS crypto provider: the `ring` (default) or the `rustcrypto` feature"
);

enum Failure {
    /// The TLS handshake failed (e.g. the certificate was refused).
    Tls(String),
    /// No connection was made: the request was not sent.
    NotSent(String),
    /// The request may have been sent.
    Other(String),
}

fn classify(e: &hyper_util::client::legacy::Error) -> Failure {
    let reason = chain(e);
    if let Some(tls) = find::<rustls::Error>(e) {
        return Failure::Tls(tls.to_string());
    }
    if e.is_connect() {
        Failure::NotSent(reason)
    } else {
        Failure::Other(reason)
    }
}

/// The first error of type `T` in `e`'s source chain, looking inside
/// `io::Error`s too (whose `source` skips the error they wrap).
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(found) = io.get_ref().and_then(|inner| find::<T>(inner)) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}

/// `outer: inner: innermost`, without repeats.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// The opt-out (`ignore_certs`): any certificate is accepted, but the
/// handshake's signatures are still checked against it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
