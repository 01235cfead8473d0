//! Stopping processes we started, by pid, politely first.

use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Send `sig` to `pid`. Only ever called with pids of children we spawned.
pub fn signal(pid: u32, sig: i32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Ask a child to stop with `sig` (e.g. SIGQUIT for nginx's graceful
/// shutdown, SIGTERM otherwise), wait up to `grace`, then SIGKILL it.
pub fn stop_child(child: &mut Child, sig: i32, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child.id(), sig);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}
