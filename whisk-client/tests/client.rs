//! The client against a controller double on loopback (`tests/double`),
//! over plain http and over TLS with a self-signed certificate made here.
//! The double follows OpenWhisk's published API; no real controller can run
//! in these tests.

mod double;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use double::{Double, KEY, Wrap};
use serde_json::{Value, json};
use whisk_client::{ActionPut, Client, Config, Error, ListOptions};

fn client(double: &Double) -> Client {
    Client::new(Config::new(&double.url).api_key(KEY)).unwrap()
}

fn basic() -> String {
    format!("Basic {}", double::base64(KEY.as_bytes()))
}

/// The secret half of the key, which nothing may print.
const SECRET: &str = "s3cr3t-Key";

#[tokio::test]
async fn invoke_blocking_sends_auth_path_flags_body_and_transaction_id() {
    let double = Double::start();
    let client = Client::new(
        Config::new(&double.url)
            .api_key(KEY)
            .transaction_id("tid-from-the-activation"),
    )
    .unwrap();
    let result = client.invoke("pkg/echo", json!({"x": 1})).await.unwrap();
    assert_eq!(result, json!({"action": "/_/pkg/echo", "params": {"x": 1}}));
    let requests = double.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/namespaces/_/actions/pkg/echo");
    assert_eq!(r.query, "blocking=true&result=true");
    assert_eq!(r.header("authorization"), Some(basic().as_str()));
    assert_eq!(r.header("x-request-id"), Some("tid-from-the-activation"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("whisk-client/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(r.json(), json!({"x": 1}));
}

#[tokio::test]
async fn invoke_activation_nonblocking_and_activation_reads() {
    let double = Double::start();
    let client = Client::new(Config::new(&double.url).api_key(KEY).namespace("guest")).unwrap();

    let activation = client
        .invoke_activation("/other/echo", json!({"y": "z"}))
        .await
        .unwrap();
    assert_eq!(activation.namespace, "other");
    assert_eq!(activation.name, "echo");
    assert!(activation.response.success);
    assert_eq!(activation.response.status, "success");
    assert_eq!(
        activation.response.result,
        json!({"action": "/other/echo", "params": {"y": "z"}})
    );
    assert_eq!(activation.duration, Some(7));

    let id = client
        .invoke_nonblocking("echo", json!({"n": 2}))
        .await
        .unwrap();
    assert_eq!(id.len(), 32);
    let read = client.activation(&id).await.unwrap();
    assert_eq!(read.activation_id, id);
    assert_eq!(
        read.response.result,
        json!({"action": "/guest/echo", "params": {"n": 2}})
    );
    let result = client.activation_result(&id).await.unwrap();
    assert_eq!(result.status, "success");
    assert_eq!(result.status_code, Some(0));
    assert_eq!(result.result, read.response.result);
    let logs = client.activation_logs(&id).await.unwrap();
    assert_eq!(
        logs,
        vec!["2024-01-01T00:00:00.000Z stdout: hello from the double".to_owned()]
    );

    let seen: Vec<(String, String, String)> = double
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.query))
        .collect();
    let s = |m: &str, p: &str, q: &str| (m.to_owned(), p.to_owned(), q.to_owned());
    assert_eq!(
        seen,
        vec![
            s(
                "POST",
                "/api/v1/namespaces/other/actions/echo",
                "blocking=true"
            ),
            s(
                "POST",
                "/api/v1/namespaces/guest/actions/echo",
                "blocking=false"
            ),
            s(
                "GET",
                &format!("/api/v1/namespaces/guest/activations/{id}"),
                ""
            ),
            s(
                "GET",
                &format!("/api/v1/namespaces/guest/activations/{id}/result"),
                ""
            ),
            s(
                "GET",
                &format!("/api/v1/namespaces/guest/activations/{id}/logs"),
                ""
            ),
        ]
    );
}

#[tokio::test]
async fn a_blocking_invoke_past_the_wait_is_accepted_with_its_activation_id() {
    let double = Double::start();
    let client = client(&double);
    for err in [
        client.invoke("slow", json!({})).await.unwrap_err(),
        client
            .invoke_activation("slow", json!({}))
            .await
            .unwrap_err(),
    ] {
        let Error::Accepted { activation_id } = &err else {
            panic!("not Accepted: {err:?}");
        };
        assert_eq!(activation_id.len(), 32);
        assert_eq!(err.status(), Some(202));
        assert_eq!(
            err.to_string(),
            format!(
                "the action is still running after the blocking wait (HTTP 202): activation {activation_id}"
            )
        );
        // The id is the activation's: it can be read.
        let activation = client.activation(activation_id).await.unwrap();
        assert_eq!(activation.name, "slow");
    }
}

#[tokio::test]
async fn an_application_error_carries_the_activation_and_its_error_value() {
    let double = Double::start();
    let client = client(&double);

    let err = client
        .invoke("pkg/fail", json!({"why": "bad input"}))
        .await
        .unwrap_err();
    let Error::Application {
        activation_id,
        error,
        activation,
    } = &err
    else {
        panic!("not Application: {err:?}");
    };
    assert_eq!(error, &json!({"why": "bad input"}));
    assert!(activation.is_none());
    // From the controller's `x-openwhisk-activation-id` header.
    let id = activation_id.clone().expect("the activation id");
    assert_eq!(client.activation(&id).await.unwrap().name, "fail");
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        err.to_string(),
        format!("the action failed (HTTP 502) in activation {id}: {{\"why\":\"bad input\"}}")
    );

    let err = client
        .invoke_activation("fail", json!({"why": 2}))
        .await
        .unwrap_err();
    let Error::Application {
        activation_id,
        error,
        activation: Some(activation),
    } = err
    else {
        panic!("not Application with its activation: {err:?}");
    };
    assert_eq!(error, json!({"why": 2}));
    assert_eq!(
        activation_id.as_deref(),
        Some(activation.activation_id.as_str())
    );
    assert_eq!(activation.response.status, "application error");
    assert!(!activation.response.success);
}

