//! Parsers on files captured from a real machine (`testdata/`, regenerated
//! by `testdata/capture.py`), and the whole collection pointed at the
//! captured tree as if it were `/`.

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use badgateway_host::kernlog::{parse_journal_short_unix, parse_kmsg};
use badgateway_host::net::{Acceptance, TcpState, UnixKind, parse_tcp_all, parse_unix_all};
use badgateway_host::nginx::parse_nginx_v;
use badgateway_host::oom::find_oom_kills;
use badgateway_host::phpfpm::{FpmListen, parse_fpm_log, read_fpm_config, summarize_fpm_log};
use badgateway_host::policy::firewall::{FirewallSource, Verdict, parse_iptables_s, parse_nft};
use badgateway_host::policy::{SelinuxMode, collect_apparmor, collect_selinux};
use badgateway_host::proc::{parse_limits, parse_stat, parse_status};
use badgateway_host::reader::Root;
use badgateway_host::time::UnixMillis;
use badgateway_host::{CollectOptions, HostFacts, SkipReason};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn read(rel: &str) -> String {
    fs::read_to_string(testdata(rel)).unwrap()
}

fn capture_env() -> HashMap<String, String> {
    read("root/capture.env")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn env_pid(env: &HashMap<String, String>, k: &str) -> u32 {
    env[k].parse().unwrap()
}

#[test]
fn captured_proc_files_parse() {
    let env = capture_env();
    let master = env_pid(&env, "NGINX_MASTER");
    let stat = parse_stat(&read(&format!("root/proc/{master}/stat"))).unwrap();
    assert_eq!(stat.pid, master);
    assert_eq!(stat.comm, "nginx");
    let status = parse_status(&read(&format!("root/proc/{master}/status"))).unwrap();
    assert_eq!(status.uid, [0; 4]);
    let limits = parse_limits(&read(&format!("root/proc/{master}/limits"))).unwrap();
    assert_eq!(limits.rows.len(), 16);
    assert!(limits.nofile().unwrap().soft.is_some());
}

#[test]
fn captured_socket_tables_parse() {
    let env = capture_env();
    let port: u16 = env["PORT"].parse().unwrap();
    let tcp = parse_tcp_all(&read("root/proc/net/tcp")).unwrap();
    let listen: Vec<_> = tcp.iter().filter(|e| e.state == TcpState::Listen).collect();
    assert_eq!(listen.len(), 1);
    assert_eq!(listen[0].local, SocketAddr::from(([127, 0, 0, 1], port)));
    assert!(
        tcp.iter()
            .any(|e| e.state == TcpState::TimeWait && e.inode == 0)
    );
    let tcp6 = parse_tcp_all(&read("root/proc/net/tcp6")).unwrap();
    assert_eq!(tcp6[0].local, format!("[::1]:{port}").parse().unwrap());
    let unix = parse_unix_all(&read("root/proc/net/unix")).unwrap();
    let listening: Vec<_> = unix.iter().filter(|u| u.listening).collect();
    assert_eq!(listening.len(), 2);
    assert!(listening.iter().all(|u| u.kind == UnixKind::Stream));
    let prefix = &env["PREFIX"];
    assert!(
        listening
            .iter()
            .any(|u| u.path.as_deref() == Some(&format!("{prefix}/nginx.sock")))
    );
}

#[test]
fn nginx_v_of_debian_nginx() {
    let b = parse_nginx_v(&read("nginx-V.txt")).unwrap();
    assert_eq!(
        (b.product.as_str(), b.version.as_str()),
        ("nginx", "1.22.1")
    );
    assert_eq!(b.prefix, Path::new("/usr/share/nginx"));
    assert_eq!(b.conf_path, Path::new("/etc/nginx/nginx.conf"));
    assert_eq!(b.error_log_path, Path::new("stderr"));
    assert_eq!(b.pid_path, Path::new("/run/nginx.pid"));
    assert!(b.has_module("http_v2_module"));
    assert!(b.has_module("stream"));
    assert!(b.dynamic_modules.contains(&"http_geoip_module".to_string()));
    assert!(b.configure_args[0].starts_with("--with-cc-opt=-g -O2"));
    assert_eq!(b.default_user(), "nobody");
    assert!(b.tls_sni);
}

#[test]
fn debian_php_fpm_config() {
    let root = Root::new(testdata("debian-php"));
    let cfg = read_fpm_config(&root, Path::new("/etc/php/8.2/fpm/php-fpm.conf"), None).unwrap();
    assert_eq!(cfg.files.len(), 2);
    assert!(cfg.gaps.is_empty());
    let www = cfg.pool("www").unwrap();
    assert_eq!(
        www.listen,
        Some(FpmListen::Unix {
            path: "/run/php/php8.2-fpm.sock".into()
        })
    );
    assert_eq!(www.user.as_deref(), Some("www-data"));
    assert_eq!(www.listen_owner.as_deref(), Some("www-data"));
    assert_eq!(www.listen_mode, 0o660, "the commented default");
    assert_eq!(www.max_children, Some(5));
    let at = www.setting("pm.max_children").unwrap();
    assert_eq!(at.file, Path::new("/etc/php/8.2/fpm/pool.d/www.conf"));
    assert_eq!(at.line, 127);
    assert_eq!(
        cfg.error_log(None),
        Some(PathBuf::from("/var/log/php8.2-fpm.log"))
    );
}

#[test]
fn real_php_fpm_log_warnings() {
    let env = capture_env();
    let log = read(&format!("root{}/fpm.log", env["PREFIX"]));
    let s = summarize_fpm_log(&parse_fpm_log(&log));
    let lab = &s.pools["lab"];
    assert_eq!(lab.max_children_reached, 1);
    assert!(lab.timeouts >= 1);
    assert_eq!(lab.signaled, lab.timeouts);
    assert!(s.last_ready.is_some());
}

#[test]
fn kernel_logs_and_oom_kills() {
    let k = parse_kmsg(&read("root/dev/kmsg"));
    let kills = find_oom_kills(&k, None);
    assert_eq!(kills.len(), 2);
    assert_eq!(
        (kills[0].pid, kills[0].comm.as_str()),
        (24690, "php-fpm8.2")
    );
    assert!(kills[0].cgroup_limit);
    assert_eq!(
        kills[1].task_memcg.as_deref(),
        Some("/system.slice/app.service")
    );
    assert!(!kills[1].cgroup_limit);
    let j = parse_journal_short_unix(&read("journal-k.txt"));
    let jk = find_oom_kills(&j, None);
    assert_eq!(jk.len(), 1);
    assert_eq!(jk[0].time, Some(UnixMillis(1_795_275_753_200)));
}

#[test]
fn selinux_and_apparmor_trees() {
    let mut gaps = Vec::new();
    let rhel = collect_selinux(&Root::new(testdata("rhel-root")), &[], &mut gaps);
    let s = rhel.found().unwrap();
    assert_eq!(s.mode, Some(SelinuxMode::Enforcing));
    assert_eq!(s.httpd_can_network_connect(), Some(false));
    assert_eq!(s.booleans.get("httpd_can_network_relay"), Some(&true));
    assert_eq!(s.nginx_denials.len(), 2, "sshd's denial is not nginx's");
    assert_eq!(s.nginx_denials[0].dest_port, Some(8000));
    assert_eq!(s.nginx_denials[1].tclass.as_deref(), Some("sock_file"));
    assert!(gaps.is_empty());
    let none = collect_selinux(&Root::new(testdata("ubuntu-root")), &[], &mut gaps);
    assert_eq!(none.skipped().unwrap().why, SkipReason::NotPresent);

    let kernel = parse_kmsg(&read("root/dev/kmsg"));
    let aa = collect_apparmor(
        &Root::new(testdata("ubuntu-root")),
        &kernel,
        None,
        &mut gaps,
    );
    let a = aa.found().unwrap();
    assert_eq!(a.nginx_profiles.len(), 2);
    assert_eq!(
        a.nginx_profiles[0],
        ("/usr/sbin/nginx".into(), "enforce".into())
    );
    assert_eq!(a.nginx_denials.len(), 1);
    assert_eq!(
        a.nginx_denials[0].name.as_deref(),
        Some("/run/php/php8.2-fpm.sock")
    );
    let none = collect_apparmor(&Root::new(testdata("rhel-root")), &[], None, &mut gaps);
    assert_eq!(none.skipped().unwrap().why, SkipReason::NotPresent);
}

#[test]
fn firewall_dumps() {
    let n = parse_nft(&read("nft-ruleset.txt"));
    assert_eq!(n.policies.len(), 4);
    assert_eq!(n.restrictive_policies().len(), 2);
    let r = n.rules_for_port(8085);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].verdict, r[0].chain.as_str()),
        (Verdict::Reject, "output")
    );
    assert_eq!(n.rules_for_port(5432)[0].verdict, Verdict::Drop);
    assert_eq!(n.rules_for_port(8443)[0].table, "ip nat");
    let i = parse_iptables_s(&read("iptables-S.txt"), FirewallSource::Iptables);
    assert_eq!(i.restrictive_policies().len(), 2);
    assert_eq!(i.rules_for_port(9000)[0].verdict, Verdict::Reject);
    assert_eq!(i.rules_for_port(6379)[0].verdict, Verdict::Drop);
    assert_eq!(i.rules_for_port(22)[0].verdict, Verdict::Other);
}

