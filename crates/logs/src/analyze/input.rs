//! Reading one input into per-chunk accumulators, in order: plain files as
//! parallel ranges with positioned reads (after seeking to the time window),
//! streams as blocks scanned in parallel batches.

use std::cell::RefCell;

use rayon::prelude::*;

use super::{Options, Progress, detect};
use crate::LocalTime;
use crate::read::{self, Blocks, Opened, RangeReader, Split, Src};

/// Bytes per parallel task on plain files.
const TASK: u64 = 8 << 20;
/// Bytes per block on streams.
const BLOCK: usize = 4 << 20;

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A file not modified for this long is read through memory maps: it is
/// not being written, so it is not about to be truncated under us (a
/// mapped page past a new end of file would kill the process with SIGBUS).
/// Files written recently (a live log that logrotate may `copytruncate`)
/// are read with positioned reads, which just come up short.
const SETTLED_SECS: u64 = 120;

fn settled(file: &std::fs::File) -> bool {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() >= SETTLED_SECS)
}

/// Map `[a, b)` of a settled file, after checking it is still that long.
#[allow(unsafe_code)]
fn map_range(file: &std::fs::File, a: u64, b: u64) -> Option<memmap2::Mmap> {
    if file.metadata().ok()?.len() < b {
        return None;
    }
    let len = usize::try_from(b - a).ok()?;
    // SAFETY: the mapping is read-only and private to this task; the file
    // was last modified minutes ago and is at least `b` bytes long now (see
    // `settled`). A concurrent truncation is the one way this could fault,
    // which is why recently written files are never mapped.
    let map = unsafe { memmap2::MmapOptions::new().offset(a).len(len).map(file) }.ok()?;
    Some(map)
}

/// What reading one input produced (the chunks went to the caller's sink).
pub(crate) struct Got {
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Why reading stopped early, phrased for a person.
    pub error: Option<String>,
}

/// Read `o`, scanning blocks with `scan` into fresh accumulators that are
/// handed to `sink` in file order as each parallel batch completes (so
/// memory holds one batch, whatever the input size).
pub(crate) fn read<A, F, T>(
    opts: &Options<'_>,
    o: Opened,
    split: Split,
    scan: F,
    time_of: T,
    sink: &mut dyn FnMut(A),
) -> Got
where
    A: Default + Send,
    F: Fn(&mut A, &[u8]) + Sync,
    T: Fn(&[u8]) -> Option<LocalTime> + Sync,
{
    let name = o.name;
    let gzip = o.gzip;
    let head_error = o.error;
    let progress = |done, total| {
        if let Some(p) = opts.progress {
            p(&Progress {
                input: name.clone(),
                done,
                total,
            });
        }
    };
    match o.src {
        Src::File { file, len } => {
            let (lo, hi) = detect::window(&file, len, split, opts, &time_of);
            let settled = settled(&file);
            let ntasks = (hi - lo).div_ceil(TASK);
            let batch = (rayon::current_num_threads() as u64 * 4).max(4);
            let mut bytes = 0u64;
            let mut t = 0;
            while t < ntasks {
                let res: Vec<(A, u64)> = (t..(t + batch).min(ntasks))
                    .into_par_iter()
                    .map(|i| {
                        let s = lo + i * TASK;
                        let e = (s + TASK).min(hi);
                        let mut acc = A::default();
                        let mut n = 0;
                        // No line starts in this range: it belongs to the one before.
                        let Some(a) = read::boundary(&file, s, lo, hi, split, e) else {
                            return (acc, n);
                        };
                        let b = read::boundary(&file, e, lo, hi, split, hi).unwrap_or(hi);
                        if a < b
                            && settled
                            && b - a <= 4 * TASK
                            && let Some(map) = map_range(&file, a, b)
                        {
                            scan(&mut acc, &map);
                            return (acc, b - a);
                        }
                        if a < b {
                            BUF.with(|buf| {
                                let mut buf = buf.borrow_mut();
                                let src = RangeReader {
                                    file: &file,
                                    pos: a,
                                    end: b,
                                };
                                let mut blocks =
                                    Blocks::new(src, &mut buf, (TASK + TASK / 4) as usize, split);
                                while let Some(block) = blocks.next_block() {
                                    scan(&mut acc, block);
                                }
                                n = blocks.bytes;
                            });
                        }
                        (acc, n)
                    })
                    .collect();
                for (acc, n) in res {
                    bytes += n;
                    sink(acc);
                }
                t += batch;
                progress(lo + bytes, Some(len));
            }
            let now = file.metadata().map_or(len, |m| m.len());
            let error = (bytes < hi - lo).then(|| {
                format!(
                    "{name}: the file shrank from {len} to {now} bytes while being read \
                     (rotated with copytruncate?); analysed what could be read"
                )
            });
            Got { bytes, error }
        }
        Src::Stream(s) => {
            let mut buf = Vec::new();
            let mut blocks = Blocks::new(s, &mut buf, BLOCK, split);
            let batch = (rayon::current_num_threads() * 2).max(2);
            loop {
                let mut pending: Vec<Vec<u8>> = Vec::with_capacity(batch);
                while pending.len() < batch {
                    match blocks.next_block() {
                        Some(b) => pending.push(b.to_vec()),
                        None => break,
                    }
                }
                if pending.is_empty() {
                    break;
                }
                let res: Vec<A> = pending
                    .par_iter()
                    .map(|b| {
                        let mut acc = A::default();
                        scan(&mut acc, b);
                        acc
                    })
                    .collect();
                for acc in res {
                    sink(acc);
                }
                progress(blocks.bytes, None);
            }
            let bytes = blocks.bytes;
            let error = blocks.error.take().or(head_error).map(|e| {
                if gzip {
                    format!(
                        "{name}: gzip data is damaged or truncated after {bytes} decompressed \
                         bytes ({e}); analysed what came before"
                    )
                } else {
                    format!(
                        "{name}: read error after {bytes} bytes ({e}); analysed what came before"
                    )
                }
            });
            Got { bytes, error }
        }
    }
}
