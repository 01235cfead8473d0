//! Time buckets for the timeline, with bounded memory: buckets start at one
//! minute and widen (5 min, 15 min, 1 h, …) when a long span would make
//! too many.

use std::collections::BTreeMap;

use badgateway_cause::Cause;

use crate::LocalTime;
use crate::hash::FxMap;
use crate::report::{Bucket, Timeline};

pub(crate) const NCAUSE: usize = Cause::ALL.len();
const WIDTHS: [i64; 8] = [
    60,
    300,
    900,
    3600,
    6 * 3600,
    86_400,
    7 * 86_400,
    365 * 86_400,
];
const MAX_BUCKETS: usize = 20_000;

#[derive(Debug, Clone, Default)]
pub(crate) struct BucketAcc {
    pub causes: [u32; NCAUSE],
    pub errors: u32,
    pub requests: u32,
    pub s502: u32,
    pub s504: u32,
    pub s5xx: u32,
}

impl BucketAcc {
    fn add(&mut self, o: &BucketAcc) {
        for (a, b) in self.causes.iter_mut().zip(o.causes.iter()) {
            *a += b;
        }
        self.errors += o.errors;
        self.requests += o.requests;
        self.s502 += o.s502;
        self.s504 += o.s504;
        self.s5xx += o.s5xx;
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TimelineAcc {
    width: usize,
    map: FxMap<i64, BucketAcc>,
}

impl TimelineAcc {
    fn secs(&self) -> i64 {
        WIDTHS[self.width]
    }

    /// The bucket for time `t`.
    pub fn at(&mut self, t: LocalTime) -> &mut BucketAcc {
        if self.map.len() >= MAX_BUCKETS && self.width + 1 < WIDTHS.len() {
            self.widen(self.width + 1);
        }
        let k = t.0.div_euclid(self.secs());
        self.map.entry(k).or_default()
    }

    fn widen(&mut self, to: usize) {
        if to <= self.width {
            return;
        }
        let (old, new) = (self.secs(), WIDTHS[to]);
        let map = std::mem::take(&mut self.map);
        self.width = to;
        for (k, v) in map {
            self.map
                .entry((k * old).div_euclid(new))
                .or_default()
                .add(&v);
        }
    }

    pub fn merge(&mut self, mut o: TimelineAcc) {
        if o.width > self.width {
            self.widen(o.width);
        } else if self.width > o.width {
            o.widen(self.width);
        }
        for (k, v) in o.map {
            self.map.entry(k).or_default().add(&v);
        }
        while self.map.len() > MAX_BUCKETS && self.width + 1 < WIDTHS.len() {
            self.widen(self.width + 1);
        }
    }

    pub fn finish(self) -> Timeline {
        let secs = self.secs();
        let mut keys: Vec<_> = self.map.into_iter().collect();
        keys.sort_by_key(|(k, _)| *k);
        Timeline {
            bucket_seconds: u32::try_from(secs).unwrap_or(u32::MAX),
            buckets: keys
                .into_iter()
                .map(|(k, b)| {
                    let mut by_cause = BTreeMap::new();
                    for (i, &n) in b.causes.iter().enumerate() {
                        if n > 0 {
                            by_cause.insert(Cause::ALL[i].code().to_owned(), u64::from(n));
                        }
                    }
                    Bucket {
                        start: LocalTime(k * secs),
                        by_cause,
                        upstream_errors: u64::from(b.errors),
                        status_502: u64::from(b.s502),
                        status_504: u64::from(b.s504),
                        status_5xx: u64::from(b.s5xx),
                        requests: u64::from(b.requests),
                    }
                })
                .collect(),
        }
    }
}
