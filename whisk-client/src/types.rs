//! The API's documents: activations and actions, as in OpenWhisk's
//! `apiv1swagger.json`. Unknown fields are kept in `extra` maps so that
//! nothing a newer controller sends is lost.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One activation (`GET /namespaces/{ns}/activations/{id}`, or the body of a
/// blocking invoke).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    /// The activation id (32 hex digits).
    pub activation_id: String,
    /// The namespace the activation ran in.
    #[serde(default)]
    pub namespace: String,
    /// The action (or trigger) name, without namespace.
    #[serde(default)]
    pub name: String,
    /// The entity's version.
    #[serde(default)]
    pub version: String,
    /// The subject that caused the activation.
    #[serde(default)]
    pub subject: String,
    /// Start, epoch milliseconds.
    #[serde(default)]
    pub start: u64,
    /// End, epoch milliseconds (0 while it runs).
    #[serde(default)]
    pub end: u64,
    /// Run time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// The outcome.
    #[serde(default)]
    pub response: ActivationResponse,
    /// The log lines (empty for a blocking invoke's answer on some
    /// deployments; [`Client::activation_logs`](crate::Client::activation_logs)
    /// reads them).
    #[serde(default)]
    pub logs: Vec<String>,
    /// The activation's annotations (`kind`, `limits`, `waitTime`, ...).
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The outcome of an activation (`response`, and
/// `GET /namespaces/{ns}/activations/{id}/result`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationResponse {
    /// `success`, `application error`, `action developer error` or
    /// `whisk internal error`.
    #[serde(default)]
    pub status: String,
    /// 0 success, 1 application error, 2 developer error, 3 internal error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u8>,
    /// `status == "success"`.
    #[serde(default)]
    pub success: bool,
    /// The action's result (`{"error": ...}` when it failed).
    #[serde(default)]
    pub result: Value,
    /// Every other field (e.g. `size`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `{"key": ..., "value": ...}` pair: parameters and annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The name.
    pub key: String,
    /// Any JSON value.
    pub value: Value,
}

/// The `exec` of an action: its kind and code or image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exec {
    /// `blackbox` for a container image or a native zip, `sequence`,
    /// `nodejs:20`, ...
    pub kind: String,
    /// The code: source text, or the base64 of a zip when `binary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The container image for `blackbox`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `code` is base64 (a zip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    /// The entry point, for kinds that use one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// The actions of a `sequence`, fully qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Per-action limits. `None` keeps the platform's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Timeout in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Memory in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Log size in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<u64>,
    /// Concurrent activations per container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `PUT /namespaces/{ns}/actions/{name}`: create or update an
/// action. Build one with [`ActionPut::native`] (a whisk binary zipped for
/// OpenWhisk's `dockerskeleton`), [`ActionPut::docker`] or
/// [`ActionPut::new`], then add parameters, annotations and limits.
///
/// ```
/// use whisk::client::ActionPut;
/// use serde_json::json;
///
/// let zip: Vec<u8> = vec![/* a zip holding `exec` */];
/// let put = ActionPut::native(&zip)
///     .annotation("web-export", json!(true))
///     .annotation("provide-api-key", json!(true))
///     .parameter("greeting", json!("hello"))
///     .timeout_ms(30_000)
///     .memory_mb(128);
/// let body = serde_json::to_value(&put).unwrap();
/// assert_eq!(body["exec"]["kind"], "blackbox");
/// assert_eq!(body["exec"]["image"], "openwhisk/dockerskeleton");
/// assert_eq!(body["exec"]["binary"], true);
/// assert_eq!(body["limits"], json!({"timeout": 30000, "memory": 128}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionPut {
    /// Kind and code or image. `None` on an update keeps the existing code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Exec>,
    /// Default parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<KeyValue>,
    /// Annotations (`web-export`, `raw-http`, `final`, `provide-api-key`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<KeyValue>,
    /// Limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// A semantic version; the controller bumps it when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Shared with other namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<bool>,
}

/// The image OpenWhisk runs native binaries on (`wsk action create --native`).
pub const NATIVE_IMAGE: &str = "openwhisk/dockerskeleton";

impl ActionPut {
    /// An action of the given `exec`.
    ///
    /// ```
    /// use whisk::client::{ActionPut, Exec};
    /// let put = ActionPut::new(Exec { kind: "nodejs:20".into(), code: Some("function main() {}".into()), ..Exec::default() });
    /// assert_eq!(put.exec.unwrap().kind, "nodejs:20");
    /// ```
    pub fn new(exec: Exec) -> Self {
        ActionPut {
            exec: Some(exec),
            ..ActionPut::default()
        }
    }

    /// A native action: the zip (holding the `exec` binary) runs on
    /// [`NATIVE_IMAGE`], as `wsk action create NAME action.zip --native` does.
    ///
    /// ```
    /// let put = whisk::client::ActionPut::native(b"PK...");
    /// assert_eq!(put.exec.unwrap().code.as_deref(), Some("UEsuLi4="));
    /// ```
    pub fn native(zip: &[u8]) -> Self {
        ActionPut::docker_with_zip(NATIVE_IMAGE, zip)
    }

