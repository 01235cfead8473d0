//! The benchmark config tree (`shared/bench/gen_config.py --servers 200`)
//! plants 502/504-prone mistakes and lists them in truth.json with file,
//! line and the cause each invites: every one must be found, with that
//! cause, at that line. Host facts are fixed for the test: every PHP-FPM
//! socket the tree names exists except php8.0's (the planted mistake).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use badgateway_conf::{LoadOptions, Model, load};
use badgateway_lint::{HostFacts, PathKind, check, socket_paths};

/// The shared data directory sits beside the repository (CI), or beside
/// the directory of worktrees.
fn generator() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = root.join("../shared/bench/gen_config.py");
    if let Some(found) = [p.clone(), root.join("../../shared/bench/gen_config.py")]
        .into_iter()
        .find(|p| p.is_file())
    {
        return Some(found);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the benchmark generator is missing at {}", p.display());
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

#[test]
fn every_planted_mistake_is_found_with_its_cause() {
    let Some(script) = generator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tree");
    let st = Command::new("python3")
        .arg(&script)
        .args(["--servers", "200"])
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(st.success());
    let cfg = load(&out.join("nginx.conf"), &LoadOptions::default()).unwrap();
    assert!(cfg.issues.is_empty(), "{:?}", cfg.issues);
    let model = Model::build(cfg, common::OLD);
    let mut facts = HostFacts::default();
    for p in socket_paths(&model) {
        let kind = if p.to_string_lossy().contains("php8.0") {
            PathKind::Missing
        } else {
            PathKind::Socket
        };
        facts.paths.insert(p, kind);
    }
    let findings = check(&model, &facts);

    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    let planted = truth["planted_mistakes"].as_array().unwrap();
    assert!(planted.len() > 20, "{}", planted.len());
    let mut missed = Vec::new();
    for m in planted {
        let (file, line, cause) = (
            m["file"].as_str().unwrap(),
            m["line"].as_u64().unwrap() as u32,
            m["cause"].as_str().unwrap(),
        );
        let hit = findings
            .iter()
            .any(|f| f.file == file && f.line == line && f.cause.map(|c| c.code()) == Some(cause));
        if !hit {
            missed.push(format!("{file}:{line} {cause}"));
        }
    }
    assert!(
        missed.is_empty(),
        "missed {} planted mistakes: {missed:#?}",
        missed.len()
    );

    // Nothing the tree does right is called refused: nginx -t accepts it.
    let refused: Vec<_> = findings
        .iter()
        .filter(|f| f.cause.map(|c| c.code()) == Some("stale-config"))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    // Existing sockets are not reported; the php8.0 one is, once per use.
    let missing: Vec<_> = findings
        .iter()
        .filter(|f| f.code.code() == "unix-socket-missing")
        .collect();
    assert!(!missing.is_empty() && missing.iter().all(|f| f.message.contains("php8.0")));
}
