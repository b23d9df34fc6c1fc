//! Per-activation metadata: [`Context`].

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::metadata::{MetaValue, Metadata};

/// The metadata of one activation: who runs which action, and until when.
///
/// OpenWhisk sends these as the top-level keys of the `/run` body next to
/// `value` (`activation_id`, `action_name`, `deadline`, ...). Every key is
/// kept, including keys a future platform version may add; the accessors below
/// cover the documented ones. Take a `Context` as the second parameter of an
/// action to read them:
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// use whisk::{Context, Error};
/// use serde_json::{json, Value};
///
/// fn who(_: Value, ctx: Context) -> Result<Value, Error> {
///     Ok(json!({ "activation": ctx.activation_id(), "action": ctx.action_name() }))
/// }
///
/// let ctx = Context::from_metadata(
///     json!({"activation_id": "abc", "action_name": "/guest/who"})
///         .as_object().unwrap().clone(),
/// );
/// assert_eq!(who(json!({}), ctx).unwrap(), json!({"activation": "abc", "action": "/guest/who"}));
/// ```
///
/// The API key is a secret: `Debug` prints it as `<redacted>`.
#[derive(Clone, Default)]
pub struct Context {
    metadata: Metadata,
    /// The metadata as a `Map`, built the first time an action asks for it
    /// ([`Context::get`], [`Context::metadata`]).
    map: OnceLock<Map<String, Value>>,
}

impl Context {
    /// Builds a context from the non-`value` keys of a `/run` body.
    ///
    /// The runtime does this for you; it is public for unit tests of actions.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use whisk::Context;
    /// let ctx = Context::from_metadata(serde_json::Map::new());
    /// assert_eq!(ctx.activation_id(), "");
    /// ```
    pub fn from_metadata(metadata: Map<String, Value>) -> Self {
        Context {
            metadata: Metadata::from(&metadata),
            map: OnceLock::from(metadata),
        }
    }

    /// A context over the metadata of a `/run` body.
    pub(crate) fn from_compact(metadata: Metadata) -> Self {
        Context {
            metadata,
            map: OnceLock::new(),
        }
    }

    /// Builds a context from the `__OW_*` environment variables, as the
    /// dockerskeleton passes them to an executable (`__OW_ACTIVATION_ID` gives
    /// `activation_id`, and so on). `__OW_API_HOST` is left out: it is read by
    /// [`Context::api_host`] from the environment anyway.
    pub(crate) fn from_env() -> Self {
        let mut metadata = Metadata::default();
        for (name, value) in std::env::vars() {
            let Some(key) = name.strip_prefix("__OW_") else {
                continue;
            };
            if !matches!(key, "API_HOST" | "ALLOW_CONCURRENT" | "WAIT_FOR_ACK") {
                metadata.push_str(&key.to_ascii_lowercase(), &value);
            }
        }
        Context::from_compact(metadata)
    }

    fn str(&self, key: &str) -> &str {
        self.metadata.get_str(key).unwrap_or_default()
    }

    /// The activation id (32 hex digits), or `""` when the platform sent none.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// println!("working on {}", ctx.activation_id());
    /// ```
    pub fn activation_id(&self) -> &str {
        self.str("activation_id")
    }

    /// The fully qualified action name, e.g. `/guest/pkg/hello`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// assert_eq!(ctx.action_name(), "");
    /// ```
    pub fn action_name(&self) -> &str {
        self.str("action_name")
    }

    /// The action version, e.g. `0.0.1`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// assert_eq!(ctx.action_version(), "");
    /// ```
    pub fn action_version(&self) -> &str {
        self.str("action_version")
    }

    /// The namespace of the subject that invoked the activation.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// assert_eq!(ctx.namespace(), "");
    /// ```
    pub fn namespace(&self) -> &str {
        self.str("namespace")
    }

