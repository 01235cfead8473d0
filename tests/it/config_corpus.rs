//! `badgateway config` over real-world configs and the benchmark tree:
//! every main file of the shared corpus is either linted (exit 0/1, valid
//! JSON, a sane number of findings) or rejected with one `path:line`
//! line (exit 2) — never a panic; and the benchmark tree's planted
//! mistakes are all reported through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{badgateway, stderr, stdout};

/// The shared data directory: beside the repository (CI) or beside the
/// directory of worktrees. Under CI=true it must exist.
fn shared() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .find(|p| p.join("corpus/nginx-configs/MANIFEST.tsv").is_file());
    if found.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "the shared corpus is missing beside {}",
            root.display()
        );
        eprintln!("skipping: shared corpus not found");
    }
    found
}

#[test]
fn every_corpus_main_file_is_linted_or_cleanly_rejected() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/nginx-configs");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mains: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter(|l| l.split('\t').nth(3) == Some("main"))
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert!(mains.len() > 100, "{}", mains.len());
    let (mut linted, mut rejected, mut total) = (0, 0, 0);
    for rel in &mains {
        let path = dir.join(rel);
        let o = badgateway(&[
            "config",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--nginx-version",
            "1.22.1",
            "--no-host",
        ]);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{rel}: {err}");
        match o.status.code() {
            Some(0 | 1) => {
                let v: Value =
                    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{rel}: {e}"));
                let n = v["findings"].as_array().unwrap().len();
                assert!(n < 100, "{rel}: {n} findings");
                assert_eq!(
                    o.status.code() == Some(1),
                    v["summary"]["warning"].as_u64().unwrap()
                        + v["summary"]["critical"].as_u64().unwrap()
                        > 0,
                    "{rel}"
                );
                total += n;
                linted += 1;
            }
            Some(2) => {
                assert_eq!(err.lines().count(), 1, "{rel}: {err}");
                assert!(err.contains(".conf:"), "{rel}: {err}");
                rejected += 1;
            }
            other => panic!("{rel}: exit {other:?}: {err}"),
        }
    }
    eprintln!("corpus: {linted} linted, {rejected} rejected, {total} findings");
    // The corpus's deliberately broken files are the only rejections.
    assert!(rejected <= 10, "{rejected} rejected");
    assert!(
        total > 30 && total < 20 * linted,
        "{total} findings over {linted} files"
    );
}

#[test]
fn benchmark_tree_planted_mistakes_are_reported() {
    let Some(shared) = shared() else { return };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("tree");
    let st = Command::new("python3")
        .arg(shared.join("bench/gen_config.py"))
        .args(["--servers", "200"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let o = badgateway(&[
        "config",
        out.join("nginx.conf").to_str().unwrap(),
        "--format",
        "json",
        "--nginx-version",
        "1.22.1",
        "--no-host",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let truth: Value =
        serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    for m in truth["planted_mistakes"].as_array().unwrap() {
        // Socket checks need host facts (--no-host here); the lint crate's
        // own test covers them with fixed facts.
        if m["cause"] == "socket-missing" {
            continue;
        }
        assert!(
            findings.iter().any(|f| f["file"] == m["file"]
                && f["line"] == m["line"]
                && f["cause"] == m["cause"]),
            "not reported: {m}"
        );
    }
    let sarif = badgateway(&[
        "config",
        out.join("nginx.conf").to_str().unwrap(),
        "--format",
        "sarif",
        "--nginx-version",
        "1.22.1",
        "--no-host",
    ]);
    let s: Value = serde_json::from_str(&stdout(&sarif)).unwrap();
    assert_eq!(
        s["runs"][0]["results"].as_array().unwrap().len(),
        findings.len()
    );
}
