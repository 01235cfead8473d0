//! Debian's uWSGI (python3 plugin) as the uwsgi peer: a private instance
//! with a two-line WSGI app, probed with `uwsgi://` (it answers) and with
//! `http://` (it drops the connection; identification finds uwsgi).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use badgateway_probe::{Speaks, Verdict};

use crate::support::{dump, probe};

fn uwsgi_available() -> bool {
    let ok = Path::new("/usr/bin/uwsgi").exists()
        && Path::new("/usr/lib/uwsgi/plugins/python3_plugin.so").exists();
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("uwsgi with the python3 plugin is required under CI=true");
        }
        eprintln!("skipping: uwsgi (uwsgi-core, uwsgi-plugin-python3) not installed");
    }
    ok
}

struct Uwsgi {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Uwsgi {
    fn drop(&mut self) {
        badgateway_lab::proc::stop_child(&mut self.child, libc::SIGINT, Duration::from_secs(5));
    }
}

fn start() -> Uwsgi {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "def application(env, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'hello']\n",
    )
    .unwrap();
    for _ in 0..3 {
        let port = badgateway_lab::free_port();
        let mut child = Command::new("/usr/bin/uwsgi")
            .args(["--plugin", "python3", "--socket"])
            .arg(format!("127.0.0.1:{port}"))
            .args([
                "--wsgi-file",
                "app.py",
                "--processes",
                "1",
                "--disable-logging",
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start uwsgi");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Uwsgi {
                    child,
                    port,
                    _dir: dir,
                };
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("uwsgi did not start");
}

#[test]
fn uwsgi_speaks_uwsgi_and_drops_http() {
    if !uwsgi_available() {
        return;
    }
    let srv = start();
    let r = probe(&format!("uwsgi://127.0.0.1:{}", srv.port), 2000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::Ok, Speaks::Uwsgi),
        "{}",
        dump(&r)
    );
    let cgi = r.attempts[0]
        .exchange
        .as_ref()
        .unwrap()
        .cgi
        .as_ref()
        .unwrap();
    assert_eq!(cgi.status, Some(200));

    let r = probe(&format!("http://127.0.0.1:{}", srv.port), 1000);
    assert_eq!(
        (r.verdict, r.protocol),
        (Verdict::ProtocolMismatch, Speaks::Uwsgi),
        "{}",
        dump(&r)
    );
    assert!(
        r.summary.contains("answers a uwsgi request with"),
        "{}",
        r.summary
    );
}