    /// The transaction id that ties this activation to the request that caused it.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// assert_eq!(ctx.transaction_id(), "");
    /// ```
    pub fn transaction_id(&self) -> &str {
        self.str("transaction_id")
    }

    /// The API key (`uuid:key`), when the action is allowed to see it.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// assert!(ctx.api_key().is_none());
    /// ```
    pub fn api_key(&self) -> Option<&str> {
        self.metadata.get_str("api_key")
    }

    /// The OpenWhisk API host, from the container's `__OW_API_HOST`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// let host = ctx.api_host().unwrap_or_else(|| "https://localhost".into());
    /// ```
    pub fn api_host(&self) -> Option<String> {
        std::env::var("__OW_API_HOST").ok()
    }

    /// When the platform will stop waiting for this activation.
    ///
    /// OpenWhisk sends `deadline` as epoch milliseconds in a JSON string; a
    /// number is accepted too.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let meta = serde_json::json!({"deadline": "1712345678901"});
    /// let ctx = whisk::Context::from_metadata(meta.as_object().unwrap().clone());
    /// assert_eq!(ctx.deadline(), Some(UNIX_EPOCH + Duration::from_millis(1712345678901)));
    /// ```
    pub fn deadline(&self) -> Option<SystemTime> {
        let millis = match self.metadata.get("deadline")? {
            MetaValue::Str(s) => s.trim().parse::<u64>().ok()?,
            MetaValue::Value(Value::Number(n)) => {
                n.as_u64().or_else(|| n.as_f64().map(|f| f as u64))?
            }
            MetaValue::Value(_) => return None,
        };
        UNIX_EPOCH.checked_add(Duration::from_millis(millis))
    }

    /// The time left until [`deadline`](Context::deadline): zero once it has
    /// passed, `None` when there is no deadline.
    ///
    /// Use it to stop work in time, e.g. with `tokio::time::timeout`.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// let budget = ctx.remaining_time().unwrap_or(std::time::Duration::from_secs(60));
    /// ```
    pub fn remaining_time(&self) -> Option<Duration> {
        let deadline = self.deadline()?;
        Some(
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }

    /// Any metadata key, including ones this version does not know.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// let meta = serde_json::json!({"region": "eu"});
    /// let ctx = whisk::Context::from_metadata(meta.as_object().unwrap().clone());
    /// assert_eq!(ctx.get("region"), Some(&serde_json::json!("eu")));
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata().get(key)
    }

    /// All metadata keys and values, as sent.
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// # let ctx = whisk::Context::default();
    /// for (key, value) in ctx.metadata() { println!("{key} = {value}"); }
    /// ```
    pub fn metadata(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| self.metadata.to_map())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The metadata's own `Debug`, which redacts the API key.
        fmt::Debug::fmt(&self.metadata, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: Value) -> Context {
        Context::from_metadata(v.as_object().unwrap().clone())
    }

    #[test]
    fn deadline_accepts_string_and_number() {
        let at = UNIX_EPOCH + Duration::from_millis(123);
        assert_eq!(ctx(json!({"deadline": "123"})).deadline(), Some(at));
        assert_eq!(ctx(json!({"deadline": 123})).deadline(), Some(at));
        assert_eq!(ctx(json!({"deadline": "soon"})).deadline(), None);
        assert_eq!(ctx(json!({})).deadline(), None);
    }

    #[test]
    fn remaining_time_is_zero_after_the_deadline() {
        assert_eq!(
            ctx(json!({"deadline": "1"})).remaining_time(),
            Some(Duration::ZERO)
        );
        let far = ctx(json!({"deadline": u64::MAX / 2_000_000}));
        assert!(far.remaining_time().unwrap() > Duration::from_secs(3600));
    }

    #[test]
    fn debug_redacts_the_api_key() {
        let text = format!(
            "{:?}",
            ctx(json!({"api_key": "uuid:secret", "namespace": "ns"}))
        );
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("<redacted>") && text.contains("ns"), "{text}");
    }
}
