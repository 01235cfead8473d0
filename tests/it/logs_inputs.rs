//! `badgateway logs` inputs: stdin, gzip, rotated sets in time order, time
//! windows, mixed error and access logs, format errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{badgateway, stderr, stdout};

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/logs/tests/data")
        .join(name)
}

pub fn json(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut a = vec!["logs"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--format", "json"]);
    let o = badgateway(&a);
    let v = serde_json::from_str(&stdout(&o)).unwrap_or(Value::Null);
    (o.status.code(), v, stderr(&o))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut c = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = c.stdin.take().unwrap();
    let data = data.to_vec();
    let t = std::thread::spawn(move || stdin.write_all(&data));
    let out = c.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    out.stdout
}

#[test]
fn stdin_and_file_give_the_same_counts() {
    let p = sample("gen-error.log");
    let (code, file, _) = json(&[p.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let mut c = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args(["logs", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(&p).unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let t = std::thread::spawn(move || stdin.write_all(&data));
    let out = c.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    let piped: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["lines", "upstream_errors", "by_cause", "by_upstream"] {
        assert_eq!(file[k], piped[k], "{k}");
    }
}

#[test]
fn rotated_set_is_read_oldest_first_with_gzip() {
    let whole = std::fs::read(sample("gen-error.log")).unwrap();
    let (_, all, _) = json(&[sample("gen-error.log").to_str().unwrap()]);
    // Split at line boundaries into three parts: .2.gz (oldest), .1, current.
    let cut = |frac: f64| {
        let at = (whole.len() as f64 * frac) as usize;
        at + whole[at..].iter().position(|&c| c == b'\n').unwrap() + 1
    };
    let (a, b) = (cut(0.3), cut(0.7));
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("error.log.2.gz"), gzip(&whole[..a])).unwrap();
    std::fs::write(p("error.log.1"), &whole[a..b]).unwrap();
    std::fs::write(p("error.log"), &whole[b..]).unwrap();
    let args: Vec<String> = ["error.log", "error.log.2.gz", "error.log.1"]
        .iter()
        .map(|n| p(n).display().to_string())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, r, err) = json(&args);
    assert_eq!(code, Some(1), "{err}");
    for k in ["lines", "upstream_errors", "by_cause", "by_upstream"] {
        assert_eq!(r[k], all[k], "{k}");
    }
    let order: Vec<&str> = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(order, ["error.log.2.gz", "error.log.1", "error.log"]);
    assert_eq!(r["inputs"][0]["gzip"], true);
}

/// Local-time seconds of an error-log line, by hand (the test's own parser).
fn line_time(l: &[u8]) -> Option<(u32, u32, u32)> {
    let s = std::str::from_utf8(l.get(..19)?).ok()?;
    let h = s.get(11..13)?.parse().ok()?;
    let m = s.get(14..16)?.parse().ok()?;
    let sec = s.get(17..19)?.parse().ok()?;
    Some((h, m, sec))
}

#[test]
fn time_window_counts_exactly_and_seeks() {
    let p = sample("gen-error.log");
    let data = std::fs::read(&p).unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let first = line_time(lines[0]).unwrap();
    let last = line_time(lines[lines.len() - 1]).unwrap();
    assert_eq!(first.0, last.0, "sample spans one hour");
    let (m1, m2) = (
        first.1 + (last.1 - first.1) / 3,
        first.1 + 2 * (last.1 - first.1) / 3,
    );
    let since = format!("2026-11-01 00:{m1:02}:00");
    let until = format!("2026-11-01 00:{m2:02}:59");
    let want = lines
        .iter()
        .filter(|l| {
            let (_, m, _) = line_time(l).unwrap();
            m >= m1 && m <= m2
        })
        .count() as u64;
    let (_, r, _) = json(&[p.to_str().unwrap(), "--since", &since, "--until", &until]);
    assert_eq!(r["lines"], want);
    assert!(r["inputs"][0]["bytes"].as_u64().unwrap() < data.len() as u64);
    // A window with nothing in it: no failures, exit 0.
    let (code, r, _) = json(&[p.to_str().unwrap(), "--since", "2030-01-01"]);
    assert_eq!((code, r["lines"].as_u64()), (Some(0), Some(0)));
    // A bad --since is a usage error.
    let (code, _, err) = json(&[p.to_str().unwrap(), "--since", "yesterday-ish"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn access_and_error_logs_together_and_formats() {
    let e = sample("gen-error.log");
    let a = sample("gen-upstreaminfo.log");
    let c = sample("gen-combined.log");
    let (code, r, _) = json(&[
        a.to_str().unwrap(),
        e.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    let kinds: Vec<&str> = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "access").count(), 2);
    assert!(r["join"]["access_5xx"].as_u64().unwrap() > 0);
    // An explicit format that does not match: the file is not recognised.
    let (code, _, err) = json(&[c.to_str().unwrap(), "--log-format", "$status $request_time"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("gen-combined.log"), "{err}");
    // A format that does not compile is a usage error naming the problem.
    let (code, _, err) = json(&[c.to_str().unwrap(), "--log-format", "'$status"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("quote"), "{err}");
    // Built-in by name.
    let (code, r, _) = json(&[c.to_str().unwrap(), "--log-format", "combined"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        r["inputs"][0]["format"],
        "--log-format".replace("--log-format", "combined")
    );
}

#[test]
fn markdown_and_text_formats() {
    let e = sample("gen-error.log");
    let o = badgateway(&["logs", e.to_str().unwrap(), "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(1));
    let md = stdout(&o);
    assert!(md.starts_with("## badgateway logs"), "{md}");
    assert!(md.contains("| cause | count |"));
    let o = badgateway(&["logs", e.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
}
