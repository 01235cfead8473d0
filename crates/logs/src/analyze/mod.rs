//! [`analyze`]: inputs in, [`LogReport`] out.
//!
//! Inputs are opened and classified (error log, access log with its format,
//! or unknown) from their first 64 KiB, then read oldest first within each
//! kind: access logs first, so their 5xx can be indexed for the join, then
//! error logs. Plain files are cut into ranges scanned in parallel with
//! positioned reads; streams (gzip, stdin) are read in blocks that are
//! scanned in parallel. Chunk results are merged in file order, which is
//! where the order-dependent attribution happens. Memory is bounded by the
//! batch size, the caps on the breakdown maps and the join index.

mod build;
mod detect;
mod input;

use badgateway_cause::Cause;

use crate::LocalTime;
use crate::access::{Format, FormatError};
use crate::attrib::{Attributor, NoLive, Recent, vhost};
use crate::catalog::{ClientStatus, Kind};
use crate::join::{JoinIndex, MAX_ATTEMPTS, addr_hash};
use crate::read::{self, Input, Opened, Split};
use crate::report::{InputKind, InputReport, LogReport};
use crate::scan::access::AccessAcc;
use crate::scan::error::ErrorAcc;
use crate::scan::failure::{Event, Failure};
use crate::scan::{Locator, ScanCtx, bump_time};

pub use detect::Detected;

/// Progress of a long run, for a progress display.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The input being read.
    pub input: String,
    /// Bytes read so far from it.
    pub done: u64,
    /// Its size, when known (plain files).
    pub total: Option<u64>,
}

/// How to analyse.
pub struct Options<'a> {
    /// Skip entries before this.
    pub since: Option<LocalTime>,
    /// Skip entries after this.
    pub until: Option<LocalTime>,
    /// The access-log format to use for every access log: a built-in name
    /// (`combined`, `main`, `upstreaminfo`), a name from `log_formats`, or
    /// the format text itself (config syntax or bare).
    pub log_format: Option<String>,
    /// Named `log_format`s from the config, tried when detecting a format.
    pub log_formats: Vec<(String, String)>,
    /// Maps host + path to a location, for per-location accounting.
    pub locator: Option<&'a Locator<'a>>,
    /// Upstream groups and their peers (from the config), for attributing
    /// `no live upstreams`; without them peers are grouped by vhost.
    pub upstream_groups: Vec<(String, Vec<String>)>,
    /// How far back a `no live upstreams` looks for the failures that
    /// disabled the peers (the groups' `fail_timeout`; default 10 s).
    pub fail_window_secs: u32,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Called as input is read.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Rows kept in the top-N lists of the report.
    pub top: usize,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            since: None,
            until: None,
            log_format: None,
            log_formats: Vec::new(),
            locator: None,
            upstream_groups: Vec::new(),
            fail_window_secs: 10,
            threads: 0,
            progress: None,
            top: 20,
        }
    }
}

/// Why nothing could be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// No inputs were given.
    #[error("no log files given")]
    NoInputs,
    /// No input could be opened (the messages name each file).
    #[error("no input could be read: {}", .0.join("; "))]
    NothingReadable(Vec<String>),
    /// Inputs were read but none looks like an nginx error or access log.
    #[error("{}", .0.join("; "))]
    NothingRecognised(Vec<String>),
    /// The given `log_format` does not compile.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The worker pool could not start.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// Analyse error and access logs.
