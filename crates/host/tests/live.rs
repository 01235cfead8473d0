//! Host inspection against real processes: a private nginx (lab harness)
//! and a real PHP-FPM master with its own config, socket and log in a
//! temporary directory. Nothing here is mocked; every process started is
//! stopped by pid.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use badgateway_host::net::{Acceptance, Nearness};
use badgateway_host::users::{Access, Grant, Need};
use badgateway_host::{CollectOptions, HostFacts, SkipReason};
use badgateway_lab::NginxBuilder;
use badgateway_lab::proc::stop_child;

/// Debian's php-fpm binary. Under `CI=true` a missing one fails the test.
fn require_php_fpm() -> Option<PathBuf> {
    let found = fs::read_dir("/usr/sbin").ok().and_then(|d| {
        d.filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("php-fpm"))
            })
            .min()
    });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("php-fpm is required under CI=true (install Debian's php-fpm)");
        }
        eprintln!("skipping: php-fpm not installed");
    }
    found
}

/// These scenarios need root: a root-owned socket, nginx workers dropping
/// to `nobody`, PHP-FPM switching to its pool user.
fn running_as_root() -> bool {
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false);
    if !root {
        eprintln!("skipping: this scenario needs root (socket ownership, user switching)");
    }
    root
}

/// A PHP-FPM master we started, stopped by pid on drop.
struct Fpm {
    child: Child,
    dir: tempfile::TempDir,
    conf: PathBuf,
    socket: PathBuf,
}

impl Fpm {
    /// One pool `lab` as `nobody`, its socket `root:root` with `mode`, two
    /// static children.
    fn start(bin: &Path, mode: &str, dir_mode: u32) -> Fpm {
        Fpm::start_with(bin, mode, dir_mode, "pm = static\npm.max_children = 2\n")
    }

