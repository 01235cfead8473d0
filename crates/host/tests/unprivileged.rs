//! Graceful degradation for real: the same collection run as `nobody`
//! (this test binary re-executed under `setpriv`), next to a root-owned
//! nginx whose descriptors, binary link and limits it may not read. It must
//! finish, keep what it can see, and say what it could not.

use std::process::Command;

use badgateway_host::{CollectOptions, HostFacts};
use badgateway_lab::NginxBuilder;

const CHILD_ENV: &str = "BGW_HOST_UNPRIVILEGED_CHILD";
const MARK: &str = "BGW-HOST-JSON ";

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[test]
fn collection_as_nobody_degrades_without_failing() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let facts = HostFacts::collect(&CollectOptions::default());
        println!("{MARK}{}", serde_json::to_string(&facts).unwrap());
        return;
    }
    let Some(nginx_bin) = badgateway_lab::require_nginx() else {
        return;
    };
    if effective_uid() != Some(0) {
        eprintln!("skipping: switching to nobody needs root");
        return;
    }
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
    else {
        eprintln!("skipping: setpriv (util-linux) not installed");
        return;
    };
    let nginx = NginxBuilder::new(&nginx_bin, "server { listen 127.0.0.1:@LISTEN@; }")
        .start()
        .unwrap();
    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "collection_as_nobody_degrades_without_failing",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix(MARK))
        .expect("the child printed its facts");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();

    assert!(v["processes_seen"].as_u64().unwrap() > 0);
    // The root-owned nginx is still found from world-readable stat/status.
    let inst = v["nginx"]["found"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["master"]["pid"] == nginx.pid())
        .expect("nginx seen without privileges");
    assert_eq!(
        inst["args"]["config"],
        nginx.conf_path.display().to_string()
    );
    assert!(inst["master"]["open_fds"].is_null());
    let gaps = inst["master"]["gaps"].as_array().unwrap();
    for what in ["exe", "fd"] {
        assert!(
            gaps.iter()
                .any(|g| g["what"] == what && g["why"] == "permission-denied"),
            "{what} gap in {gaps:?}"
        );
    }
    // The listener is seen; of its owners only the workers (which run as
    // nobody too) are visible, not the root master, and that is said.
    let net = &v["net"]["found"];
    let l = net["tcp"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["addr"] == nginx.addr().to_string())
        .expect("listener seen");
    let owners: Vec<u64> = l["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["pid"].as_u64().unwrap())
        .collect();
    let workers: Vec<u64> = inst["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["pid"].as_u64().unwrap())
        .collect();
    assert!(!owners.is_empty());
    assert!(
        owners.iter().all(|p| workers.contains(p)),
        "{owners:?} {workers:?}"
    );
    assert!(!owners.contains(&u64::from(nginx.pid())));
    assert!(net["unreadable_fd_pids"].as_u64().unwrap() > 0);
    assert!(
        net["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["why"] == "permission-denied")
    );
}
