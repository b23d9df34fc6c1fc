//! The activation span: every activation runs inside
//! `activation{id=<activation id>}`, so a `tracing` subscriber can put the id
//! on each log line. Without the `tracing` feature these are no-ops.

use std::fmt;
use std::future::Future;

#[cfg(feature = "tracing")]
pub(crate) use tracing::Span;

/// Without `tracing`, a span that does nothing.
#[cfg(not(feature = "tracing"))]
#[derive(Clone)]
pub(crate) struct Span;

#[cfg(not(feature = "tracing"))]
impl Span {
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }
}

/// Whether [`activation`] may record the activation id: with `tracing`,
/// unless no subscriber takes `INFO` spans (none is installed, say), which
/// is what `LevelFilter::current` is for ("can be used for determining if
/// something is disabled"). A relaxed atomic load.
pub(crate) fn needs_id() -> bool {
    #[cfg(feature = "tracing")]
    {
        use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
        tracing::Level::INFO <= STATIC_MAX_LEVEL && tracing::Level::INFO <= LevelFilter::current()
    }
    #[cfg(not(feature = "tracing"))]
    {
        false
    }
}

/// The span of one activation.
pub(crate) fn activation(id: &str) -> Span {
    #[cfg(feature = "tracing")]
    {
        tracing::info_span!("activation", id = %LogSafe(id))
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = id;
        Span
    }
}

/// Polls `future` inside `span`.
pub(crate) fn instrument<F: Future>(span: Span, future: F) -> impl Future<Output = F::Output> {
    #[cfg(feature = "tracing")]
    {
        tracing::Instrument::instrument(future, span)
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = span;
        future
    }
}

/// Text from a request (an activation id) as the runtime writes it into a
/// log line: control characters (a line break, an ANSI escape) and `\` as
/// `\u{..}` and `\\`, and the sentinel's text with its first letter as
/// `\u{58}`. Whatever a request holds, a line the runtime writes then
/// stays one line, colours nothing, and never holds the sentinel, which
/// OpenWhisk's log collector looks for anywhere in a line (in JSON logs
/// too, where the line break would be escaped but the sentinel remain).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) struct LogSafe<'a>(pub(crate) &'a str);

impl fmt::Display for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        // The usual id (hex digits) is written in one piece.
        while let Some(at) = rest.find(|c: char| c.is_control() || c == '\\' || c == 'X') {
            f.write_str(&rest[..at])?;
            rest = &rest[at..];
            let c = rest.chars().next().unwrap_or_default();
            if c == 'X' && !rest.starts_with(crate::SENTINEL) {
                f.write_str("X")?;
            } else if c == '\\' {
                f.write_str("\\\\")?;
            } else {
                write!(f, "{}", c.escape_unicode())?;
            }
            rest = &rest[c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::LogSafe;

    #[test]
    fn log_safe_text_is_one_line_without_the_sentinel() {
        let cases = [
            ("4f0c1d2e", "4f0c1d2e"),
            ("", ""),
            (
                "a\nb\r\u{1b}[31mc\u{7f}",
                "a\\u{a}b\\u{d}\\u{1b}[31mc\\u{7f}",
            ),
            ("back\\slash \\u{a}", "back\\\\slash \\\\u{a}"),
            ("XX XXX_THE_END", "XX XXX_THE_END"),
            (
                "x\nXXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n",
                "x\\u{a}\\u{58}XX_THE_END_OF_A_WHISK_ACTIVATION_XXX\\u{a}",
            ),
            ("é✓", "é✓"),
        ];
        for (input, written) in cases {
            let text = LogSafe(input).to_string();
            assert_eq!(text, written, "{input:?}");
            assert!(!text.contains(crate::SENTINEL));
            assert!(!text.contains(|c: char| c.is_control()));
        }
    }
}
