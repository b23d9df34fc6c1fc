//! [`Config`]: where the controller is and who we are.

use std::fmt;
use std::time::Duration;

use whisk_runtime::Context;

use crate::Error;

/// The default timeout of one call: OpenWhisk's blocking wait (60 s) plus
/// room for the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(70);

/// The client's settings. Start from [`Config::new`], [`Config::from_env`]
/// or [`Config::from_context`], adjust, then [`Client::new`](crate::Client::new).
///
/// ```
/// use std::time::Duration;
/// use whisk::client::{Client, Config};
///
/// let config = Config::new("https://openwhisk.example.com")
///     .api_key("23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP")
///     .namespace("guest")
///     .timeout(Duration::from_secs(10))
///     .retries(3);
/// // The key never shows in `Debug`.
/// assert!(!format!("{config:?}").contains("123zO3"));
/// let client = Client::new(config).unwrap();
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) api_host: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) transaction_id: Option<String>,
    pub(crate) ignore_certs: bool,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
    pub(crate) user_agent: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_host: None,
            api_key: None,
            namespace: None,
            transaction_id: None,
            ignore_certs: false,
            timeout: DEFAULT_TIMEOUT,
            retries: 2,
            backoff: Duration::from_millis(100),
            user_agent: concat!("whisk-client/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

impl Config {
    /// A configuration for the controller at `api_host`: `https://host[:port]`,
    /// `http://host:port`, or a bare `host[:port]` (https, as OpenWhisk's
    /// CLI assumes). The API lives below `/api/v1/` of it.
    ///
    /// ```
    /// let config = whisk::client::Config::new("openwhisk.example.com").api_key("u:k");
    /// ```
    pub fn new(api_host: impl Into<String>) -> Self {
        Config {
            api_host: Some(api_host.into()),
            ..Config::default()
        }
    }

    /// From OpenWhisk's environment variables, as the Node client reads them:
    /// `__OW_API_HOST`, `__OW_API_KEY`, `__OW_NAMESPACE`, `__OW_TRANSACTION_ID`
    /// (forwarded as `x-request-id`) and `__OW_IGNORE_CERTS` (`true`: do not
    /// verify the controller's certificate).
    ///
    /// ```
    /// let config = whisk::client::Config::from_env();
    /// ```
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Config {
            api_host: var("__OW_API_HOST"),
            api_key: var("__OW_API_KEY"),
            namespace: var("__OW_NAMESPACE"),
            transaction_id: var("__OW_TRANSACTION_ID"),
            ignore_certs: ignore_certs_from_env(),
            ..Config::default()
        }
    }

    /// From an activation: its api key, namespace and transaction id, and
    /// the api host the container was given (`__OW_API_HOST`, or an
    /// `api_host` key of the `/run` body where a platform sends one).
    /// `__OW_IGNORE_CERTS` is read from the environment.
    ///
    /// OpenWhisk passes the api key only to actions whose `provide-api-key`
    /// annotation is true (`wsk action update NAME --annotation
    /// provide-api-key true`); without it, [`Client::new`](crate::Client::new)
    /// says so.
    ///
    /// ```
    /// use whisk::Context;
    /// use serde_json::json;
    ///
    /// let ctx = Context::from_metadata(json!({
    ///     "api_host": "https://openwhisk.example.com",
    ///     "api_key": "uuid:secret",
    ///     "namespace": "guest",
    ///     "transaction_id": "tid-1",
    /// }).as_object().unwrap().clone());
    /// let client = whisk::client::Client::new(whisk::client::Config::from_context(&ctx)).unwrap();
    /// ```
    pub fn from_context(ctx: &Context) -> Self {
        let api_host = ctx
            .get("api_host")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .or_else(|| ctx.api_host())
            .filter(|h| !h.is_empty());
        let non_empty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        Config {
            api_host,
            api_key: ctx.api_key().and_then(non_empty),
            namespace: non_empty(ctx.namespace()),
            transaction_id: non_empty(ctx.transaction_id()),
            ignore_certs: ignore_certs_from_env(),
            ..Config::default()
        }
    }

    /// Sets the controller (see [`Config::new`]).
    ///
    /// ```
    /// let config = whisk::client::Config::from_env().api_host("http://127.0.0.1:3233");
    /// ```
    pub fn api_host(mut self, api_host: impl Into<String>) -> Self {
        self.api_host = Some(api_host.into());
        self
    }

    /// Sets the api key, `uuid:secret`, sent as HTTP Basic credentials.
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").api_key("uuid:secret");
    /// ```
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Sets the default namespace of names without one (`_` when unset: the
    /// key's own namespace).
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").namespace("guest");
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Sets the transaction id sent as `x-request-id` (OpenWhisk's
    /// controller adopts it for the requests it causes).
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").transaction_id("abc");
    /// ```
    pub fn transaction_id(mut self, id: impl Into<String>) -> Self {
        self.transaction_id = Some(id.into());
        self
    }

    /// `true`: accept any certificate from the controller (a self-signed
    /// deployment). Off by default; `__OW_IGNORE_CERTS=true` sets it in
    /// [`Config::from_env`] and [`Config::from_context`].
    ///
    /// ```
    /// let config = whisk::client::Config::new("https://localhost:3233").ignore_certs(true);
    /// ```
    pub fn ignore_certs(mut self, ignore: bool) -> Self {
        self.ignore_certs = ignore;
        self
    }

    /// Sets the default timeout of a call, retries included
    /// ([`DEFAULT_TIMEOUT`] unless set; per call: [`Client::with_timeout`](crate::Client::with_timeout)).
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a call is retried (2 unless set): reads (`GET`) after
    /// a transport error or a 502/503/504, and any call whose connection
    /// could not be made (so the request was never sent). A sent invoke,
    /// trigger fire, put or delete is never retried.
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").retries(0);
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The wait before the first retry (100 ms unless set); it doubles for
    /// each further one.
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").backoff(std::time::Duration::from_millis(50));
    /// ```
    pub fn backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }

    /// Sets the `User-Agent` header (`whisk-client/VERSION` unless set).
    ///
    /// ```
    /// let config = whisk::client::Config::new("h").user_agent("my-deployer/1.0");
    /// ```
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }
}