#[tokio::test]
async fn api_errors_carry_the_status_and_openwhisks_error_body() {
    let double = Double::start();
    let err = client(&double)
        .invoke("missing", json!({}))
        .await
        .unwrap_err();
    let Error::Api {
        status,
        request,
        error,
        code,
        body,
    } = &err
    else {
        panic!("not Api: {err:?}");
    };
    assert_eq!(*status, 404);
    assert_eq!(request, "POST /api/v1/namespaces/_/actions/missing");
    assert_eq!(
        error.as_deref(),
        Some("The requested resource does not exist.")
    );
    assert_eq!(code.as_deref(), Some("tid-double-1"));
    assert_eq!(
        body,
        &json!({"error": "The requested resource does not exist.", "code": "tid-double-1"})
    );
    assert_eq!(
        err.to_string(),
        "POST /api/v1/namespaces/_/actions/missing returned HTTP 404: The requested resource does not exist. (code tid-double-1)"
    );

    // A wrong key: 401, and the message holds neither key.
    let wrong = Client::new(Config::new(&double.url).api_key("uuid:wrong-s3cr3t")).unwrap();
    let err = wrong.get_action("a", false).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let text = format!("{err} {err:?} {wrong:?}");
    assert!(
        !text.contains("wrong-s3cr3t") && !text.contains(SECRET),
        "{text}"
    );
    assert!(
        text.contains("The supplied authentication is invalid."),
        "{text}"
    );
}

