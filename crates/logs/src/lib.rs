//! nginx error and access logs turned into counted, explained upstream
//! failures.
//!
//! The pieces, usable one by one:
//!
//! - [`error::parse_line`]: the error-log line grammar → [`error::ErrorEntry`].
//! - [`catalog::classify`]: the message catalogue, one table shared by every
//!   command → [`catalog::Classification`] (kind, SPEC cause, client
//!   status, explanation, next checks, fix, directives).
//! - [`access::Format::compile`]: any `log_format` compiled into a line
//!   parser (built-ins for `combined` and ingress-nginx's `upstreaminfo`),
//!   with the multi-value `$upstream_*` fields split per attempt.
//!
//! And the whole: [`analyze`] reads files (plain, `.gz`, stdin, rotated
//! sets), detects error vs access logs, scans them on all cores with
//! bounded memory, attributes every upstream error to one root cause
//! (`no live upstreams` to the failures that disabled the peers), joins
//! access-log 5xx to their error-log causes and returns a plain-data
//! [`LogReport`].

pub mod access;
mod analyze;
mod attrib;
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

pub use analyze::{AnalyzeError, Options, Progress, analyze};
pub use explain::{Explanation, explain};
pub use read::{Input, InputError};
pub use report::LogReport;
pub use scan::Locator;
pub use time::LocalTime;
