//! Debian's php-fpm as the FastCGI peer: a private pool (own config, pid
//! file, socket and port in a temp dir; stopped by pid), probed over TCP and
//! over a unix socket whose permissions deny the worker user.

use std::path::PathBuf;
use std::time::Duration;

use badgateway_cause::Cause;
use badgateway_lab::php_fpm::{PhpFpm, Pool, require_php_fpm};
use badgateway_probe::worker_attempt::is_root;
use badgateway_probe::{
    ConnectOutcome, ProbeOptions, Speaks, Target, Verdict, WorkerIdentity, probe_one,
};

use crate::support::dump;

/// A private php-fpm with a TCP pool and a unix-socket pool whose socket
/// is `root:root 0660` when running as root (so `nobody` may not use it).
struct Fpm {
    _fpm: PhpFpm,
    dir: tempfile::TempDir,
    port: u16,
}

impl Fpm {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("php.sock")
    }

    fn start(bin: &std::path::Path) -> Fpm {
        let mut last = None;
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("bgw-sock-")
                .tempdir()
                .unwrap();
            // Traversable by anyone: the socket's own mode must decide.
            std::fs::set_permissions(
                dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
            let port = badgateway_lab::free_port();
            let mut sock = Pool::new("sock", dir.path().join("php.sock").display().to_string());
            if is_root() {
                sock.owner = Some("root".into());
                sock.group = Some("root".into());
            }
            sock.mode = Some("0660".into());
            let tcp = Pool::new("tcp", format!("127.0.0.1:{port}"));
            match PhpFpm::start(bin, &[sock, tcp]) {
                Ok(fpm) => {
                    return Fpm {
                        _fpm: fpm,
                        dir,
                        port,
                    };
                }
                Err(e) => last = Some(e), // port race: try again
            }
        }
        panic!("php-fpm did not start: {last:?}");
    }
}

#[test]
fn php_fpm_speaks_fastcgi_and_answers_ping() {
    let Some(bin) = require_php_fpm() else { return };
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
    let Some(bin) = require_php_fpm() else { return };
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
    let Some(bin) = require_php_fpm() else { return };
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