#[test]
fn whole_collection_over_the_captured_tree() {
    let env = capture_env();
    let master = env_pid(&env, "NGINX_MASTER");
    let fpm_master = env_pid(&env, "FPM_MASTER");
    let port: u16 = env["PORT"].parse().unwrap();
    let prefix = PathBuf::from(&env["PREFIX"]);
    let facts = HostFacts::collect(&CollectOptions {
        root: testdata("root"),
        ..CollectOptions::default()
    });

    // Not the live system: no commands, no socket diagnostics.
    assert_eq!(
        facts.nginx_builds.skipped().unwrap().why,
        SkipReason::Disabled
    );
    assert_eq!(
        facts.policy.firewall.skipped().unwrap().why,
        SkipReason::Disabled
    );

    let inst = facts.nginx_instance(master).unwrap();
    assert_eq!(
        inst.args.config.as_deref(),
        Some(Path::new(&env["NGINX_CONF"]))
    );
    assert_eq!(inst.args.prefix.as_deref(), Some(prefix.as_path()));
    assert_eq!(inst.workers.len(), 2);
    assert_eq!(inst.binary.as_deref(), Some(Path::new("/usr/sbin/nginx")));
    assert!(inst.master.nofile.is_some());
    assert!(inst.master.open_fds.unwrap() >= 5);
    assert_eq!(inst.workers[0].user.as_deref(), Some("nobody"));
    let start = inst.master_start().unwrap();
    assert!(start <= inst.last_reload_estimate().unwrap());

    // Sockets from the captured tables, owners from the captured fd links.
    let net = facts.net.found().unwrap();
    assert_eq!(
        net.source,
        Path::new("/proc/net"),
        "the tree has no /proc/PID/net"
    );
    let v4 = facts.tcp_accepting(SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(v4[0].1, Acceptance::Exact);
    let mut owners: Vec<u32> = v4[0].0.owners.iter().map(|o| o.pid).collect();
    owners.sort_unstable();
    let mut expect = inst.pids();
    expect.sort_unstable();
    assert_eq!(owners, expect);
    assert_eq!(
        v4[0].0.backlog, None,
        "no socket diagnostics for a fixture tree"
    );
    let out = net
        .outbound_to(SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    // capture.py holds one connection open and closes two itself (urllib's
    // may add one more TIME_WAIT on our side, depending on who closed).
    assert_eq!(out.established, 1);
    assert!(out.time_wait >= 2);
    let ul = facts.unix_listener(&prefix.join("lab-fpm.sock")).unwrap();
    // The master and its one worker share the pool's listening socket.
    assert_eq!(ul.owners.len(), 2);
    assert!(ul.owners.iter().any(|o| o.pid == fpm_master));

    // PHP-FPM: found through its master's title, config and real log read.
    let fi = facts
        .php_fpm
        .found()
        .unwrap()
        .iter()
        .find(|i| i.master_pid == Some(fpm_master))
        .unwrap();
    assert_eq!(fi.config_path, Path::new(&env["FPM_CONF"]));
    assert_eq!(fi.workers.get("lab"), Some(&1));
    assert_eq!(fi.log.found().unwrap().pools["lab"].max_children_reached, 1);
    // The socket file itself cannot be stored in git: missing in the tree,
    // but listening in the captured table.
    let sock = &fi.sockets[0];
    assert_eq!(sock.listening, Some(true));
    assert_eq!(
        sock.chain.missing.as_deref(),
        Some(prefix.join("lab-fpm.sock").as_path())
    );

    // Kernel log from the tree's dev/kmsg, times from its btime.
    let oom = facts.oom.found().unwrap();
    assert_eq!(oom.kills.len(), 2);
    assert_eq!(oom.kills[0].time, Some(UnixMillis(1_795_275_753_200)));
    let mem = facts.resources.memory.found().unwrap();
    assert!(mem.total_kb > 0);
    assert!(facts.resources.memory_pressure.found().is_some());
    assert_eq!(
        facts.policy.selinux.skipped().unwrap().why,
        SkipReason::NotPresent
    );
    let st = &facts.staleness.found().unwrap()[0];
    assert_eq!(st.nginx_test.skipped().unwrap().why, SkipReason::Disabled);
    serde_json::to_string(&facts).unwrap();
}
