//! [`Client`]: the endpoints.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hyper::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use whisk_runtime::Context;

use crate::config::Base;
use crate::name::{Name, encode};
use crate::transport::{Reply, Settings, Transport};
use crate::types::{Action, ActionPut, Activation, ActivationResponse, ListOptions};
use crate::{Config, Error};

/// The header with which OpenWhisk's controller names the activation of an
/// invoke, also on a 502 whose body is the result only.
const ACTIVATION_ID_HEADER: &str = "x-openwhisk-activation-id";

/// An OpenWhisk client. Cheap to clone (one connection pool, shared).
///
/// Inside an action, build it from the activation's [`Context`]
/// (the action needs the `provide-api-key` annotation):
///
/// ```no_run
/// # // rustdoc puts an example without `fn main` in one; the attribute makes its own.
/// # mod action {
/// use serde_json::{json, Value};
///
/// #[whisk::action]
/// async fn handle(p: Value, ctx: whisk::Context) -> Result<Value, whisk::Error> {
///     let client = whisk::client::Client::from_context(&ctx).map_err(|e| whisk::Error::new(e.to_string()))?;
///     let result = client.invoke("pkg/other", json!({"from": "main"})).await
///         .map_err(|e| whisk::Error::new(e.to_string()))?;
///     Ok(json!({"other": result}))
/// }
/// # }
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
    namespace: Arc<str>,
    timeout: Duration,
}

impl Client {
    /// A client with `config`. Fails with [`Error::Config`] when the api
    /// host or key is missing or malformed.
    ///
    /// ```
    /// let client = whisk::client::Client::new(
    ///     whisk::client::Config::new("http://127.0.0.1:3233").api_key("uuid:secret"),
    /// ).unwrap();
    /// assert_eq!(client.namespace(), "_");
    /// ```
    pub fn new(config: Config) -> Result<Client, Error> {
        let api_host = config.api_host.as_deref().ok_or_else(|| {
            Error::Config(
                "no api host: set __OW_API_HOST (OpenWhisk sets it in every action container) \
                 or Config::api_host"
                    .into(),
            )
        })?;
        let base = Base::parse(api_host)?;
        let api_key = config.api_key.as_deref().ok_or_else(|| {
            Error::Config(
                "no api key: OpenWhisk passes one to an action only when its `provide-api-key` \
                 annotation is true (`wsk action update NAME --annotation provide-api-key true`); \
                 outside an action set __OW_API_KEY or Config::api_key"
                    .into(),
            )
        })?;
        if !api_key.contains(':') {
            return Err(Error::Config(
                "the api key is not of the form `uuid:secret`".into(),
            ));
        }
        let transport = Transport::new(Settings {
            base,
            api_key,
            user_agent: &config.user_agent,
            transaction_id: config.transaction_id.as_deref(),
            ignore_certs: config.ignore_certs,
            retries: config.retries,
            backoff: config.backoff,
        })?;
        let namespace = config.namespace.as_deref().unwrap_or("_");
        Ok(Client {
            transport: Arc::new(transport),
            namespace: namespace.into(),
            timeout: config.timeout,
        })
    }

    /// A client configured from the environment ([`Config::from_env`]).
    ///
    /// ```no_run
    /// let client = whisk::client::Client::from_env()?;
    /// # Ok::<(), whisk::client::Error>(())
    /// ```
    pub fn from_env() -> Result<Client, Error> {
        Client::new(Config::from_env())
    }

    /// A client acting for the activation `ctx`, with its api key,
    /// namespace and transaction id ([`Config::from_context`]).
    ///
    /// ```
    /// let ctx = whisk::Context::from_metadata(serde_json::Map::new());
    /// let err = whisk::client::Client::from_context(&ctx).unwrap_err();
    /// # let _ = err;
    /// ```
    pub fn from_context(ctx: &Context) -> Result<Client, Error> {
        Client::new(Config::from_context(ctx))
    }

