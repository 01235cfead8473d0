//! nginx error and access logs turned into counted, explained upstream
//! failures: the engine behind `badgateway logs` and `badgateway explain`,
//! and the message catalogue that `diagnose` and `watch` share.
//!
//! # The pieces, usable one by one
//!
//! - [`error::parse_line`]: the error-log line grammar (time, level,
//!   `pid#tid`, `*conn`, message, errno, `while` action, the trailing
//!   `client`/`server`/`request`/`upstream`/`host`/`referrer` context) →
//!   [`error::ErrorEntry`]. Never fails; tolerates truncated, multi-line,
//!   binary and attacker-written entries.
//! - [`catalog::classify`]: the message catalogue → [`catalog::Classification`]
//!   (kind, SPEC [`badgateway_cause::Cause`], client status, phase, errno);
//!   [`catalog::entry`] gives the row's explanation, likely causes, next
//!   checks, fix and directives.
//! - [`explain::explain`]: one line explained, as plain data.
//! - [`access::Format::compile`]: any `log_format` (config syntax or bare,
//!   `escape=json` included; built-ins `combined`, `main`, `upstreaminfo`)
//!   compiled into a line parser; [`access::upstream::attempts`] splits the
//!   multi-value `$upstream_*` fields into the request's retry chain.
//!
//! # The whole
//!
//! [`analyze`] reads files (plain, `.gz`, `-` for stdin, rotated sets in time
//! order), detects error vs access logs, seeks to a `--since`/`--until`
//! window, scans on all cores with bounded memory, attributes every
//! upstream error to one root cause (`no live upstreams` to the failures
//! that disabled the peers; a premature close on a reused keepalive
//! connection to `keepalive-race` when the access log shows the retry on
//! the same server succeeding), joins access-log 5xx to their error-log
//! causes, and returns a [`LogReport`]: plain serialisable data whose top
//! level is the SPEC's `logs --format json` contract.
//!
//! ```no_run
//! use badgateway_logs::{Input, Options, analyze};
//!
//! let report = analyze(
//!     &[Input::from_arg("/var/log/nginx/error.log"), Input::from_arg("/var/log/nginx/access.log")],
//!     &Options { log_format: Some("combined".into()), ..Options::default() },
//! )?;
//! for c in &report.error_log.causes {
//!     println!("{} {} ({:.0}%)", c.cause, c.count, c.share * 100.0);
//! }
//! # Ok::<(), badgateway_logs::AnalyzeError>(())
//! ```
//!
//! The crate knows nothing of the config parser: callers that have the
//! config pass named `log_format`s ([`Options::log_formats`]), upstream
//! groups ([`Options::upstream_groups`]) and a locator from host and path
//! to a location ([`Options::locator`]).

pub mod access;
mod analyze;
mod attrib;
mod bytes;
pub mod catalog;
pub mod errno;
pub mod error;
pub mod explain;
#[macro_use]
mod find;
mod hash;
mod join;
pub mod read;
pub mod report;
mod scan;
pub mod text;
pub mod time;

pub use analyze::{AnalyzeError, Detected, Options, Progress, analyze};
pub use explain::{Explanation, explain};
pub use read::{Input, InputError, last_entry_time};
pub use report::LogReport;
pub use scan::Locator;
pub use time::LocalTime;
