//! A local OpenWhisk controller double on loopback, for the client's tests.
//!
//! It follows OpenWhisk's published REST API (`apiv1swagger.json` of
//! apache/openwhisk, and the controller's answers as its `Actions.scala`
//! gives them: 202 `{"activationId"}` for a blocking invoke that outlives
//! the wait, 502 with the activation, or with the result only under
//! `result=true`, for an application error, `x-openwhisk-activation-id` on
//! invoke answers). No real controller runs here. It checks what it
//! receives: the HTTP Basic credentials (401 otherwise, with OpenWhisk's
//! error body), the paths (decoded segment by segment), the query flags and
//! that bodies are JSON; and it records every request for the tests to
//! assert on.
//!
//! Actions invoked by name behave by their last name segment:
//! - `fail`, or any action given `{"item": {"fail": true}}`: an application
//!   error whose `error` is the parameters;
//! - `slow`: still running after the blocking wait (202);
//! - `sleep`: answers after `params.ms` (or `params.item.ms`) milliseconds;
//! - `drop`: reads the request and closes the connection without answering;
//! - `missing`: 404;
//! - anything else: success with `{"action": "/ns/pkg/name", "params": ...}`.
//!
//! Triggers: `lonely` has no rule (204), the others 202 with an activation.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// One request as the double received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw (still encoded) path.
    pub path: String,
    /// The raw query, without `?`.
    pub query: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A stream the double serves: plain TCP or TLS over it.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// Wraps an accepted connection (a TLS handshake, say).
pub type Wrap = Arc<dyn Fn(TcpStream) -> std::io::Result<Box<dyn Stream>> + Send + Sync>;

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    actions: BTreeMap<String, Value>,
    activations: BTreeMap<String, Value>,
    /// The next n requests are answered with this status.
    fail_next: Vec<u16>,
    in_flight: usize,
    max_in_flight: usize,
}

pub struct Double {
    pub port: u16,
    /// The api host to give a client: `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The api key the double accepts.
pub const KEY: &str =
    "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:s3cr3t-Key-123zO3xZCLrMN6v2BKK1dXYFpXlPkcc";

impl Double {
    /// Plain http on a free port.
    pub fn start() -> Double {
        Double::serve(TcpListener::bind("127.0.0.1:0").unwrap(), None, "http")
    }

    /// Plain http on `port` (a port freed a moment ago).
    pub fn start_on(port: u16) -> Double {
        Double::serve(
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
            None,
            "http",
        )
    }

    /// Over `wrap` (TLS), on a free port; `url` is `https://...`.
    pub fn start_wrapped(wrap: Wrap) -> Double {
        Double::serve(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            Some(wrap),
            "https",
        )
    }