    /// The same client (same connections) with another timeout for the
    /// calls made through it.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// use std::time::Duration;
    /// let id = client.with_timeout(Duration::from_secs(2))
    ///     .invoke_nonblocking("log-event", serde_json::json!({"n": 1}))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// The default namespace (`_`: the api key's own).
    ///
    /// ```
    /// let client = whisk::client::Client::new(
    ///     whisk::client::Config::new("h").api_key("u:k").namespace("guest"),
    /// ).unwrap();
    /// assert_eq!(client.namespace(), "guest");
    /// ```
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Invokes the action `name` (`action`, `pkg/action`, `/ns/action`,
    /// `/ns/pkg/action`) and waits for its result
    /// (`POST .../actions/{name}?blocking=true&result=true`).
    ///
    /// An action that returns an error gives [`Error::Application`] with its
    /// error value; one still running after OpenWhisk's blocking wait gives
    /// [`Error::Accepted`] with the activation id to poll.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// let result = client.invoke("pkg/reverse", serde_json::json!({"payload": "abc"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn invoke(&self, name: &str, params: impl Serialize) -> Result<Value, Error> {
        let (path, reply) = self
            .post_invoke(name, &params, "blocking=true&result=true")
            .await?;
        match reply.status {
            StatusCode::OK => self.json(&Method::POST, &path, &reply),
            StatusCode::ACCEPTED => Err(self.accepted(&path, &reply)),
            StatusCode::BAD_GATEWAY => {
                let result: Value = self.json(&Method::POST, &path, &reply)?;
                Err(Error::Application {
                    activation_id: header_activation_id(&reply),
                    error: error_of(result),
                    activation: None,
                })
            }
            _ => Err(self.api_error(&Method::POST, &path, &reply)),
        }
    }

    /// Invokes the action `name` and waits for the whole activation
    /// (`?blocking=true`): result, logs, timings, annotations.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// let activation = client.invoke_activation("hello", serde_json::json!({})).await?;
    /// println!("{} took {:?} ms", activation.activation_id, activation.duration);
    /// # Ok(()) }
    /// ```
    pub async fn invoke_activation(
        &self,
        name: &str,
        params: impl Serialize,
    ) -> Result<Activation, Error> {
        let (path, reply) = self.post_invoke(name, &params, "blocking=true").await?;
        match reply.status {
            StatusCode::OK => self.json(&Method::POST, &path, &reply),
            StatusCode::ACCEPTED => Err(self.accepted(&path, &reply)),
            StatusCode::BAD_GATEWAY => {
                let activation: Activation = self.json(&Method::POST, &path, &reply)?;
                Err(Error::Application {
                    activation_id: Some(activation.activation_id.clone()),
                    error: error_of(activation.response.result.clone()),
                    activation: Some(Box::new(activation)),
                })
            }
            _ => Err(self.api_error(&Method::POST, &path, &reply)),
        }
    }

