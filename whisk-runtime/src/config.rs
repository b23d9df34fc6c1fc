//! Runtime settings: [`Config`], read from the environment.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Which transport serves the action. See [`Config::mode`].
///
/// Set it to force a mode rather than detect it (as `WHISK_MODE` does):
///
/// ```no_run
/// # extern crate whisk_runtime as whisk;
/// use std::process::ExitCode;
/// use whisk::{Config, Context, Mode, run_with, sync_fn};
/// use serde_json::Value;
///
/// fn main() -> ExitCode {
///     let mut config = match Config::from_env() {
///         Ok(config) => config,
///         Err(e) => {
///             eprintln!("{e}");
///             return ExitCode::from(2);
///         }
///     };
///     // One activation from argv[1] or stdin, however the process started.
///     config.mode = Some(Mode::Exec);
///     run_with(config, sync_fn(|v: Value, _: Context| Ok::<_, String>(v)))
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Serve `POST /init` and `POST /run` over HTTP (the default).
    Http,
    /// Run as the child of OpenWhisk's ActionLoop proxy: requests on stdin,
    /// results on fd 3.
    ActionLoop,
    /// Run one activation as the dockerskeleton does: input in `argv[1]` or
    /// on stdin, result as the last line of stdout.
    Exec,
}

/// How the runtime runs. [`Config::from_env`] reads these variables:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `WHISK_MODE` | `http`, `actionloop` or `exec` | detected (see [`crate::run`](fn@crate::run)) |
/// | `WHISK_PORT` | HTTP port; `0` picks a free one | `8080` |
/// | `WHISK_HOST` | HTTP listen address | `0.0.0.0` |
/// | `WHISK_PORT_FILE` | file to write the bound port to, once listening | none |
/// | `WHISK_INIT_MAX_BYTES` | largest `/init` body | 64 MiB |
/// | `WHISK_RUN_MAX_BYTES` | largest `/run` body | 8 MiB |
/// | `WHISK_READ_TIMEOUT_SECS` | longest wait for a request's body (0.1 to 86400); a connection idle or stalled (no request, a request that never completes, an answer not read) for one to two of these is closed | 30 |
/// | `__OW_ALLOW_CONCURRENT` | `true` (any case) lets `/run` requests overlap | off |
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// let config = whisk::Config::default();
/// assert_eq!(config.addr.port(), 8080);
/// assert!(!config.concurrent);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The transport, or `None` to detect it.
    pub mode: Option<Mode>,
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    /// Where to write the bound port once listening (for tests and tools that
    /// start the server on port 0).
    pub port_file: Option<PathBuf>,
    /// The largest `/init` body accepted; larger ones get `413`.
    pub init_max_bytes: usize,
    /// The largest `/run` body accepted; larger ones get `413`.
    pub run_max_bytes: usize,
    /// How long a client may take to send a request's body (then `408`);
    /// a connection that makes no progress for one to two of these (no
    /// request, a request's headers that never complete, an answer not
    /// read) is closed. An activation, however long, is not counted.
    pub read_timeout: Duration,
    /// Whether `/run` requests may overlap (`__OW_ALLOW_CONCURRENT`).
    pub concurrent: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: None,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080),
            port_file: None,
            // The invoker's code limit is 48 MiB of (base64) text, plus the
            // JSON envelope and escaping.
            init_max_bytes: 64 << 20,
            // The payload limit is 1 MiB plus metadata; leave ample room.
            run_max_bytes: 8 << 20,
            read_timeout: Duration::from_secs(30),
            concurrent: false,
        }
    }
}

/// A setting in the environment that cannot be used, from
/// [`Config::from_env`]; its message names the variable, the value and
/// what was expected ([`run`](fn@crate::run) prints it and exits with
/// status 2).
///
/// ```
/// # extern crate whisk_runtime as whisk;
/// match whisk::Config::from_env() {
///     Ok(config) => println!("serving on {}", config.addr),
///     // For instance `whisk: WHISK_PORT="x" is not valid: expected a port
///     // number from 0 to 65535`.
///     Err(e) => eprintln!("{e}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "whisk: {}={:?} is not valid: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// The shortest read timeout: the connection guard ticks once per timeout,
/// so a microsecond would be a busy loop (and no client sends a body that
/// fast).
const MIN_READ_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest read timeout, one day: far enough for any body, near enough
/// that every deadline computed from it fits the clock.
const MAX_READ_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// What `WHISK_READ_TIMEOUT_SECS` may be, as the error message says it.
const READ_TIMEOUT_RANGE: &str = "a number of seconds from 0.1 to 86400";

/// `WHISK_READ_TIMEOUT_SECS` as a duration, or `None` when it is not a
/// number within [`MIN_READ_TIMEOUT`]..=[`MAX_READ_TIMEOUT`] (checked
/// before any `Duration` is made from it, which would panic on `1e20`).
fn read_timeout(text: &str) -> Option<Duration> {
    let secs = text.trim().parse::<f64>().ok()?;
    let range = MIN_READ_TIMEOUT.as_secs_f64()..=MAX_READ_TIMEOUT.as_secs_f64();
    range.contains(&secs).then(|| Duration::from_secs_f64(secs))
}

