//! Debian's php-fpm as the FastCGI peer: a private pool (own config, pid
//! file, socket and port in a temp dir; stopped by pid), probed over TCP and
//! over a unix socket whose permissions deny the worker user.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use badgateway_cause::Cause;
use badgateway_probe::worker_attempt::is_root;
use badgateway_probe::{
    ConnectOutcome, ProbeOptions, Speaks, Target, Verdict, WorkerIdentity, probe_one,
};

use crate::support::dump;

/// php-fpm, or `None` (skip with a note) when it is not installed; under
/// `CI=true` a missing php-fpm is a failure.
fn php_fpm() -> Option<PathBuf> {
    let found = std::fs::read_dir("/usr/sbin").ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("php-fpm"))
            })
            .max()
    });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("php-fpm is required under CI=true (install Debian's php-fpm)");
        }
        eprintln!("skipping: php-fpm not installed (run ./scripts/test to install it)");
    }
    found
}

struct Fpm {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Fpm {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("php.sock")
    }

    fn start(bin: &Path) -> Fpm {
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("bgw-fpm-")
                .tempdir()
                .unwrap();
            // Traversable by anyone: the socket's own mode must decide.
            std::fs::set_permissions(
                dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
            let port = badgateway_lab::free_port();
            let d = dir.path().display();
            let user = if is_root() {
                "user = nobody\ngroup = nogroup\n"
            } else {
                ""
            };
            let owner = if is_root() {
                "listen.owner = root\nlisten.group = root\n"
            } else {
                ""
            };
            let conf = format!(
                "[global]\npid = {d}/fpm.pid\nerror_log = {d}/error.log\ndaemonize = no\n\
                 [sock]\n{user}listen = {d}/php.sock\n{owner}listen.mode = 0660\n\
                 pm = static\npm.max_children = 1\nping.path = /ping\n\
                 [tcp]\n{user}listen = 127.0.0.1:{port}\npm = static\npm.max_children = 1\nping.path = /ping\n"
            );
            std::fs::write(dir.path().join("fpm.conf"), conf).unwrap();
            let child = Command::new(bin)
                .arg("-n")
                .arg("-F")
                .arg("-y")
                .arg(dir.path().join("fpm.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start php-fpm");
            let mut fpm = Fpm { child, dir, port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if fpm.socket().exists()
                    && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                {
                    return fpm;
                }
                if let Ok(Some(_)) = fpm.child.try_wait() {
                    break; // port race: try again
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            fpm.stop();
        }
        panic!("php-fpm did not start");
    }

    fn stop(&mut self) {
        badgateway_lab::proc::stop_child(&mut self.child, libc::SIGQUIT, Duration::from_secs(5));
    }
}

impl Drop for Fpm {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn php_fpm_speaks_fastcgi_and_answers_ping() {
    let Some(bin) = php_fpm() else { return };
    let fpm = Fpm::start(&bin);
    let t = Target::parse(&format!("fastcgi://127.0.0.1:{}", fpm.port)).unwrap();
    let r = probe_one(&t, &ProbeOptions::default());
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::Ok, Speaks::Fastcgi),
        "{}",
        dump(&r)
    );
    let f = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .fastcgi
        .as_ref()
        .unwrap();
    assert!(
        f.values.iter().any(|(k, _)| k == "FCGI_MPXS_CONNS"),
        "{}",
        dump(&r)
    );

    let r = probe_one(&t.with_fastcgi_ping("/ping"), &ProbeOptions::default());
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
    let f = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .fastcgi
        .as_ref()
        .unwrap();
    assert_eq!((f.status, f.body_prefix.as_str()), (Some(200), "pong"));
    assert_eq!(f.protocol_status_name(), Some("request-complete"));
    assert_eq!(r.attempts[0].http_status(), Some(200));
}

#[test]
fn http_to_php_fpm_is_a_mismatch() {
    let Some(bin) = php_fpm() else { return };
    let fpm = Fpm::start(&bin);
    let r = probe_one(
        &Target::parse(&format!("http://127.0.0.1:{}", fpm.port)).unwrap(),
        &ProbeOptions::with_timeout(Duration::from_millis(500)),
    );
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Fastcgi),
        "{}",
        dump(&r)
    );
}

#[test]
fn socket_that_denies_the_worker_user() {
    let Some(bin) = php_fpm() else { return };
    if !is_root() {
        eprintln!("skipping: needs root to make a root-owned socket that nobody cannot use");
        return;
    }
    let fpm = Fpm::start(&bin);
    let t = Target::parse(&format!("fastcgi://unix:{}:", fpm.socket().display())).unwrap();
    let mut opts = ProbeOptions {
        worker: Some(WorkerIdentity::lookup("nobody", Some("nogroup")).expect("nobody exists")),
        ..ProbeOptions::default()
    };
    let r = probe_one(&t, &opts);
    // badgateway itself (root) gets through and sees FastCGI...
    assert_eq!(r.attempts[0].connect, ConnectOutcome::Ok, "{}", dump(&r));
    assert_eq!(r.protocol, Speaks::Fastcgi);
    // ...but the worker does not.
    assert_eq!(r.verdict, Verdict::WorkerDenied, "{}", dump(&r));
    assert_eq!(r.cause, Some(Cause::SocketPermission));
    let w = r.worker.as_ref().unwrap();
    let d = w.computed.denied_by.as_ref().expect("computed denial");
    assert_eq!(
        (d.needs, d.class, d.mode.as_str()),
        ("write", "other", "0660")
    );
    assert_eq!(d.path, fpm.socket());
    let real = w.attempt.as_ref().expect("a real attempt as root");
    assert_eq!(
        (real.connect, real.errno),
        (ConnectOutcome::PermissionDenied, Some(13))
    );
    assert_eq!(r.as_worker(), Some((false, Some(13))));

    // The same socket with the worker as root is fine.
    opts.worker = Some(WorkerIdentity::lookup("root", None).unwrap());
    let r = probe_one(&t, &opts);
    assert_eq!(r.verdict, Verdict::Ok, "{}", dump(&r));
}
