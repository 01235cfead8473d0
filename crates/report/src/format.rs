//! The `--format` values every command understands.

use std::fmt;
use std::str::FromStr;

/// An output format. Not every command supports every format; commands say
/// which ones they accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text (colours only on a terminal).
    Text,
    /// The SPEC's JSON contract.
    Json,
    /// Markdown for incident tickets.
    Markdown,
    /// SARIF 2.1.0 (only `config`).
    Sarif,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            "sarif" => Ok(Format::Sarif),
            _ => Err(format!(
                "unknown format {s:?} (expected text, json, markdown or sarif)"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
        })
    }
}
