//! The files of a large include glob (`include sites-enabled/*;` with
//! thousands of sites) parsed on worker threads while the loader splices
//! them into the tree: the loader reads each file and hands it to a worker
//! (round robin), then takes the parsed files back in order as the include
//! loop reaches them. Parsing overlaps with reading and splicing, and a
//! file's statement list is freed soon after it was parsed, so memory stays
//! flat however many files the glob matches.

use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::thread::JoinHandle;

use crate::ast::FileId;
use crate::error::ParseError;
use crate::parser::{Item, parse_items};

/// How many parsed files a worker may have waiting before it pauses (so
/// a worker that runs ahead does not pile up statement lists).
const AHEAD: usize = 64;

/// One file back from a worker.
pub(crate) struct Parsed {
    /// The file.
    pub(crate) id: FileId,
    /// Its bytes, handed back.
    pub(crate) text: Vec<u8>,
    /// Its statements, or its syntax error.
    pub(crate) items: Result<Vec<Item>, ParseError>,
}

/// Worker threads parsing some files of a glob.
pub(crate) struct Prefetch {
    /// The files handed over, in order (ids only grow).
    sent: Vec<FileId>,
    jobs: Vec<Sender<(FileId, Vec<u8>)>>,
    results: Vec<Receiver<Parsed>>,
    workers: Vec<JoinHandle<()>>,
}

impl Prefetch {
    /// Start `n` workers; `None` when the system cannot start threads (the
    /// caller parses in line).
    pub(crate) fn start(n: usize) -> Option<Prefetch> {
        let mut p = Prefetch {
            sent: Vec::new(),
            jobs: Vec::with_capacity(n),
            results: Vec::with_capacity(n),
            workers: Vec::with_capacity(n),
        };
        for _ in 0..n {
            let (job_tx, job_rx) = channel::<(FileId, Vec<u8>)>();
            let (done_tx, done_rx) = sync_channel::<Parsed>(AHEAD);
            let worker = std::thread::Builder::new()
                .name("conf-parse".into())
                .spawn(move || {
                    for (id, text) in job_rx {
                        let items = parse_items(&text, id);
                        if done_tx.send(Parsed { id, text, items }).is_err() {
                            return;
                        }
                    }
                })
                .ok()?;
            p.jobs.push(job_tx);
            p.results.push(done_rx);
            p.workers.push(worker);
        }
        Some(p)
    }

    /// Hand over a file (with a higher id than the ones before).
    pub(crate) fn send(&mut self, id: FileId, text: Vec<u8>) {
        debug_assert!(self.sent.last().is_none_or(|&l| l < id));
        let w = self.sent.len() % self.jobs.len();
        self.sent.push(id);
        // A worker only stops early when the loader has dropped its results.
        let _ = self.jobs[w].send((id, text));
    }

    /// No more files: workers stop once they are done.
    pub(crate) fn close(&mut self) {
        self.jobs.clear();
    }

    /// Which worker parses `id`, if it was handed over here.
    pub(crate) fn worker_of(&self, id: FileId) -> Option<usize> {
        let i = self.sent.binary_search(&id).ok()?;
        Some(i % self.results.len())
    }

    /// The next file back from worker `w` (files come back from each
    /// worker in the order they were handed over).
    pub(crate) fn next_from(&self, w: usize) -> Parsed {
        self.results[w]
            .recv()
            .expect("config parser threads do not panic")
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Dropped senders and receivers make every worker stop at once.
        self.jobs.clear();
        self.results.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