fn ignore_certs_from_env() -> bool {
    std::env::var("__OW_IGNORE_CERTS").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_host", &self.api_host)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .field("transaction_id", &self.transaction_id)
            .field("ignore_certs", &self.ignore_certs)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// The controller's base, split: `scheme`, `authority` and a path prefix
/// ending in `/api/v1/`.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub scheme: &'static str,
    pub authority: String,
    pub prefix: String,
}

impl Base {
    pub(crate) fn parse(api_host: &str) -> Result<Base, Error> {
        let bad = |reason: &str| {
            Error::Config(format!(
                "the api host {api_host:?} is not usable: {reason} (expected https://host[:port], http://host:port or host[:port])"
            ))
        };
        let trimmed = api_host.trim();
        let (scheme, rest) = if let Some(rest) = trimmed.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = trimmed.strip_prefix("http://") {
            ("http", rest)
        } else if trimmed.contains("://") {
            return Err(bad("only http and https are supported"));
        } else {
            ("https", trimmed)
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad("credentials belong in the api key, not in the host"));
        }
        if path.contains(['?', '#']) {
            return Err(bad("a query or fragment"));
        }
        if authority.parse::<hyper::http::uri::Authority>().is_err() {
            return Err(bad("not a host[:port]"));
        }
        let path = path.trim_end_matches('/');
        // A host given with its API path already (`.../api/v1`) keeps it.
        let prefix = if path.ends_with("/api/v1") {
            format!("{path}/")
        } else {
            format!("{path}/api/v1/")
        };
        Ok(Base {
            scheme,
            authority: authority.to_owned(),
            prefix,
        })
    }

    /// `scheme://authority`, for messages.
    pub(crate) fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_hosts() {
        let b = Base::parse("openwhisk.example.com").unwrap();
        assert_eq!(
            (b.scheme, b.authority.as_str(), b.prefix.as_str()),
            ("https", "openwhisk.example.com", "/api/v1/")
        );
        let b = Base::parse("http://127.0.0.1:3233/").unwrap();
        assert_eq!(
            (b.scheme, b.authority.as_str(), b.prefix.as_str()),
            ("http", "127.0.0.1:3233", "/api/v1/")
        );
        let b = Base::parse("https://h:443/ow/api/v1").unwrap();
        assert_eq!(b.prefix, "/ow/api/v1/");
        for bad in [
            "ftp://h",
            "https://",
            "https://u:p@h",
            "https://h/?x",
            "h h",
        ] {
            assert!(Base::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_redacts_the_key() {
        let text = format!("{:?}", Config::new("h").api_key("uuid:topsecret"));
        assert!(
            text.contains("<redacted>") && !text.contains("topsecret"),
            "{text}"
        );
    }
}