#[tokio::test]
async fn names_with_packages_namespaces_and_odd_characters_are_encoded() {
    let double = Double::start();
    let client = client(&double);
    let result = client
        .invoke("/me@example.com_dev/my pkg/a b?c#d%e", json!({}))
        .await
        .unwrap();
    // The double decodes segment by segment: the name arrives whole.
    assert_eq!(result["action"], "/me@example.com_dev/my pkg/a b?c#d%e");
    let r = &double.requests()[0];
    assert_eq!(
        r.path,
        "/api/v1/namespaces/me%40example.com_dev/actions/my%20pkg/a%20b%3Fc%23d%25e"
    );
    assert_eq!(r.query, "blocking=true&result=true");

    let result = client.invoke("ns/pkg/act", json!({})).await.unwrap();
    assert_eq!(result["action"], "/ns/pkg/act");

    // A bad name is refused before anything is sent.
    let err = client
        .invoke("/only-a-namespace", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
    let err = client.invoke("a/b/c/d", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("too many parts"), "{err}");
    let err = client.activation("../x").await.unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
    assert_eq!(double.requests().len(), 2);
}

#[tokio::test]
async fn fire_a_trigger() {
    let double = Double::start();
    let client = client(&double);
    let id = client
        .fire_trigger("order placed", json!({"order": 42}))
        .await
        .unwrap()
        .expect("an activation");
    assert_eq!(client.activation(&id).await.unwrap().name, "order placed");
    assert_eq!(
        client.fire_trigger("lonely", json!({})).await.unwrap(),
        None
    );
    let r = &double.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_str()),
        ("POST", "/api/v1/namespaces/_/triggers/order%20placed", "")
    );
    assert_eq!(r.json(), json!({"order": 42}));
}

#[tokio::test]
async fn actions_put_get_list_delete() {
    let double = Double::start();
    let client = client(&double);
    let zip = b"PK\x03\x04 a zip with exec";
    let put = ActionPut::native(zip)
        .annotation("web-export", json!(true))
        .annotation("raw-http", json!(false))
        .annotation("provide-api-key", json!(true))
        .parameter("greeting", json!("hi"))
        .timeout_ms(30_000)
        .memory_mb(128)
        .concurrency(4);
    let action = client.put_action("pkg/rev", &put, false).await.unwrap();
    assert_eq!(action.name, "rev");
    assert_eq!(action.namespace, "_/pkg");
    assert_eq!(action.version, "0.0.1");
    assert_eq!(action.exec.kind, "blackbox");
    assert_eq!(
        action.exec.image.as_deref(),
        Some("openwhisk/dockerskeleton")
    );
    assert_eq!(action.exec.code, None);
    assert_eq!(action.annotation("provide-api-key"), Some(&json!(true)));
    assert_eq!(action.limits.timeout, Some(30_000));
    assert_eq!(action.limits.logs, Some(10));

    let r = &double.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_str()),
        (
            "PUT",
            "/api/v1/namespaces/_/actions/pkg/rev",
            "overwrite=false"
        )
    );
    assert_eq!(
        r.json(),
        json!({
            "exec": {
                "kind": "blackbox",
                "image": "openwhisk/dockerskeleton",
                "code": double::base64(zip),
                "binary": true
            },
            "parameters": [{"key": "greeting", "value": "hi"}],
            "annotations": [
                {"key": "web-export", "value": true},
                {"key": "raw-http", "value": false},
                {"key": "provide-api-key", "value": true}
            ],
            "limits": {"timeout": 30000, "memory": 128, "concurrency": 4}
        })
    );

    // Create again: 409; update with overwrite: the next version.
    let err = client.put_action("pkg/rev", &put, false).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    let docker = ActionPut::docker("me/other:1");
    let updated = client.put_action("pkg/rev", &docker, true).await.unwrap();
    assert_eq!(updated.version, "0.0.2");
    assert_eq!(updated.exec.image.as_deref(), Some("me/other:1"));
    assert_eq!(double.requests()[2].query, "overwrite=true");

    client.put_action("second", &put, true).await.unwrap();
    let got = client.get_action("second", true).await.unwrap();
    assert_eq!(got.exec.code.as_deref(), Some(double::base64(zip).as_str()));
    assert_eq!(got.exec.binary, Some(true));
    let got = client.get_action("second", false).await.unwrap();
    assert_eq!(got.exec.code, None);

    let all = client.list_actions(&ListOptions::default()).await.unwrap();
    let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["rev", "second"]);
    let page = client
        .list_actions(&ListOptions::new().limit(1).skip(1))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].name, "second");

    let deleted = client.delete_action("second").await.unwrap();
    assert_eq!(deleted.name, "second");
    let err = client.get_action("second", false).await.unwrap_err();
    assert_eq!(err.status(), Some(404));

    let seen: Vec<(String, String, String)> = double
        .requests()
        .into_iter()
        .skip(4)
        .map(|r| (r.method, r.path, r.query))
        .collect();
    let s = |m: &str, p: &str, q: &str| (m.to_owned(), p.to_owned(), q.to_owned());
    assert_eq!(
        seen,
        vec![
            s("GET", "/api/v1/namespaces/_/actions/second", "code=true"),
            s("GET", "/api/v1/namespaces/_/actions/second", "code=false"),
            s("GET", "/api/v1/namespaces/_/actions", ""),
            s("GET", "/api/v1/namespaces/_/actions", "limit=1&skip=1"),
            s("DELETE", "/api/v1/namespaces/_/actions/second", ""),
            s("GET", "/api/v1/namespaces/_/actions/second", "code=false"),
        ]
    );
}

