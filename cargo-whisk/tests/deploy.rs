//! `cargo whisk deploy` against a controller double on loopback: the
//! request it received (method, path, Basic auth, body), the configuration
//! read from `WSK_CONFIG_FILE` with flags winning, the printed name,
//! version and web URL, `--dry-run` (nothing sent), and the exact commands
//! printed when the configuration is missing.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::{Value, json};

use support::{cargo_whisk, text};

/// One request the controller double received.
#[derive(Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A controller that answers one `PUT .../actions/NAME` as OpenWhisk does
/// (the action, at version 0.0.2, with the annotations it was sent).
fn controller() -> (u16, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap().to_owned();
        let target = parts.next().unwrap().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').unwrap();
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        // `.../actions/NAME` or `.../actions/PKG/NAME`: the answer's namespace is `guest/PKG`.
        let entity = target
            .split('?')
            .next()
            .unwrap()
            .split("/actions/")
            .nth(1)
            .unwrap()
            .to_owned();
        let (namespace, name) = match entity.split_once('/') {
            Some((pkg, name)) => (format!("guest/{pkg}"), name.to_owned()),
            None => ("guest".to_owned(), entity.clone()),
        };
        let list = |key: &str| body.get(key).cloned().unwrap_or(json!([]));
        let answer = json!({
            "namespace": namespace,
            "name": name,
            "version": "0.0.2",
            "exec": {"kind": "blackbox", "image": body["exec"]["image"], "binary": body["exec"]["binary"]},
            "annotations": list("annotations"),
            "parameters": list("parameters"),
            "limits": {"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1},
            "publish": false,
        })
        .to_string();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        Received {
            method,
            target,
            headers,
            body,
        }
    });
    (port, handle)
}

fn props(dir: &Path, text: &str) -> std::path::PathBuf {
    let file = dir.join("wskprops");
    std::fs::write(&file, text).unwrap();
    file
}

fn deploy(props: &Path, args: &[&str]) -> Output {
    cargo_whisk()
        .current_dir(support::actions())
        .env("WSK_CONFIG_FILE", props)
        .env_remove("HOME")
        .arg("deploy")
        .args(args)
        .output()
        .unwrap()
}

const AUTH: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deploys with `args` against a controller double configured in a
/// properties file (`APIHOST`, `AUTH`, `NAMESPACE=guest`): the command's
/// output, the request the controller received, and its port.
fn deploy_to_double(dir: &str, args: &[&str]) -> (Output, Received, u16) {
    let (port, controller) = controller();
    let file = props(
        &tmp(dir),
        &format!("APIHOST=http://127.0.0.1:{port}\nAUTH={AUTH}\nNAMESPACE=guest\n"),
    );
    let out = deploy(&file, args);
    let got = controller.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, got, port)
}

#[test]
fn deploy_an_image_as_a_raw_web_action() {
    let (out, got, port) = deploy_to_double(
        "deploy-image",
        &[
            "hello",
            "--image",
            "me/hello:1",
            "--web",
            "raw",
            "--memory",
            "128",
            "--timeout",
            "30",
            "--concurrency",
            "4",
            "-p",
            "greeting",
            "hi",
            "-p",
            "n",
            "3",
            "--annotation",
            "provide-api-key",
            "false",
        ],
    );
    assert_eq!(got.method, "PUT");
    assert_eq!(
        got.target,
        "/api/v1/namespaces/guest/actions/hello?overwrite=true"
    );
    let basic = got.header("authorization").unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(decoded, AUTH.as_bytes());
    assert_eq!(
        got.body["exec"],
        json!({"kind": "blackbox", "image": "me/hello:1"})
    );
    assert_eq!(
        got.body["limits"],
        json!({"memory": 128, "timeout": 30000, "concurrency": 4})
    );
    assert_eq!(
        got.body["parameters"],
        json!([{"key": "greeting", "value": "hi"}, {"key": "n", "value": 3}])
    );
    assert_eq!(
        got.body["annotations"],
        json!([
            {"key": "provide-api-key", "value": false},
            {"key": "web-export", "value": true},
            {"key": "raw-http", "value": true},
            {"key": "final", "value": true},
        ])
    );
    assert_eq!(
        text(&out.stdout),
        format!(
            "ok: updated action /guest/hello (version 0.0.2)\nweb: http://127.0.0.1:{port}/api/v1/web/guest/default/hello\n"
        )
    );
    // The key is never printed.
    assert!(!text(&out.stderr).contains("123zO3") && !text(&out.stdout).contains("123zO3"));
}