    fn serve(listener: TcpListener, wrap: Option<Wrap>, scheme: &str) -> Double {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (state, wrap) = (state.clone(), wrap.clone());
                    std::thread::spawn(move || {
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                        let stream: Box<dyn Stream> = match &wrap {
                            Some(wrap) => match wrap(conn) {
                                Ok(s) => s,
                                Err(_) => return,
                            },
                            None => Box::new(conn),
                        };
                        connection(stream, &state);
                    });
                }
            })
        };
        Double {
            port,
            url: format!("{scheme}://127.0.0.1:{port}"),
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// The next `n` requests get `status` (with an error body).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.state.lock().unwrap().fail_next = vec![status; n];
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves requests on one connection until the client closes it.
fn connection(stream: Box<dyn Stream>, state: &Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        {
            let mut s = state.lock().unwrap();
            s.requests.push(request.clone());
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
        }
        let answer = respond(&request, state);
        state.lock().unwrap().in_flight -= 1;
        let Some(answer) = answer else {
            // `drop`: close without an answer.
            let _ = reader.get_mut().flush();
            return;
        };
        let (status, headers, body) = answer;
        let mut out = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            reason(status),
            body.len()
        );
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let stream = reader.get_mut();
        if stream.write_all(out.as_bytes()).is_err()
            || stream.write_all(&body).is_err()
            || stream.flush().is_err()
        {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers
        .get("content-length")
        .map(|v| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    Some(Recorded {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("valid percent escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 after decoding")
}

fn query_flag(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn activation_id() -> String {
    format!("{:032x}", NEXT.fetch_add(1, Ordering::SeqCst) + 0xabc0_0000)
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn error(status: u16, message: &str) -> Option<Answer> {
    let body = json!({"error": message, "code": "tid-double-1"});
    Some((status, vec![], body.to_string().into_bytes()))
}

fn ok(status: u16, body: Value) -> Option<Answer> {
    Some((status, vec![], body.to_string().into_bytes()))
}

/// The controller's answer, or `None` to close without one.
fn respond(r: &Recorded, state: &Arc<Mutex<State>>) -> Option<Answer> {
    let expected = format!("Basic {}", base64(KEY.as_bytes()));
    if r.header("authorization") != Some(expected.as_str()) {
        return error(401, "The supplied authentication is invalid.");
    }
    if let Some(status) = {
        let mut s = state.lock().unwrap();
        if s.fail_next.is_empty() {
            None
        } else {
            Some(s.fail_next.remove(0))
        }
    } {
        return error(status, "The server is currently unavailable.");
    }
    let Some(rest) = r.path.strip_prefix("/api/v1/namespaces/") else {
        return error(404, "The requested resource does not exist.");
    };
    let raw: Vec<&str> = rest.split('/').collect();
    let segments: Vec<String> = raw.iter().map(|s| decode(s)).collect();
    if !r.body.is_empty() && serde_json::from_slice::<Value>(&r.body).is_err() {
        return error(400, "The request content was malformed.");
    }
    let body: Value = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body).unwrap()
    };
    let ns = segments[0].as_str();
    match (r.method.as_str(), segments.get(1).map(String::as_str)) {
        (_, Some("actions")) => actions(r, state, ns, &segments[2..], body),
        ("POST", Some("triggers")) if segments.len() == 3 => {
            if segments[2] == "lonely" {
                return Some((204, vec![], vec![]));
            }
            let id = activation_id();
            let activation = activation_doc(&id, ns, &segments[2], json!({}), "success");
            state
                .lock()
                .unwrap()
                .activations
                .insert(id.clone(), activation);
            ok(202, json!({"activationId": id}))
        }
        ("GET", Some("activations")) if segments.len() >= 3 => {
            let s = state.lock().unwrap();
            let Some(activation) = s.activations.get(&segments[2]) else {
                return error(404, "The requested resource does not exist.");
            };
            match segments.get(3).map(String::as_str) {
                None => ok(200, activation.clone()),
                Some("result") => ok(200, activation["response"].clone()),
                Some("logs") => ok(200, json!({"logs": activation["logs"]})),
                Some(_) => error(404, "The requested resource does not exist."),
            }
        }
        _ => error(404, "The requested resource does not exist."),
    }
}

fn activation_doc(id: &str, ns: &str, name: &str, result: Value, status: &str) -> Value {
    let code = if status == "success" { 0 } else { 1 };
    json!({
        "activationId": id, "namespace": ns, "name": name, "version": "0.0.1",
        "subject": "guest", "start": 1_700_000_000_000u64, "end": 1_700_000_000_007u64,
        "duration": 7,
        "response": {"status": status, "statusCode": code, "success": status == "success", "result": result},
        "logs": ["2024-01-01T00:00:00.000Z stdout: hello from the double"],
        "annotations": [{"key": "kind", "value": "blackbox"}],
        "publish": false
    })
}

fn actions(
    r: &Recorded,
    state: &Arc<Mutex<State>>,
    ns: &str,
    name: &[String],
    body: Value,
) -> Option<Answer> {
    if name.is_empty() || name.len() > 2 {
        if r.method == "GET" && name.is_empty() {
            let s = state.lock().unwrap();
            let prefix = format!("/{ns}/");
            let mut list: Vec<Value> = s
                .actions
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| {
                    let mut v = v.clone();
                    v["exec"].as_object_mut().unwrap().remove("code");
                    v
                })
                .collect();
            let skip = query_flag(&r.query, "skip").map_or(0, |s| s.parse().unwrap());
            let limit = query_flag(&r.query, "limit").map_or(30, |s| s.parse().unwrap());
            list = list.into_iter().skip(skip).take(limit).collect();
            return ok(200, Value::Array(list));
        }
        return error(404, "The requested resource does not exist.");
    }
    let full = format!("/{ns}/{}", name.join("/"));
    let last = name.last().unwrap().as_str();
    match r.method.as_str() {
        "POST" => invoke(r, state, ns, &full, last, body),
        "PUT" => {
            let overwrite = query_flag(&r.query, "overwrite").as_deref() == Some("true");
            let mut s = state.lock().unwrap();
            if s.actions.contains_key(&full) && !overwrite {
                return error(409, "resource already exists");
            }
            let Some(exec) = body.get("exec").filter(|e| e.get("kind").is_some()) else {
                return error(400, "The request content was malformed:\nexec undefined");
            };
            let package_ns = match name {
                [pkg, _] => format!("{ns}/{pkg}"),
                _ => ns.to_owned(),
            };
            let version = match s.actions.get(&full) {
                Some(old) => {
                    let patch: u64 = old["version"].as_str().unwrap()[4..].parse().unwrap();
                    format!("0.0.{}", patch + 1)
                }
                None => "0.0.1".to_owned(),
            };
            let doc = json!({
                "namespace": package_ns, "name": last, "version": version,
                "exec": exec,
                "parameters": body.get("parameters").cloned().unwrap_or(json!([])),
                "annotations": body.get("annotations").cloned().unwrap_or(json!([])),
                "limits": {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1},
                "publish": false,
            });
            let mut doc = doc;
            if let Some(limits) = body.get("limits").and_then(Value::as_object) {
                for (k, v) in limits {
                    doc["limits"][k] = v.clone();
                }
            }
            s.actions.insert(full, doc.clone());
            doc["exec"].as_object_mut().unwrap().remove("code");
            ok(200, doc)
        }
        "GET" => {
            let s = state.lock().unwrap();
            let Some(doc) = s.actions.get(&full) else {
                return error(404, "The requested resource does not exist.");
            };
            let mut doc = doc.clone();
            if query_flag(&r.query, "code").as_deref() != Some("true") {
                doc["exec"].as_object_mut().unwrap().remove("code");
            }
            ok(200, doc)
        }
        "DELETE" => {
            let mut s = state.lock().unwrap();
            match s.actions.remove(&full) {
                Some(mut doc) => {
                    doc["exec"].as_object_mut().unwrap().remove("code");
                    ok(200, doc)
                }
                None => error(404, "The requested resource does not exist."),
            }
        }
        _ => error(405, "method not allowed"),
    }
}

fn invoke(
    r: &Recorded,
    state: &Arc<Mutex<State>>,
    ns: &str,
    full: &str,
    last: &str,
    params: Value,
) -> Option<Answer> {
    let blocking = query_flag(&r.query, "blocking").as_deref() == Some("true");
    let result_only = query_flag(&r.query, "result").as_deref() == Some("true");
    match last {
        "missing" => return error(404, "The requested resource does not exist."),
        "drop" => return None,
        "sleep" => {
            let ms = params["ms"]
                .as_u64()
                .or(params.pointer("/item/ms").and_then(Value::as_u64))
                .unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
        }
        _ => {}
    }
    let id = activation_id();
    let (result, status) = if last == "fail" || params.pointer("/item/fail") == Some(&json!(true)) {
        (json!({"error": params}), "application error")
    } else {
        (json!({"action": full, "params": params}), "success")
    };
    let activation = activation_doc(&id, ns, last, result.clone(), status);
    state
        .lock()
        .unwrap()
        .activations
        .insert(id.clone(), activation.clone());
    let header = vec![("x-openwhisk-activation-id".to_owned(), id.clone())];
    if !blocking || last == "slow" {
        return Some((
            202,
            header,
            json!({"activationId": id}).to_string().into_bytes(),
        ));
    }
    let code = if status == "success" { 200 } else { 502 };
    let body = if result_only { result } else { activation };
    Some((code, header, body.to_string().into_bytes()))
}

/// Standard base64 with padding (RFC 4648), to check the Basic credentials
/// independently of the client's own encoder.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Closes a TCP stream both ways (for wraps that need it).
pub fn close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}