#[test]
fn a_context_without_a_key_is_refused_naming_provide_api_key() {
    let ctx = whisk_runtime::Context::from_metadata(
        json!({"api_host": "http://127.0.0.1:9", "namespace": "guest"})
            .as_object()
            .unwrap()
            .clone(),
    );
    let err = Client::from_context(&ctx).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        text.contains("provide-api-key")
            && text.contains("wsk action update NAME --annotation provide-api-key true"),
        "{text}"
    );
    let err = Client::new(Config::default().api_key(KEY)).unwrap_err();
    assert!(err.to_string().contains("no api host"), "{err}");
    let err = Client::new(Config::new("ftp://h").api_key(KEY)).unwrap_err();
    assert!(err.to_string().contains("only http and https"), "{err}");
}

#[test]
fn debug_output_holds_no_secret() {
    let config = Config::new("https://h").api_key(KEY);
    let client = Client::new(config.clone()).unwrap();
    let text = format!("{config:?} {client:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
    let ctx = whisk_runtime::Context::from_metadata(
        json!({"api_host": "https://h", "api_key": KEY})
            .as_object()
            .unwrap()
            .clone(),
    );
    let text = format!("{:?}", Config::from_context(&ctx));
    assert!(!text.contains(SECRET), "{text}");
}

// ---- TLS ----

fn tls_double() -> Double {
    let key =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = key.cert.der().clone();
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()),
    );
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], private)
            .unwrap(),
    );
    let wrap: Wrap = Arc::new(move |tcp| {
        let conn = rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
        Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
    });
    Double::start_wrapped(wrap)
}

#[tokio::test]
async fn tls_with_verification_refuses_a_self_signed_controller() {
    let double = tls_double();
    assert!(double.url.starts_with("https://"));
    let client = Client::new(Config::new(&double.url).api_key(KEY).retries(3)).unwrap();
    let started = Instant::now();
    let err = client.invoke("echo", json!({})).await.unwrap_err();
    let Error::Tls { host, reason } = &err else {
        panic!("not Tls: {err:?}");
    };
    assert_eq!(host, &double.url);
    assert!(
        reason.contains("invalid peer certificate: UnknownIssuer"),
        "{reason}"
    );
    assert!(err.to_string().contains("__OW_IGNORE_CERTS=true"), "{err}");
    // Not retried: a refused certificate stays refused.
    assert!(started.elapsed() < Duration::from_millis(100 * 3));
    assert!(double.requests().is_empty());
}

