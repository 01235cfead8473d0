//! Scanning blocks of log text into counts: [`error::ErrorAcc`] for error
//! logs, [`access::AccessAcc`] for access logs. Accumulators are filled per
//! chunk in parallel and merged in file order.

pub(crate) mod access;
pub(crate) mod error;
pub(crate) mod failure;
pub(crate) mod timeline;

use crate::LocalTime;
use crate::catalog::Kind;
use crate::join::JoinIndex;

/// Maps a request's host and path to the location that serves it
/// (`app.conf:14 location /api/`), from the config.
pub type Locator<'a> = dyn Fn(&str, &str) -> Option<String> + Sync + 'a;

/// What every chunk scan needs to know.
pub(crate) struct ScanCtx<'a> {
    pub since: Option<LocalTime>,
    pub until: Option<LocalTime>,
    pub locator: Option<&'a Locator<'a>>,
    pub join: Option<&'a JoinIndex>,
    /// Emit an event for every failure (for attribution with known groups).
    pub failure_events: bool,
}

impl ScanCtx<'_> {
    #[inline]
    pub fn in_window(&self, t: LocalTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

/// Widen `[first, last]` to include `t`.
#[inline]
pub(crate) fn bump_time(
    first: &mut Option<LocalTime>,
    last: &mut Option<LocalTime>,
    t: Option<LocalTime>,
) {
    if let Some(t) = t {
        if first.is_none_or(|f| t < f) {
            *first = Some(t);
        }
        if last.is_none_or(|l| t > l) {
            *last = Some(t);
        }
    }
}

/// Count, time range and first sample of some kind of entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    pub count: u64,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
    pub sample: Option<(Box<[u8]>, Option<LocalTime>, Kind)>,
}

impl Evidence {
    pub fn add(&mut self, t: Option<LocalTime>, raw: &[u8], kind: Kind) {
        self.count += 1;
        bump_time(&mut self.first, &mut self.last, t);
        if self.sample.is_none() {
            self.sample = Some((raw.into(), t, kind));
        }
    }

    pub fn merge(&mut self, o: Evidence) {
        self.count += o.count;
        bump_time(&mut self.first, &mut self.last, o.first);
        bump_time(&mut self.first, &mut self.last, o.last);
        if self.sample.is_none() {
            self.sample = o.sample;
        }
    }
}