impl Config {
    /// Reads the settings from the environment (see the table above).
    ///
    /// ```
    /// # extern crate whisk_runtime as whisk;
    /// let config = whisk::Config::from_env().expect("valid settings");
    /// # let _ = config;
    /// ```
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let parse = |variable: &'static str, expected: &'static str| {
            move |value: String| -> Result<_, ConfigError> {
                Err(ConfigError {
                    variable,
                    value,
                    expected,
                })
            }
        };
        if let Some(mode) = get("WHISK_MODE").filter(|m| !m.is_empty()) {
            config.mode = Some(match mode.to_ascii_lowercase().as_str() {
                "http" => Mode::Http,
                "actionloop" => Mode::ActionLoop,
                "exec" => Mode::Exec,
                _ => return parse("WHISK_MODE", "http, actionloop or exec")(mode),
            });
        }
        if let Some(port) = get("WHISK_PORT").filter(|p| !p.is_empty()) {
            match port.parse::<u16>() {
                Ok(p) => config.addr.set_port(p),
                Err(_) => return parse("WHISK_PORT", "a port number from 0 to 65535")(port),
            }
        }
        if let Some(host) = get("WHISK_HOST").filter(|h| !h.is_empty()) {
            match host.parse::<IpAddr>() {
                Ok(ip) => config.addr.set_ip(ip),
                Err(_) => return parse("WHISK_HOST", "an IP address such as 0.0.0.0")(host),
            }
        }
        config.port_file = get("WHISK_PORT_FILE")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        for (variable, slot) in [
            ("WHISK_INIT_MAX_BYTES", &mut config.init_max_bytes),
            ("WHISK_RUN_MAX_BYTES", &mut config.run_max_bytes),
        ] {
            if let Some(text) = get(variable).filter(|t| !t.is_empty()) {
                match text.parse::<usize>() {
                    Ok(n) if n > 0 => *slot = n,
                    _ => return parse(variable, "a positive number of bytes")(text),
                }
            }
        }
        if let Some(text) = get("WHISK_READ_TIMEOUT_SECS").filter(|t| !t.is_empty()) {
            match read_timeout(&text) {
                Some(timeout) => config.read_timeout = timeout,
                None => return parse("WHISK_READ_TIMEOUT_SECS", READ_TIMEOUT_RANGE)(text),
            }
        }
        config.concurrent =
            get("__OW_ALLOW_CONCURRENT").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!((c.init_max_bytes, c.run_max_bytes), (64 << 20, 8 << 20));
        assert_eq!((c.mode, c.concurrent), (None, false));
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("WHISK_MODE", "ActionLoop"),
            ("WHISK_PORT", "0"),
            ("WHISK_HOST", "127.0.0.1"),
            ("WHISK_PORT_FILE", "/tmp/p"),
            ("WHISK_INIT_MAX_BYTES", "10"),
            ("WHISK_RUN_MAX_BYTES", "20"),
            ("WHISK_READ_TIMEOUT_SECS", "0.5"),
            ("__OW_ALLOW_CONCURRENT", "TRUE"),
        ])
        .unwrap();
        assert_eq!(c.mode, Some(Mode::ActionLoop));
        assert_eq!(c.addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.port_file, Some(PathBuf::from("/tmp/p")));
        assert_eq!(
            (c.init_max_bytes, c.run_max_bytes, c.concurrent),
            (10, 20, true)
        );
        assert!(
            !config(&[("__OW_ALLOW_CONCURRENT", "false")])
                .unwrap()
                .concurrent
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&[("WHISK_PORT", "80a")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"whisk: WHISK_PORT="80a" is not valid: expected a port number from 0 to 65535"#
        );
        assert!(config(&[("WHISK_MODE", "grpc")]).is_err());
        assert!(config(&[("WHISK_RUN_MAX_BYTES", "0")]).is_err());
        assert!(config(&[("WHISK_HOST", "localhost")]).is_err());
        assert!(config(&[("WHISK_READ_TIMEOUT_SECS", "-1")]).is_err());
    }

    #[test]
    fn the_read_timeout_is_range_checked() {
        for bad in [
            "1e20",
            "18446744073709551615",
            "0.000001",
            "0.09",
            "0",
            "86400.5",
            "NaN",
            "inf",
            "-0.5",
            "30s",
        ] {
            let e = config(&[("WHISK_READ_TIMEOUT_SECS", bad)]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "whisk: WHISK_READ_TIMEOUT_SECS={bad:?} is not valid: expected a number of seconds from 0.1 to 86400"
                )
            );
        }
        for (good, expected) in [
            ("0.1", Duration::from_millis(100)),
            ("86400", Duration::from_secs(86400)),
            (" 2.5 ", Duration::from_millis(2500)),
        ] {
            let c = config(&[("WHISK_READ_TIMEOUT_SECS", good)]).unwrap();
            assert_eq!(c.read_timeout, expected);
        }
    }
}