#[tokio::test]
async fn tls_with_ignore_certs_works() {
    let double = tls_double();
    let client = Client::new(Config::new(&double.url).api_key(KEY).ignore_certs(true)).unwrap();
    let result = client
        .invoke("pkg/echo", json!({"tls": true}))
        .await
        .unwrap();
    assert_eq!(
        result,
        json!({"action": "/_/pkg/echo", "params": {"tls": true}})
    );
    let r = &double.requests()[0];
    assert_eq!(r.header("authorization"), Some(basic().as_str()));
    assert_eq!(r.path, "/api/v1/namespaces/_/actions/pkg/echo");
}

// ---- retries and timeouts ----

/// A client with `retries` and a first backoff of `backoff_ms`.
fn retrying(url: impl Into<String>, retries: u32, backoff_ms: u64) -> Client {
    let config = Config::new(url)
        .api_key(KEY)
        .retries(retries)
        .backoff(Duration::from_millis(backoff_ms));
    Client::new(config).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_refused_connection_is_retried_until_the_controller_accepts() {
    let port = free_port();
    let slot: Arc<Mutex<Option<Double>>> = Arc::default();
    let starter = {
        let slot = slot.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(250));
            *slot.lock().unwrap() = Some(Double::start_on(port));
        })
    };
    let client = retrying(format!("http://127.0.0.1:{port}"), 6, 50);
    // An invoke: retried only because its connection was refused.
    let result = client.invoke("echo", json!({"k": 1})).await.unwrap();
    assert_eq!(result["params"], json!({"k": 1}));
    starter.join().unwrap();
    let double = slot.lock().unwrap().take().unwrap();
    assert_eq!(double.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_without_retries_left_is_a_connect_error() {
    let port = free_port();
    let client = retrying(format!("http://127.0.0.1:{port}"), 2, 20);
    let started = Instant::now();
    let err = client.activation("abc").await.unwrap_err();
    let Error::Connect { host, reason } = &err else {
        panic!("not Connect: {err:?}");
    };
    assert_eq!(host, &format!("http://127.0.0.1:{port}"));
    assert!(
        reason.to_lowercase().contains("connection refused"),
        "{reason}"
    );
    // Two backoffs: 20 ms and 40 ms.
    assert!(started.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn a_sent_invoke_is_never_retried() {
    let double = Double::start();
    let client = retrying(&double.url, 3, 10);
    // The connection closes after the request: it may have run.
    let err = client.invoke("drop", json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(double.requests().len(), 1);
    // A 503 to an invoke is the answer, not retried either.
    double.fail_next(1, 503);
    let err = client.invoke("echo", json!({})).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(double.requests().len(), 2);
}

#[tokio::test]
async fn reads_are_retried_with_backoff_after_503() {
    let double = Double::start();
    let client = retrying(&double.url, 2, 30);
    let id = client.invoke_nonblocking("echo", json!({})).await.unwrap();
    double.fail_next(2, 503);
    let started = Instant::now();
    let activation = client.activation(&id).await.unwrap();
    assert_eq!(activation.activation_id, id);
    assert!(started.elapsed() >= Duration::from_millis(30 + 60));
    let gets = double
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(gets, 3);
    // One failure more than the retries: the 503 is the answer.
    double.fail_next(3, 503);
    let err = client.activation(&id).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
}

#[tokio::test]
async fn a_call_past_its_timeout_fails_with_timeout() {
    let double = Double::start();
    let client = client(&double).with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = client
        .invoke("sleep", json!({"ms": 3000}))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let Error::Timeout { request, after } = &err else {
        panic!("not Timeout: {err:?}");
    };
    assert_eq!(request, "POST /api/v1/namespaces/_/actions/sleep");
    assert_eq!(*after, Duration::from_millis(300));
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    // The same client with a longer timeout gets the answer.
    let result = client
        .with_timeout(Duration::from_secs(5))
        .invoke("sleep", json!({"ms": 50}))
        .await
        .unwrap();
    assert_eq!(result["params"], json!({"ms": 50}));
    let _: Value = result;
}
