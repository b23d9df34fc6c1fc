//! `cargo whisk invoke`: build the action, run it as OpenWhisk's invoker
//! does, and print what `wsk` would.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::action::{self, ActionArgs};
use crate::invoker::{Activation, Invoker, Mode, Settings, Status};
use crate::params;

/// Options of `cargo whisk invoke`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    action: ActionArgs,
    /// A parameter, `wsk`-style: VALUE is JSON when it parses as JSON, else a string.
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["KEY", "VALUE"])]
    param: Vec<String>,
    /// A JSON file of parameters. Repeat it for several activations of the
    /// same warm container (one per file; `-p` applies to each).
    #[arg(short = 'P', long = "param-file", value_name = "FILE.json")]
    param_file: Vec<PathBuf>,
    /// An init parameter: exported to the action's environment by `/init`.
    #[arg(long = "init-env", value_name = "KEY=VALUE", value_parser = params::key_value)]
    init_env: Vec<(String, String)>,
    /// The action's time limit in seconds (`limits.timeout`).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    timeout: f64,
    /// Start the action with `__OW_ALLOW_CONCURRENT=true`.
    #[arg(long)]
    concurrent: bool,
    /// How the action is run: its own HTTP server (`--docker`), behind the Go
    /// ActionLoop proxy, or behind the dockerskeleton (`--native`).
    #[arg(long, value_enum, default_value = "http")]
    mode: Mode,
    /// Run each parameter set N times in the same warm container.
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u32,
    /// Print the activation record (as `wsk activation get`).
    #[arg(long, conflicts_with = "result")]
    activation: bool,
    /// Print only the result (as `wsk action invoke --result`).
    #[arg(long, short = 'r')]
    result: bool,
    /// The namespace the action runs in.
    #[arg(long, default_value = "guest")]
    namespace: String,
    /// `__OW_API_HOST` of the container.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3233")]
    api_host: String,
}

/// Runs `cargo whisk invoke`.
///
/// The exit status is 0 when every activation succeeded, 1 when one ended
/// in an application error, 2 for an action developer error (or timeout).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        anyhow::bail!("--timeout must be a positive number of seconds");
    }
    let common = params::from_pairs(&args.param);
    let mut sets: Vec<Map<String, Value>> = Vec::new();
    if args.param_file.is_empty() {
        sets.push(common.clone());
    }
    for file in &args.param_file {
        let mut set = params::from_file(file)?;
        set.extend(common.clone());
        sets.push(set);
    }
    let built = action::build(&args.action)?;
    let mut invoker = Invoker::new(Settings {
        exe: built.exe,
        name: built.name,
        package: None,
        namespace: args.namespace.clone(),
        version: "0.0.1".into(),
        mode: args.mode,
        timeout: Duration::from_secs_f64(args.timeout),
        concurrent: args.concurrent,
        init_env: args.init_env.clone(),
        api_host: args.api_host.clone(),
        live_logs: false,
    });
    let mut worst = Status::Success;
    for _ in 0..args.repeat.max(1) {
        for set in &sets {
            let activation = invoker.invoke(Value::Object(set.clone()));
            print(&args, &invoker, &activation);
            worst = worse(worst, activation.status);
        }
    }
    Ok(ExitCode::from(worst.code()))
}

fn worse(a: Status, b: Status) -> Status {
    if b.code() > a.code() { b } else { a }
}

fn print(args: &Args, invoker: &Invoker, activation: &Activation) {
    if args.activation {
        println!(
            "{}",
            params::pretty(&activation.record(invoker.settings()), 4)
        );
        return;
    }
    if !args.result {
        for line in &activation.logs {
            eprintln!("{line}");
        }
        let start = if activation.init_time.is_some() {
            "cold"
        } else {
            "warm"
        };
        eprintln!(
            "{:>12} {} in {} ms ({start}), activation {}",
            activation.status.message(),
            invoker.settings().name,
            activation.end - activation.start,
            activation.id
        );
    }
    println!("{}", params::pretty(&activation.result, 4));
}