    /// Invokes the action `name` without waiting (`?blocking=false`): the
    /// activation id.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// let id = client.invoke_nonblocking("index-document", serde_json::json!({"doc": 7})).await?;
    /// let activation = client.activation(&id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn invoke_nonblocking(
        &self,
        name: &str,
        params: impl Serialize,
    ) -> Result<String, Error> {
        let (path, reply) = self.post_invoke(name, &params, "blocking=false").await?;
        match reply.status {
            StatusCode::ACCEPTED | StatusCode::OK => self.activation_id_of(&path, &reply),
            _ => Err(self.api_error(&Method::POST, &path, &reply)),
        }
    }

    /// Fires the trigger `name` with `params`: the activation id of the
    /// trigger, or `None` when no active rule is attached (HTTP 204).
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// if let Some(id) = client.fire_trigger("order-placed", serde_json::json!({"order": 42})).await? {
    ///     println!("trigger activation {id}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn fire_trigger(
        &self,
        name: &str,
        params: impl Serialize,
    ) -> Result<Option<String>, Error> {
        let path = self.path(name, "triggers")?;
        let body = to_body(&params)?;
        let reply = self.call(Method::POST, &path, "", Some(body)).await?;
        match reply.status {
            StatusCode::NO_CONTENT => Ok(None),
            StatusCode::ACCEPTED | StatusCode::OK => self.activation_id_of(&path, &reply).map(Some),
            _ => Err(self.api_error(&Method::POST, &path, &reply)),
        }
    }

    /// Reads an activation (`GET .../activations/{id}`) in the default
    /// namespace.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// let activation = client.activation("8f3c2b5a1d7e4f6a9c0b1d2e3f4a5b6c").await?;
    /// if activation.response.success { println!("{}", activation.response.result); }
    /// # Ok(()) }
    /// ```
    pub async fn activation(&self, id: &str) -> Result<Activation, Error> {
        self.get(&self.activation_path(id, "")?, "").await
    }

    /// Reads an activation's outcome (`GET .../activations/{id}/result`).
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// let response = client.activation_result("8f3c2b5a1d7e4f6a9c0b1d2e3f4a5b6c").await?;
    /// println!("{}: {}", response.status, response.result);
    /// # Ok(()) }
    /// ```
    pub async fn activation_result(&self, id: &str) -> Result<ActivationResponse, Error> {
        self.get(&self.activation_path(id, "/result")?, "").await
    }

    /// Reads an activation's log lines (`GET .../activations/{id}/logs`).
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// for line in client.activation_logs("8f3c2b5a1d7e4f6a9c0b1d2e3f4a5b6c").await? {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn activation_logs(&self, id: &str) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        struct Logs {
            logs: Vec<String>,
        }
        let logs: Logs = self.get(&self.activation_path(id, "/logs")?, "").await?;
        Ok(logs.logs)
    }

    /// Creates the action `name`, or with `overwrite` creates or updates it
    /// (`PUT .../actions/{name}?overwrite=true`). Never retried once sent.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client, zip: Vec<u8>) -> Result<(), whisk::client::Error> {
    /// use whisk::client::ActionPut;
    /// let action = client
    ///     .put_action("pkg/reverse", &ActionPut::native(&zip).annotation("web-export", true.into()), true)
    ///     .await?;
    /// println!("{} is at version {}", action.name, action.version);
    /// # Ok(()) }
    /// ```
    pub async fn put_action(
        &self,
        name: &str,
        action: &ActionPut,
        overwrite: bool,
    ) -> Result<Action, Error> {
        let path = self.path(name, "actions")?;
        let body = to_body(action)?;
        let query = if overwrite {
            "overwrite=true"
        } else {
            "overwrite=false"
        };
        let reply = self.call(Method::PUT, &path, query, Some(body)).await?;
        self.ok_json(&Method::PUT, &path, &reply)
    }

    /// Reads the action `name`; with `code`, its code too
    /// (`GET .../actions/{name}?code=true|false`).
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// let action = client.get_action("pkg/reverse", false).await?;
    /// println!("{:?}", action.annotation("web-export"));
    /// # Ok(()) }
    /// ```
    pub async fn get_action(&self, name: &str, code: bool) -> Result<Action, Error> {
        let path = self.path(name, "actions")?;
        self.get(&path, if code { "code=true" } else { "code=false" })
            .await
    }

    /// Lists actions (`GET /namespaces/{ns}/actions?limit=&skip=`), in the
    /// default namespace unless `options.namespace` says otherwise; the
    /// entries carry no code.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// use whisk::client::ListOptions;
    /// for action in client.list_actions(&ListOptions::new().limit(200)).await? {
    ///     println!("{}/{}", action.namespace, action.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_actions(&self, options: &ListOptions) -> Result<Vec<Action>, Error> {
        let namespace = options.namespace.as_deref().unwrap_or(&self.namespace);
        let path = format!("namespaces/{}/actions", encode(namespace));
        let mut query = Vec::new();
        if let Some(limit) = options.limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(skip) = options.skip {
            query.push(format!("skip={skip}"));
        }
        self.get(&path, &query.join("&")).await
    }

    /// Deletes the action `name` (`DELETE .../actions/{name}`), answering
    /// the deleted action. Never retried once sent.
    ///
    /// ```
    /// # async fn demo(client: whisk::client::Client) -> Result<(), whisk::client::Error> {
    /// client.delete_action("pkg/old").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_action(&self, name: &str) -> Result<Action, Error> {
        let path = self.path(name, "actions")?;
        let reply = self.call(Method::DELETE, &path, "", None).await?;
        self.ok_json(&Method::DELETE, &path, &reply)
    }

    /// `POST .../actions/{name}?{query}` with `params`: the path and the reply.
    async fn post_invoke(
        &self,
        name: &str,
        params: &impl Serialize,
        query: &str,
    ) -> Result<(String, Reply), Error> {
        let path = self.path(name, "actions")?;
        let body = to_body(params)?;
        let reply = self.call(Method::POST, &path, query, Some(body)).await?;
        Ok((path, reply))
    }

    fn path(&self, name: &str, collection: &str) -> Result<String, Error> {
        Ok(Name::parse(name)?.path(&self.namespace, collection))
    }

    fn activation_path(&self, id: &str, tail: &str) -> Result<String, Error> {
        if id.is_empty() || id.contains('/') || id.chars().any(char::is_control) {
            return Err(Error::InvalidName {
                name: id.to_owned(),
                reason: "not an activation id",
            });
        }
        Ok(format!(
            "namespaces/{}/activations/{}{tail}",
            encode(&self.namespace),
            encode(id)
        ))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, Error> {
        self.transport
            .call(method, path, query, body, self.timeout)
            .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &str) -> Result<T, Error> {
        let reply = self.call(Method::GET, path, query, None).await?;
        self.ok_json(&Method::GET, path, &reply)
    }

    fn ok_json<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        reply: &Reply,
    ) -> Result<T, Error> {
        if reply.status.is_success() {
            self.json(method, path, reply)
        } else {
            Err(self.api_error(method, path, reply))
        }
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        reply: &Reply,
    ) -> Result<T, Error> {
        serde_json::from_slice(&reply.body).map_err(|e| Error::Decode {
            request: self.transport.describe(method, path),
            status: reply.status.as_u16(),
            reason: e.to_string(),
        })
    }

    fn activation_id_of(&self, path: &str, reply: &Reply) -> Result<String, Error> {
        let body: Value = self.json(&Method::POST, path, reply)?;
        match body.get("activationId").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => Err(Error::Decode {
                request: self.transport.describe(&Method::POST, path),
                status: reply.status.as_u16(),
                reason: "no `activationId` in the body".into(),
            }),
        }
    }

    fn accepted(&self, path: &str, reply: &Reply) -> Error {
        match self.activation_id_of(path, reply) {
            Ok(activation_id) => Error::Accepted { activation_id },
            Err(e) => e,
        }
    }

    fn api_error(&self, method: &Method, path: &str, reply: &Reply) -> Error {
        let body: Value = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply.body).into_owned()));
        let error = body.get("error").and_then(Value::as_str).map(str::to_owned);
        let code = body.get("code").and_then(|c| match c {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        Error::Api {
            status: reply.status.as_u16(),
            request: self.transport.describe(method, path),
            error,
            code,
            body,
        }
    }
}

fn to_body(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(Error::Serialize)
}

/// `result.error` when the result has one, else the whole result.
fn error_of(result: Value) -> Value {
    match result {
        Value::Object(mut map) if map.contains_key("error") => {
            map.remove("error").unwrap_or_default()
        }
        other => other,
    }
}

fn header_activation_id(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get(ACTIVATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "api",
                &format!(
                    "{}{}",
                    self.transport.base.origin(),
                    self.transport.base.prefix
                ),
            )
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
