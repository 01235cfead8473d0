//! The descriptor budget for concurrent probes: each probe holds one socket
//! at a time, so the concurrency cap must stay under `RLIMIT_NOFILE`. The
//! soft limit of this process (never the host's) is raised toward the hard
//! limit when the cap needs it, as `ulimit -n` would.

#![allow(unsafe_code)] // getrlimit(2)/setrlimit(2) on our own process via libc

/// Descriptors kept free for everything else the process does.
const RESERVE: u64 = 64;

/// The largest concurrency this process can afford, after trying to raise
/// its soft `RLIMIT_NOFILE` to fit `wanted` sockets.
pub fn afford(wanted: usize) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid rlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return wanted;
    }
    let need = wanted as u64 + RESERVE;
    if lim.rlim_cur != libc::RLIM_INFINITY && lim.rlim_cur < need {
        let raised = libc::rlimit {
            rlim_cur: need.min(lim.rlim_max),
            rlim_max: lim.rlim_max,
        };
        // SAFETY: raising our own soft limit up to the hard limit is always
        // permitted; on failure the old limit stays.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = raised.rlim_cur;
        }
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        return wanted;
    }
    let budget = lim.rlim_cur.saturating_sub(RESERVE).max(1);
    wanted.min(usize::try_from(budget).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_caps_are_affordable() {
        assert_eq!(super::afford(8), 8);
        assert!(super::afford(usize::MAX / 2) >= 1);
    }
}
