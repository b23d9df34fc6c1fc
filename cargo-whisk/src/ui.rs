//! Progress for the long steps: an indicatif spinner when stderr is a
//! terminal, one plain line per finished step otherwise (logs, CI). Nothing
//! is ever colored, so `NO_COLOR` holds; [`no_color`] also tells cargo.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether the user asked for no color (`NO_COLOR` set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// A step in progress; [`Step::done`] ends it with a summary line.
pub struct Step {
    verb: &'static str,
    spinner: Option<ProgressBar>,
}

/// Starts a step: `verb` is cargo-style (`Compressing`, `Writing`).
pub fn step(verb: &'static str, what: &str) -> Step {
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_message(format!("{verb} {what}..."));
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    Step { verb, spinner }
}

impl Step {
    /// Ends the step, printing `VERB summary`.
    pub fn done(self, summary: impl std::fmt::Display) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
        eprintln!("{:>12} {summary}", self.verb);
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        // A step abandoned by an error leaves no spinner behind.
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}
