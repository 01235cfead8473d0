//! `badgateway explain`: one error-log line (argument or stdin) explained.

use std::io::{Read, Write};

use badgateway_logs::explain::{entries, explain};
use badgateway_report::explain::{render_markdown, render_text};
use badgateway_report::{Format, Style};

use crate::args::{Common, ExplainArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// At most this many entries from stdin are explained.
const MAX_ENTRIES: usize = 50;

/// Run `badgateway explain`.
pub fn run(args: &ExplainArgs, common: &Common) -> CmdResult {
    let text: Vec<u8> = match &args.line {
        Some(l) => l.as_bytes().to_vec(),
        None => {
            let mut b = Vec::new();
            std::io::stdin()
                .take(16 << 20)
                .read_to_end(&mut b)
                .map_err(|e| Failure::Input(format!("cannot read stdin: {e}")))?;
            b
        }
    };
    let lines = entries(&text);
    if lines.is_empty() {
        return Err(Failure::Input(
            "nothing to explain: give an error-log line as the argument or on stdin".into(),
        ));
    }
    let xs: Vec<_> = lines.iter().take(MAX_ENTRIES).map(|l| explain(l)).collect();
    let style = Style::for_stdout(common.no_color);
    let out = match common.format {
        Format::Json => {
            let v = if xs.len() == 1 {
                serde_json::json!({"version": 1, "explanation": &xs[0]})
            } else {
                serde_json::json!({"version": 1, "explanations": &xs})
            };
            serde_json::to_string_pretty(&v).map_err(|e| Failure::Input(e.to_string()))? + "\n"
        }
        Format::Markdown => xs
            .iter()
            .map(render_markdown)
            .collect::<Vec<_>>()
            .join("\n---\n\n"),
        Format::Text => xs
            .iter()
            .map(|x| render_text(x, &style))
            .collect::<Vec<_>>()
            .join("\n────────\n\n"),
        Format::Sarif => {
            return Err(Failure::Input(
                "--format sarif is only for `badgateway config`; use text, json or markdown".into(),
            ));
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if lines.len() > MAX_ENTRIES && !common.quiet {
        eprintln!(
            "badgateway: explained the first {MAX_ENTRIES} of {} entries",
            lines.len()
        );
    }
    Ok(if xs.iter().any(|x| x.upstream_error) {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}