pub fn analyze(inputs: &[Input], opts: &Options<'_>) -> Result<LogReport, AnalyzeError> {
    if inputs.is_empty() {
        return Err(AnalyzeError::NoInputs);
    }
    let formats = detect::formats(opts)?;
    let mut warnings = Vec::new();
    let mut unreadable = Vec::new();
    let mut unknown = Vec::new();
    let mut reports: Vec<InputReport> = Vec::new();
    let mut opened: Vec<(Opened, Detected, usize)> = Vec::new();
    for input in inputs {
        let o = match read::open(input) {
            Ok(o) => o,
            Err(e) => {
                warnings.push(e.to_string());
                unreadable.push(e.to_string());
                reports.push(InputReport::failed(input.name(), e.to_string()));
                continue;
            }
        };
        let d = detect::detect(&o, &formats);
        if d.kind == InputKind::Unknown {
            let msg = detect::unknown_message(&o);
            warnings.push(msg.clone());
            unknown.push(msg.clone());
            reports.push(InputReport::new(&o.name, &d, o.gzip, Some(msg)));
            continue;
        }
        reports.push(InputReport::new(&o.name, &d, o.gzip, None));
        opened.push((o, d, reports.len() - 1));
    }
    if opened.is_empty() {
        return Err(if unknown.is_empty() {
            AnalyzeError::NothingReadable(unreadable)
        } else {
            unreadable.extend(unknown);
            AnalyzeError::NothingRecognised(unreadable)
        });
    }
    // Access logs first (their 5xx are indexed for the join), then error
    // logs; oldest first within each: first timestamp, then rotation number.
    opened.sort_by_key(|(o, d, i)| {
        (
            d.kind != InputKind::Access,
            d.first.is_none(),
            d.first,
            std::cmp::Reverse(o.rotation),
            *i,
        )
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| AnalyzeError::Threads(e.to_string()))?;
    let has_error = opened.iter().any(|(_, d, _)| d.kind == InputKind::Error);
    let has_access = opened.iter().any(|(_, d, _)| d.kind == InputKind::Access);
    let mut run = Run {
        opts,
        access: AccessAcc::default(),
        error: ErrorAcc::default(),
        join: JoinIndex::default(),
        join_causes: Vec::new(),
        attrib: Attributor::new(opts.fail_window_secs, &opts.upstream_groups),
        no_live: build::NoLiveAcc::default(),
        warnings,
    };
    // Report inputs in the order they are read; the ones not read last.
    let read_order: Vec<usize> = opened.iter().map(|(_, _, i)| *i).collect();
    pool.install(|| {
        for (o, d, idx) in opened {
            let rep = &mut reports[idx];
            if d.kind == InputKind::Access {
                let fmt = &formats.all[d.format.unwrap_or(0)];
                run.access_input(o, fmt, has_error, rep);
            } else {
                run.error_input(o, rep);
            }
        }
    });
    let mut ordered: Vec<InputReport> = Vec::with_capacity(reports.len());
    let mut taken = vec![false; reports.len()];
    for i in read_order {
        taken[i] = true;
        ordered.push(reports[i].clone());
    }
    ordered.extend(
        reports
            .into_iter()
            .zip(taken)
            .filter(|(_, t)| !t)
            .map(|(r, _)| r),
    );
    Ok(build::report(run, ordered, has_access, has_error))
}

impl InputReport {
    fn new(name: &str, d: &Detected, gzip: bool, error: Option<String>) -> InputReport {
        InputReport {
            path: name.to_owned(),
            kind: d.kind,
            format: d.format_name.clone(),
            gzip,
            lines: 0,
            bytes: 0,
            first: None,
            last: None,
            error,
        }
    }

    fn failed(name: String, error: String) -> InputReport {
        InputReport {
            path: name,
            kind: InputKind::Unknown,
            format: None,
            gzip: false,
            lines: 0,
            bytes: 0,
            first: None,
            last: None,
            error: Some(error),
        }
    }
}

/// Give the cause to the first candidate attempt not yet explained.
fn set_join_cause(join_causes: &mut [[u8; MAX_ATTEMPTS]], cands: &[(u32, u8)], cause: Cause) {
    for &(rec, attempt) in cands {
        if let Some(slots) = join_causes.get_mut(rec as usize)
            && let Some(s) = slots.get_mut(usize::from(attempt))
            && *s == 0
        {
            *s = cause as u8 + 1;
            return;
        }
    }
}

/// The ordered merge of error-log chunks: counts, then the chunk's events
/// (attribution of `no live upstreams`) and join matches.
struct Merge<'a> {
    error: &'a mut ErrorAcc,
    attrib: &'a mut Attributor,
    no_live: &'a mut build::NoLiveAcc,
    join_causes: &'a mut Vec<[u8; MAX_ATTEMPTS]>,
    join: &'a JoinIndex,
}