    /// The same with other process-manager lines.
    fn start_with(bin: &Path, mode: &str, dir_mode: u32, pm: &str) -> Fpm {
        let dir = tempfile::Builder::new()
            .prefix("bgw-fpm-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(dir_mode)).unwrap();
        let p = dir.path();
        let socket = p.join("lab-fpm.sock");
        let conf = p.join("php-fpm.conf");
        fs::write(
            &conf,
            format!(
                "[global]\npid = {p}/fpm.pid\nerror_log = {p}/fpm.log\ndaemonize = no\n\n\
                 [lab]\nuser = nobody\ngroup = nogroup\nlisten = {sock}\nlisten.owner = root\n\
                 listen.group = root\nlisten.mode = {mode}\nlisten.backlog = 7\n\
                 request_terminate_timeout = 30s\n{pm}",
                p = p.display(),
                sock = socket.display(),
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-y")
            .arg(&conf)
            .arg("-p")
            .arg(p)
            .arg("-F")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let fpm = Fpm {
            child,
            dir,
            conf,
            socket,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(fpm.socket.exists() && fpm.log().contains("ready to handle connections")) {
            assert!(
                Instant::now() < deadline,
                "php-fpm did not start: {}",
                fpm.log()
            );
            sleep(Duration::from_millis(20));
        }
        fpm
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("fpm.log")).unwrap_or_default()
    }
}

impl Drop for Fpm {
    fn drop(&mut self) {
        // php-fpm's graceful stop, to our own child by pid.
        stop_child(&mut self.child, libc::SIGQUIT, Duration::from_secs(5));
    }
}

fn collect(extra_fpm: &Path, nginx_test: bool, config_files: Vec<PathBuf>) -> HostFacts {
    HostFacts::collect(&CollectOptions {
        run_nginx_test: nginx_test,
        php_fpm_configs: vec![extra_fpm.to_path_buf()],
        config_files,
        ..CollectOptions::default()
    })
}

const SERVER: &str = "server {\n  listen 127.0.0.1:@LISTEN@;\n  listen [::1]:@LISTEN@;\n  \
                      listen unix:@PREFIX@/nginx.sock;\n  location / { return 204; }\n}\n";

#[test]
fn nginx_and_php_fpm_seen_as_nginx_worker_sees_them() {
    let Some(nginx_bin) = badgateway_lab::require_nginx() else {
        return;
    };
    let Some(fpm_bin) = require_php_fpm() else {
        return;
    };
    if !running_as_root() {
        return;
    }
    let nginx = NginxBuilder::new(&nginx_bin, SERVER)
        .workers(2)
        .start()
        .unwrap();
    let fpm = Fpm::start(&fpm_bin, "0660", 0o755);
    let facts = collect(&fpm.conf, false, vec![]);

    // nginx: master, two workers, -c/-p from the rewritten title.
    let inst = facts
        .nginx_instance(nginx.pid())
        .expect("our nginx master is found");
    assert_eq!(inst.args.config.as_deref(), Some(nginx.conf_path.as_path()));
    assert_eq!(inst.args.prefix.as_deref(), Some(nginx.prefix()));
    assert_eq!(
        inst.args.error_log.as_deref(),
        Some(nginx.error_log.as_path())
    );
    assert_eq!(inst.workers.len(), 2);
    assert!(inst.workers.iter().all(|w| w.ppid == nginx.pid()));
    assert_eq!(inst.binary.as_deref(), Some(nginx_bin.as_path()));
    let limits = facts.nofile_limits(nginx.pid());
    assert_eq!(limits.len(), 3);
    assert!(
        limits
            .iter()
            .all(|(_, _, l)| l.is_some_and(|l| l.soft.is_some()))
    );
    assert!(inst.master.open_fds.unwrap() > 3);
    let (start, reload) = facts.master_times(nginx.pid()).unwrap();
    assert!(start.unwrap() <= reload.unwrap());
    assert!(
        start.unwrap().0 > facts.collected_at.0 - 60_000,
        "start time is recent"
    );
    assert_eq!(
        facts.nginx_for_config(&nginx.conf_path).unwrap().master.pid,
        nginx.pid()
    );

    // Listeners mapped to the master and both workers.
    let pids = inst.pids();
    let v4 = facts.tcp_accepting(nginx.addr());
    assert_eq!(v4.len(), 1, "{v4:?}");
    assert_eq!(v4[0].1, Acceptance::Exact);
    let owner_pids: Vec<u32> = v4[0].0.owners.iter().map(|o| o.pid).collect();
    for p in &pids {
        assert!(
            owner_pids.contains(p),
            "pid {p} holds the listener: {owner_pids:?}"
        );
    }
    assert!(v4[0].0.owners.iter().all(|o| o.comm == "nginx"));
    assert_eq!(v4[0].0.backlog, Some(511), "nginx's default backlog");
    let v6: std::net::SocketAddr = format!("[::1]:{}", nginx.port).parse().unwrap();
    let l6 = facts.tcp_accepting(v6);
    assert_eq!(l6.len(), 1);
    assert_eq!(l6[0].0.v6only, Some(true), "nginx sets ipv6only=on");
    // Nothing on the next port of 127.0.0.2, but nginx on the same port
    // of another loopback address and family.
    let other: std::net::SocketAddr = format!("127.0.0.2:{}", nginx.port).parse().unwrap();
    assert!(facts.tcp_accepting(other).is_empty());
    let near = facts.tcp_near(other);
    assert_eq!(near[0].1, Nearness::OtherAddress);
    assert_eq!(near[0].0.addr, nginx.addr());
    assert!(
        near.iter()
            .any(|(l, n)| *n == Nearness::OtherFamily && l.addr == v6)
    );
    let sock = nginx.prefix().join("nginx.sock");
    let ul = facts.unix_listener(&sock).expect("nginx's unix listener");
    assert!(ul.owners.iter().any(|o| o.pid == nginx.pid()));
    assert_eq!(ul.backlog, Some(511));

    // PHP-FPM: the master, the pool, its socket as configured.
    let instances = facts.php_fpm.found().expect("php-fpm facts");
    let fi = instances
        .iter()
        .find(|i| i.config_path == fpm.conf)
        .expect("our php-fpm config");
    assert_eq!(fi.master_pid, Some(fpm.child.id()));
    assert_eq!(fi.workers.get("lab"), Some(&2));
    let (_, pool) = facts.fpm_pool_on_path(&fpm.socket).unwrap();
    assert_eq!(pool.max_children, Some(2));
    assert_eq!(pool.listen_backlog, 7);
    assert_eq!(pool.request_terminate_timeout, Some(30));
    assert_eq!(pool.pm.as_deref(), Some("static"));
    assert_eq!(pool.setting("listen.mode").unwrap().line, 12);
    let fs_ = fi.sockets.iter().find(|s| s.pool == "lab").unwrap();
    let st = fs_.chain.target_stat().expect("socket exists");
    assert_eq!((st.uid, st.gid, st.mode), (0, 0, 0o660));
    assert_eq!(fs_.listening, Some(true));
    assert_eq!(fs_.backlog, Some(7), "listen.backlog reaches the kernel");
    assert_eq!(fs_.accept_queue, Some(0));
    let log = fi.log.found().expect("php-fpm log read");
    assert!(log.last_ready.is_some());

    // nginx's workers run as nobody (master is root, no `user`): they may
    // not connect to a 0660 root:root socket; root may.
    let ours = fs_
        .nginx_access
        .iter()
        .find(|a| a.nginx_master == nginx.pid())
        .unwrap();
    assert_eq!(ours.user, "nobody");
    assert!(matches!(
        &ours.access,
        Access::Denied { need: Need::Write, class: Grant::Other, path, .. } if *path == fpm.socket
    ));
    let nobody = facts.credentials_for("nobody", None).unwrap();
    assert!(matches!(
        facts.unix_access(&nobody, &fpm.socket),
        Access::Denied { .. }
    ));
    let root = facts.credentials_for("root", None).unwrap();
    assert_eq!(
        facts.unix_access(&root, &fpm.socket),
        Access::Allowed { via: Grant::Root }
    );

    // The nearby-socket suggestion for a wrong PHP version in the path.
    let wrong = fpm.dir.path().join("lab-fpm8.1.sock");
    let near = facts.nearby_unix_sockets(&wrong);
    assert!(
        near.iter()
            .any(|n| n.path == fpm.socket && n.listening == Some(true))
    );

    // The JSON serialises.
    let json = serde_json::to_value(&facts).unwrap();
    assert!(json["nginx"]["found"]["instances"].is_array());
}

#[test]
fn socket_dir_without_search_bit_is_named() {
    let Some(fpm_bin) = require_php_fpm() else {
        return;
    };
    if !running_as_root() {
        return;
    }
    // A 0666 socket inside a 0700 root-owned directory.
    let fpm = Fpm::start(&fpm_bin, "0666", 0o700);
    let facts = collect(&fpm.conf, false, vec![]);
    let nobody = facts.credentials_for("nobody", None).unwrap();
    match facts.unix_access(&nobody, &fpm.socket) {
        Access::Denied { path, need, .. } => {
            assert_eq!(path, fpm.dir.path());
            assert_eq!(need, Need::Search);
        }
        other => panic!("expected a denial by the directory: {other:?}"),
    }
}

#[test]
fn edited_config_is_stale_until_reload_and_broken_config_fails_test() {
    let Some(nginx_bin) = badgateway_lab::require_nginx() else {
        return;
    };
    let Some(fpm_bin) = require_php_fpm() else {
        return;
    };
    if !running_as_root() {
        return;
    }
    let fpm = Fpm::start(&fpm_bin, "0660", 0o755);
    let nginx = NginxBuilder::new(&nginx_bin, SERVER).start().unwrap();
    let files = vec![nginx.conf_path.clone()];
    let stale = |f: &HostFacts| {
        f.staleness
            .found()
            .unwrap()
            .iter()
            .find(|s| s.master_pid == nginx.pid())
            .unwrap()
            .clone()
    };

    let facts = collect(&fpm.conf, true, files.clone());
    let s = stale(&facts);
    assert!(s.changed_after_reload.is_empty(), "{s:?}");
    let t = s.nginx_test.found().expect("nginx -t ran");
    assert!(t.ok, "{t:?}");

    // Edit after the start (beyond the clock tolerance), do not reload.
    sleep(Duration::from_millis(1700));
    let text = fs::read_to_string(&nginx.conf_path).unwrap();
    fs::write(&nginx.conf_path, format!("{text}\n# edited\n")).unwrap();
    let s = stale(&collect(&fpm.conf, false, files.clone()));
    assert_eq!(s.changed_after_reload.len(), 1);
    assert_eq!(s.changed_after_reload[0].path, nginx.conf_path);
    assert_eq!(s.nginx_test.skipped().unwrap().why, SkipReason::Disabled);

    // Reload: new workers, the edit is live.
    let before = collect(&fpm.conf, false, vec![])
        .nginx_instance(nginx.pid())
        .unwrap()
        .workers[0]
        .pid;
    assert!(nginx.reload());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let f = collect(&fpm.conf, false, files.clone());
        let w = &f.nginx_instance(nginx.pid()).unwrap().workers;
        if !w.is_empty() && w.iter().all(|w| w.pid != before) {
            assert!(stale(&f).changed_after_reload.is_empty());
            break;
        }
        assert!(Instant::now() < deadline, "workers were not replaced");
        sleep(Duration::from_millis(50));
    }

    // Break the config: nginx -t names the file and line.
    sleep(Duration::from_millis(1700));
    let text = fs::read_to_string(&nginx.conf_path).unwrap();
    fs::write(
        &nginx.conf_path,
        format!("{text}\nthis_is_not_a_directive on;\n"),
    )
    .unwrap();
    let s = stale(&collect(&fpm.conf, true, files));
    assert_eq!(s.changed_after_reload.len(), 1);
    let t = s.nginx_test.found().unwrap();
    assert!(!t.ok);
    let e = t.first_error().unwrap();
    assert_eq!(e.level.as_deref(), Some("emerg"));
    assert_eq!(e.file.as_deref(), Some(nginx.conf_path.as_path()));
    assert!(e.text.contains("this_is_not_a_directive"));
    let lines = fs::read_to_string(&nginx.conf_path)
        .unwrap()
        .lines()
        .count();
    assert_eq!(e.line, Some(lines));
}

/// One FastCGI GET of `script` over a unix socket; returns the bytes that
/// came back (empty when the worker was killed).
fn fastcgi_get(socket: &Path, script: &Path) -> Vec<u8> {
    use std::io::{Read, Write};
    let record = |kind: u8, body: &[u8]| {
        let mut r = vec![
            1,
            kind,
            0,
            1,
            (body.len() >> 8) as u8,
            body.len() as u8,
            0,
            0,
        ];
        r.extend_from_slice(body);
        r
    };
    let mut params = Vec::new();
    let script = script.display().to_string();
    for (k, v) in [
        ("SCRIPT_FILENAME", script.as_str()),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", "/slow.php"),
        ("REQUEST_URI", "/slow.php"),
    ] {
        params.extend_from_slice(&[k.len() as u8, v.len() as u8]);
        params.extend_from_slice(k.as_bytes());
        params.extend_from_slice(v.as_bytes());
    }
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = record(1, &[0, 1, 0, 0, 0, 0, 0, 0]);
    req.extend(record(4, &params));
    req.extend(record(4, &[]));
    req.extend(record(5, &[]));
    s.write_all(&req).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn saturated_pool_and_killed_requests_show_in_its_log() {
    let Some(fpm_bin) = require_php_fpm() else {
        return;
    };
    if !running_as_root() {
        return;
    }
    let fpm = Fpm::start_with(
        &fpm_bin,
        "0660",
        0o755,
        "pm = dynamic\npm.max_children = 1\npm.start_servers = 1\npm.min_spare_servers = 1\n\
         pm.max_spare_servers = 1\nrequest_terminate_timeout = 1s\n",
    );
    let script = fpm.dir.path().join("slow.php");
    fs::write(&script, "<?php sleep(3); echo 'done';\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    // Two slow requests at once on a pool of one child.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (sock, script) = (fpm.socket.clone(), script.clone());
            std::thread::spawn(move || fastcgi_get(&sock, &script))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let facts = collect(&fpm.conf, false, vec![]);
        let fi = facts
            .php_fpm
            .found()
            .unwrap()
            .iter()
            .find(|i| i.config_path == fpm.conf)
            .unwrap()
            .clone();
        let stats = fi
            .log
            .found()
            .and_then(|l| l.pools.get("lab").cloned())
            .unwrap_or_default();
        if stats.max_children_reached >= 1 && stats.timeouts >= 1 {
            break stats;
        }
        assert!(Instant::now() < deadline, "php-fpm log: {}", fpm.log());
        sleep(Duration::from_millis(200));
    };
    assert!(stats.last_max_children.is_some());
    assert_eq!(
        stats.signaled, stats.timeouts,
        "each timed-out child is killed"
    );
}