#[test]
fn flags_win_over_the_properties_file() {
    let (port, controller) = controller();
    let dir = tmp("deploy-flags");
    let file = props(
        &dir,
        "APIHOST=http://127.0.0.1:1\nAUTH=wrong:key\nNAMESPACE=other\n",
    );
    let out = deploy(
        &file,
        &[
            "pkg/hello",
            "--image",
            "me/hello:2",
            "--apihost",
            &format!("http://127.0.0.1:{port}"),
            "--auth",
            AUTH,
            "--namespace",
            "guest",
        ],
    );
    let got = controller.join().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        got.target,
        "/api/v1/namespaces/guest/actions/pkg/hello?overwrite=true"
    );
    let expected = format!("Basic {}", {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(AUTH)
    });
    assert_eq!(got.header("authorization"), Some(expected.as_str()));
    // Not a web action: no URL.
    assert_eq!(
        text(&out.stdout),
        "ok: updated action /guest/pkg/hello (version 0.0.2)\n"
    );
}

#[test]
fn dry_run_prints_the_request_and_the_wsk_command_and_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let dir = tmp("deploy-dry");
    let file = props(&dir, &format!("APIHOST=127.0.0.1:{port}\nAUTH={AUTH}\n"));
    let out = deploy(
        &file,
        &[
            "hello",
            "--image",
            "me/hello:1",
            "--web",
            "true",
            "--timeout",
            "2.5",
            "-p",
            "who",
            "the world",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut sections = stdout.split("\n\n");
    assert_eq!(
        sections.next().unwrap(),
        format!(
            "PUT https://127.0.0.1:{port}/api/v1/namespaces/_/actions/hello?overwrite=true\nAuthorization: Basic <base64 of AUTH>\nContent-Type: application/json"
        )
    );
    let body: Value = serde_json::from_str(sections.next().unwrap()).unwrap();
    assert_eq!(
        body["exec"],
        json!({"kind": "blackbox", "image": "me/hello:1"})
    );
    assert_eq!(body["limits"], json!({"timeout": 2500}));
    assert_eq!(
        body["parameters"],
        json!([{"key": "who", "value": "the world"}])
    );
    assert_eq!(
        sections.next().unwrap(),
        "wsk action update hello --docker me/hello:1 --web true --timeout 2500 -p who 'the world'\n"
    );
    assert!(!stdout.contains("123zO3"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(listener.accept().is_ok()).unwrap());
    assert!(!rx.recv().unwrap(), "nothing was sent");
}

#[test]
fn missing_configuration_names_the_commands_that_set_it() {
    let dir = tmp("deploy-missing");
    let file = dir.join("no-such-wskprops");
    let _ = std::fs::remove_file(&file);
    let out = deploy(&file, &["hello", "--image", "me/hello:1"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no OpenWhisk API host (APIHOST) and no API key (AUTH) configured"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    wsk property set --apihost https://openwhisk.example.com\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    wsk property set --auth '<uuid>:<key>'\n"),
        "{stderr}"
    );
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");

    let only_host = props(&dir, "APIHOST=https://h\n");
    let stderr = text(&deploy(&only_host, &["hello", "--image", "i"]).stderr);
    assert!(
        stderr.contains("no OpenWhisk API key (AUTH) configured"),
        "{stderr}"
    );
    assert!(!stderr.contains("--apihost https"), "{stderr}");
}

#[test]
fn deploy_the_native_zip() {
    let (out, got, port) = deploy_to_double(
        "deploy-zip",
        &["reverse", "--zip", "--bin", "reverse", "--web", "true"],
    );
    let exec = &got.body["exec"];
    assert_eq!(exec["kind"], "blackbox");
    assert_eq!(exec["image"], "openwhisk/dockerskeleton");
    assert_eq!(exec["binary"], true);
    use base64::Engine;
    let zip = base64::engine::general_purpose::STANDARD
        .decode(exec["code"].as_str().unwrap())
        .unwrap();
    // One entry, `exec`: the local file header's name.
    assert_eq!(&zip[..4], b"PK\x03\x04");
    let name_len = u16::from_le_bytes([zip[26], zip[27]]) as usize;
    assert_eq!(&zip[30..30 + name_len], b"exec");
    assert!(
        text(&out.stdout).ends_with(
            "web: http://127.0.0.1:{port}/api/v1/web/guest/default/reverse\n"
                .replace("{port}", &port.to_string())
                .as_str()
        )
    );
}
