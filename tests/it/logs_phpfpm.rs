//! `badgateway logs` with a real PHP-FPM behind a real nginx: socket
//! permissions, a stopped FPM (socket gone), and PHP's own errors relayed
//! on FastCGI stderr, which are not upstream errors.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use badgateway_lab::proc::stop_child;
use badgateway_lab::{NginxBuilder, http, require_nginx};
use serde_json::Value;

use crate::util::{badgateway, stdout};

const SIGTERM: i32 = 15;

/// Debian's php-fpm binary. Under `CI=true` its absence fails the test.
fn php_fpm() -> Option<PathBuf> {
    let found = std::fs::read_dir("/usr/sbin").ok().and_then(|d| {
        let mut v: Vec<PathBuf> = d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("php-fpm"))
            })
            .collect();
        v.sort();
        v.pop()
    });
    if found.is_none() {
        assert!(std::env::var("CI").is_err(), "php-fpm is required under CI");
        eprintln!("skipping: php-fpm not installed (run ./scripts/test to install it)");
    }
    found
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

struct Fpm(Child);

impl Drop for Fpm {
    fn drop(&mut self) {
        stop_child(&mut self.0, SIGTERM, Duration::from_secs(5));
    }
}

#[test]
fn php_fpm_failures_and_php_errors() {
    let Some(nginx_bin) = require_nginx() else {
        return;
    };
    let Some(fpm_bin) = php_fpm() else { return };
    let root = running_as_root();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let www = d.join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::set_permissions(&www, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(www.join("ok.php"), "<?php echo 'ok';").unwrap();
    std::fs::write(www.join("fatal.php"), "<?php undefined_function_here();").unwrap();
    let user = if root {
        "user = nobody\ngroup = nogroup\n"
    } else {
        ""
    };
    let conf = format!(
        "[global]\nerror_log = {d}/fpm.log\ndaemonize = no\n\
         [open]\n{user}listen = {d}/open.sock\nlisten.mode = 0666\npm = static\npm.max_children = 2\n\
         catch_workers_output = yes\n\
         [closed]\n{user}listen = {d}/closed.sock\nlisten.mode = 0600\npm = static\npm.max_children = 1\n",
        d = d.display()
    );
    std::fs::write(d.join("fpm.conf"), conf).unwrap();
    let mut args = vec![
        "-F".to_owned(),
        "-y".into(),
        d.join("fpm.conf").display().to_string(),
        "-p".into(),
        d.display().to_string(),
    ];
    if root {
        args.push("-R".into());
    }
    let child = Command::new(&fpm_bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("php-fpm starts");
    let fpm = Fpm(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(d.join("open.sock").exists() && d.join("closed.sock").exists()) {
        assert!(
            Instant::now() < deadline,
            "php-fpm did not create its sockets"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let params = "fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                  fastcgi_param REQUEST_METHOD $request_method;
                  fastcgi_param SCRIPT_NAME $fastcgi_script_name;
                  fastcgi_param QUERY_STRING $query_string;";
    let nginx = NginxBuilder::new(
        nginx_bin,
        format!(
            "server {{ listen 127.0.0.1:@LISTEN@; server_name shop.example.net; root {www};
               location ^~ /closed/ {{ fastcgi_pass unix:{d}/closed.sock; {params} }}
               location ~ \\.php$ {{ fastcgi_pass unix:{d}/open.sock; {params} }} }}",
            www = www.display(),
            d = d.display()
        ),
    )
    .start()
    .expect("nginx starts");
    let get = |p: &str| http::get(nginx.addr(), p).map(|r| r.status).unwrap_or(0);
    assert_eq!(get("/ok.php"), 200);
    assert_eq!(get("/missing.php"), 404);
    assert_eq!(get("/fatal.php"), 500);
    let closed = get("/closed/x.php");
    // PHP-FPM stopped: its socket is gone.
    drop(fpm);
    assert!(!d.join("open.sock").exists());
    assert_eq!(get("/ok.php"), 502, "{}", nginx.error_log_text());
    assert!(nginx.wait_access_lines(5, Duration::from_secs(5)));

    let err = nginx.error_log.display().to_string();
    let o = badgateway(&["logs", &err, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let log = nginx.error_log_text();
    assert_eq!(r["by_cause"]["socket-missing"], 1, "{log}");
    if root {
        // nginx's worker (nobody) may not connect to a root-only socket.
        assert_eq!(closed, 502);
        assert_eq!(r["by_cause"]["socket-permission"], 1, "{log}");
        assert_eq!(r["upstream_errors"], 2);
    }
    // "Primary script unknown" and the PHP fatal error came on stderr:
    // evidence, not upstream errors.
    let stderr_relays = r["error_log"]["notable"]["fastcgi_stderr"]["count"]
        .as_u64()
        .unwrap_or(0);
    assert!(stderr_relays >= 2, "{log}");
    assert!(log.contains("Primary script unknown"), "{log}");
}
