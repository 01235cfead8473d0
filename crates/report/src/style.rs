//! Colour for text output: on only when stdout is a terminal, never with
//! `--no-color` or a non-empty `NO_COLOR` (https://no-color.org).

use std::io::IsTerminal;

use badgateway_cause::Severity;

/// How to style text output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Whether to emit ANSI colours.
    pub color: bool,
}

impl Style {
    /// Decide for stdout: colour on a terminal unless disabled.
    pub fn for_stdout(no_color_flag: bool) -> Style {
        Style {
            color: !no_color_flag
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal(),
        }
    }

    /// Wrap `text` in the SGR `code` (e.g. `1;31`) when colouring.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Dim (secondary information).
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// A severity label in its colour (`CRITICAL` red, `WARNING` yellow).
    pub fn severity(&self, s: Severity) -> String {
        let (code, label) = match s {
            Severity::Critical => ("1;31", "CRITICAL"),
            Severity::Warning => ("1;33", "WARNING"),
            Severity::Info => ("1;36", "INFO"),
        };
        self.paint(code, label)
    }
}