impl Merge<'_> {
    fn chunk(&mut self, mut c: ErrorAcc) {
        let events = std::mem::take(&mut c.events);
        let c_arena = std::mem::take(&mut c.arena);
        let joins = std::mem::take(&mut c.joins);
        self.error.merge(c);
        for m in joins {
            set_join_cause(self.join_causes, &m.cands, m.cause);
        }
        for ev in &events {
            match ev {
                Event::Disabled(d) => {
                    if let Some(cause) = d.cause {
                        self.attrib.disabled(Recent {
                            warning: d.warning,
                            time: d.time,
                            peer: arena(&c_arena, d.peer).into(),
                            vhost: vhost(arena(&c_arena, d.server), arena(&c_arena, d.scheme)),
                            cause,
                        });
                    }
                }
                Event::NoLive(n) => {
                    let group = arena(&c_arena, n.group);
                    let server = arena(&c_arena, n.server);
                    let (cause, peers) = self.attrib.attribute(&NoLive {
                        time: n.time.map(|t| t.0),
                        group,
                        vhost: vhost(server, arena(&c_arena, n.scheme)),
                    });
                    self.error.record(&Failure {
                        time: n.time,
                        cause,
                        kind: Kind::NoLiveUpstreams,
                        status: ClientStatus::Status(502),
                        upstream: group,
                        group: true,
                        server: Some(server),
                        location: n.location.clone(),
                        raw: arena(&c_arena, n.raw),
                        direct: false,
                    });
                    self.no_live.add(group, cause, &peers);
                    if let (Some(k), Some(t)) = (n.join_key, n.time) {
                        let cands = self.join.probe(k, t.0, Some(addr_hash(group)));
                        set_join_cause(self.join_causes, &cands, cause);
                    }
                }
            }
        }
    }
}

/// The bytes of an event span in a chunk's arena.
fn arena(a: &[u8], s: crate::scan::failure::Span) -> &[u8] {
    &a[s.0 as usize..(s.0 + s.1) as usize]
}

/// State of one analysis.
pub(crate) struct Run<'o> {
    pub opts: &'o Options<'o>,
    pub access: AccessAcc,
    pub error: ErrorAcc,
    pub join: JoinIndex,
    /// Per join record, per attempt: 0 or cause index + 1.
    pub join_causes: Vec<[u8; MAX_ATTEMPTS]>,
    pub attrib: Attributor,
    pub no_live: build::NoLiveAcc,
    pub warnings: Vec<String>,
}

impl Run<'_> {
    fn access_input(&mut self, o: Opened, fmt: &Format, index: bool, rep: &mut InputReport) {
        let lines0 = self.access.lines;
        let (mut first, mut last) = (None, None);
        // The scan only needs to know that 5xx are to be indexed.
        let wanted = JoinIndex::default();
        let cx = ScanCtx {
            since: self.opts.since,
            until: self.opts.until,
            locator: self.opts.locator,
            join: index.then_some(&wanted),
            failure_events: false,
        };
        let (access, join, join_causes) = (&mut self.access, &mut self.join, &mut self.join_causes);
        let got = input::read(
            self.opts,
            o,
            Split::Line,
            |acc: &mut AccessAcc, b| acc.scan_block(b, fmt, &cx),
            |l| fmt.parse(l).ok().and_then(|r| r.time()),
            &mut |mut c: AccessAcc| {
                bump_time(&mut first, &mut last, c.first);
                bump_time(&mut first, &mut last, c.last);
                for (k, r) in std::mem::take(&mut c.join_recs) {
                    if join.push(k, r) {
                        join_causes.push([0; MAX_ATTEMPTS]);
                    }
                }
                access.merge(c);
            },
        );
        self.finish_input(
            rep,
            self.access.lines - lines0,
            got.bytes,
            first,
            last,
            got.error,
        );
    }

    fn error_input(&mut self, o: Opened, rep: &mut InputReport) {
        let lines0 = self.error.lines;
        let (mut first, mut last) = (None, None);
        let cx = ScanCtx {
            since: self.opts.since,
            until: self.opts.until,
            locator: self.opts.locator,
            join: (!self.join.is_empty()).then_some(&self.join),
            failure_events: self.attrib.groups_known(),
        };
        let mut merge = Merge {
            error: &mut self.error,
            attrib: &mut self.attrib,
            no_live: &mut self.no_live,
            join_causes: &mut self.join_causes,
            join: &self.join,
        };
        let got = input::read(
            self.opts,
            o,
            Split::ErrorEntry,
            |acc: &mut ErrorAcc, b| acc.scan_block(b, &cx),
            crate::time::parse_error_time,
            &mut |c: ErrorAcc| {
                bump_time(&mut first, &mut last, c.first);
                bump_time(&mut first, &mut last, c.last);
                merge.chunk(c);
            },
        );
        self.finish_input(
            rep,
            self.error.lines - lines0,
            got.bytes,
            first,
            last,
            got.error,
        );
    }

    fn finish_input(
        &mut self,
        rep: &mut InputReport,
        lines: u64,
        bytes: u64,
        first: Option<LocalTime>,
        last: Option<LocalTime>,
        error: Option<String>,
    ) {
        rep.lines = lines;
        rep.bytes = bytes;
        rep.first = first;
        rep.last = last;
        if let Some(e) = error {
            self.warnings.push(e.clone());
            rep.error = Some(e);
        }
    }
}
