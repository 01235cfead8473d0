//! Access logs: any `log_format` compiled into a parser ([`Format`]), the
//! per-attempt `$upstream_*` values ([`upstream::attempts`]), and format
//! detection for a file whose format is not given.

mod format;
pub mod upstream;
mod vars;

pub use format::{
    AccessRecord, BUILTINS, COMBINED, Escape, Format, FormatError, LineError, MAIN, Span,
    UPSTREAMINFO, parse_f64,
};
pub use vars::Var;

/// Pick the format that parses most of `sample` lines, among `candidates`.
/// Ties go to the format with more variables (the more specific one).
/// Returns the index and the number of lines it parsed.
pub fn detect<'f>(candidates: &'f [Format], sample: &[&[u8]]) -> Option<(&'f Format, usize)> {
    let mut best: Option<(&Format, usize)> = None;
    for f in candidates {
        let ok = sample
            .iter()
            .filter(|l| f.parse(l).is_ok_and(|r| r.status().is_some()))
            .count();
        if ok == 0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((b, n)) => ok > n || (ok == n && f.var_count() > b.var_count()),
        };
        if better {
            best = Some((f, ok));
        }
    }
    best
}