    /// A container image (`wsk action create NAME --docker IMAGE`).
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker("me/reverse:1");
    /// assert_eq!(put.exec.unwrap().image.as_deref(), Some("me/reverse:1"));
    /// ```
    pub fn docker(image: &str) -> Self {
        ActionPut::new(Exec {
            kind: "blackbox".into(),
            image: Some(image.into()),
            ..Exec::default()
        })
    }

    /// A zip run on a container image of your own that serves OpenWhisk's
    /// action protocol (`wsk action create NAME action.zip --docker IMAGE`).
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker_with_zip("me/skeleton", b"PK");
    /// assert_eq!(put.exec.unwrap().binary, Some(true));
    /// ```
    pub fn docker_with_zip(image: &str, zip: &[u8]) -> Self {
        ActionPut::new(Exec {
            kind: "blackbox".into(),
            image: Some(image.into()),
            code: Some(base64::engine::general_purpose::STANDARD.encode(zip)),
            binary: Some(true),
            ..Exec::default()
        })
    }

    /// Adds (or replaces) a default parameter.
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker("i").parameter("n", 1.into());
    /// assert_eq!(put.parameters[0].key, "n");
    /// ```
    pub fn parameter(mut self, key: &str, value: Value) -> Self {
        set(&mut self.parameters, key, value);
        self
    }

    /// Adds (or replaces) an annotation, e.g. `web-export`, `raw-http`,
    /// `provide-api-key` (`true`: the action receives an api key, which
    /// [`Client::from_context`](crate::Client::from_context) needs).
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker("i").annotation("web-export", true.into());
    /// assert_eq!(put.annotations[0].value, true);
    /// ```
    pub fn annotation(mut self, key: &str, value: Value) -> Self {
        set(&mut self.annotations, key, value);
        self
    }

    /// Sets the action's timeout limit, in milliseconds.
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker("i").timeout_ms(1000);
    /// assert_eq!(put.limits.unwrap().timeout, Some(1000));
    /// ```
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.limits.get_or_insert_with(Limits::default).timeout = Some(ms);
        self
    }

    /// Sets the action's memory limit, in MB.
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker("i").memory_mb(256);
    /// assert_eq!(put.limits.unwrap().memory, Some(256));
    /// ```
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.limits.get_or_insert_with(Limits::default).memory = Some(mb);
        self
    }

    /// Sets how many activations may run at once in one container.
    ///
    /// ```
    /// let put = whisk::client::ActionPut::docker("i").concurrency(8);
    /// assert_eq!(put.limits.unwrap().concurrency, Some(8));
    /// ```
    pub fn concurrency(mut self, n: u64) -> Self {
        self.limits.get_or_insert_with(Limits::default).concurrency = Some(n);
        self
    }
}

fn set(list: &mut Vec<KeyValue>, key: &str, value: Value) {
    match list.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = value,
        None => list.push(KeyValue {
            key: key.into(),
            value,
        }),
    }
}

/// An action as the controller describes it (`GET` and the answer to `PUT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The namespace (with the package: `ns/pkg`).
    #[serde(default)]
    pub namespace: String,
    /// The action's name.
    pub name: String,
    /// Its version.
    #[serde(default)]
    pub version: String,
    /// Its exec (without `code` unless asked for).
    #[serde(default)]
    pub exec: Exec,
    /// Default parameters.
    #[serde(default)]
    pub parameters: Vec<KeyValue>,
    /// Annotations.
    #[serde(default)]
    pub annotations: Vec<KeyValue>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// Shared with other namespaces.
    #[serde(default)]
    pub publish: bool,
    /// Every other field (`updated`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Action {
    /// The value of an annotation.
    ///
    /// ```
    /// let action: whisk::client::Action = serde_json::from_value(serde_json::json!({
    ///     "name": "a", "annotations": [{"key": "web-export", "value": true}]
    /// })).unwrap();
    /// assert_eq!(action.annotation("web-export"), Some(&serde_json::json!(true)));
    /// ```
    pub fn annotation(&self, key: &str) -> Option<&Value> {
        self.annotations
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    }
}

/// Options of [`Client::list_actions`](crate::Client::list_actions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// The namespace to list (the client's default when `None`).
    pub namespace: Option<String>,
    /// At most this many (the controller's default is 30, its maximum 200).
    pub limit: Option<u32>,
    /// Skip this many.
    pub skip: Option<u32>,
}

impl ListOptions {
    /// The first page of the default namespace, the controller's page size.
    ///
    /// ```
    /// let options = whisk::client::ListOptions::new().limit(200).skip(200).namespace("guest");
    /// assert_eq!(options.limit, Some(200));
    /// ```
    pub fn new() -> Self {
        ListOptions::default()
    }

    /// At most `n` entries (the controller caps it at 200).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skip the first `n` entries.
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = Some(n);
        self
    }

    /// List another namespace than the client's default.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
}
