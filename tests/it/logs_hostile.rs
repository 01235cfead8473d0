//! Hostile input is normal input: huge lines, binary data, truncated gzip,
//! files deleted or truncated while read, unreadable files, and terminal
//! escape sequences in attacker-written fields.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::logs_inputs::{json, sample};
use crate::util::{badgateway, stderr, stdout};

const LINE: &[u8] = b"2026/11/21 13:40:41 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: s, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.9:80/\", host: \"h\"\n";

fn no_panic(err: &str) {
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn one_gigabyte_line_then_a_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    f.write_all_at(LINE, 0).unwrap();
    // A sparse 1 GiB run of NUL bytes with no newline, then a real line.
    let gib = 1u64 << 30;
    f.write_all_at(b"\n", gib).unwrap();
    f.write_all_at(LINE, gib + 1).unwrap();
    drop(f);
    let (code, r, err) = json(&[p.to_str().unwrap()]);
    no_panic(&err);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(r["upstream_errors"], 2, "{err}");
    assert_eq!(r["lines"], 3);
    assert_eq!(r["error_log"]["unparsed"], 1);
}

#[test]
fn binary_garbage_is_not_a_log_and_mixed_garbage_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let p = dir.path().join("random.bin");
    std::fs::write(&p, &junk).unwrap();
    let (code, _, err) = json(&[p.to_str().unwrap()]);
    no_panic(&err);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("random.bin") && err.contains("not an nginx"),
        "{err}"
    );
    // Garbage between real lines: the real lines still count.
    let mut mixed = Vec::new();
    for i in 0..50 {
        mixed.extend_from_slice(LINE);
        mixed.extend_from_slice(&junk[i * 300..i * 300 + 300]);
        mixed.push(b'\n');
    }
    let q = dir.path().join("mixed.log");
    std::fs::write(&q, &mixed).unwrap();
    let (code, r, err) = json(&[q.to_str().unwrap()]);
    no_panic(&err);
    assert_eq!(code, Some(1));
    assert_eq!(r["upstream_errors"], 50);
}

#[test]
fn truncated_gzip_keeps_what_came_before() {
    let data = std::fs::read(sample("gen-error.log")).unwrap();
    let mut c = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let d = data.clone();
    let t = std::thread::spawn(move || stdin.write_all(&d));
    let gz = c.wait_with_output().unwrap().stdout;
    t.join().unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log.3.gz");
    std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    let (code, r, err) = json(&[p.to_str().unwrap()]);
    no_panic(&err);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error.log.3.gz") && err.contains("truncated"),
        "{err}"
    );
    let lines = r["lines"].as_u64().unwrap();
    assert!(lines > 100 && lines < 3488, "{lines}");
}

#[test]
fn unreadable_inputs_are_named_and_the_rest_is_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.log");
    let good = sample("gen-error.log");
    let d = dir.path().to_str().unwrap().to_owned();
    let (code, r, err) = json(&[missing.to_str().unwrap(), &d, good.to_str().unwrap()]);
    no_panic(&err);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("nope.log") && err.contains("No such file"),
        "{err}"
    );
    assert!(err.contains("is a directory"), "{err}");
    assert!(r["upstream_errors"].as_u64().unwrap() > 0);
    assert_eq!(r["warnings"].as_array().unwrap().len(), 2);
    // Nothing readable at all: a usage/input error.
    let (code, _, err) = json(&[missing.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nope.log"), "{err}");
}

#[test]
fn file_deleted_or_truncated_while_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let body: Vec<u8> = LINE.repeat(300_000); // ~60 MB
    std::fs::write(&p, &body).unwrap();
    // Truncate while the (debug) binary reads it.
    let child = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args(["logs", p.to_str().unwrap(), "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(1000)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    no_panic(&err);
    assert!(matches!(o.status.code(), Some(1 | 2)), "{err}");
    // Delete while it reads: the open file is still read to the end.
    std::fs::write(&p, &body).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args(["logs", p.to_str().unwrap(), "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    std::fs::remove_file(&p).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    no_panic(&err);
    match o.status.code() {
        Some(1) => {
            let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(r["upstream_errors"], 300_000);
        }
        Some(2) => assert!(err.contains("error.log"), "{err}"),
        other => panic!("exit {other:?}: {err}"),
    }
}

#[test]
fn escape_sequences_from_the_log_are_neutralised_in_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let evil = b"2026/11/21 13:40:41 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: s, request: \"GET /\x1b]0;pwned\x07\x1b[2J\x9b31m HTTP/1.1\", upstream: \"http://10.0.0.9:80/\", host: \"\x1b[31mred\"\n";
    std::fs::write(&p, evil).unwrap();
    for args in [
        vec!["logs", p.to_str().unwrap()],
        vec!["logs", p.to_str().unwrap(), "--format", "markdown"],
    ] {
        let o = badgateway(&args);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            !o.stdout
                .iter()
                .any(|&b| b == 0x1b || b == 0x07 || b == 0x9b),
            "{}",
            stdout(&o)
        );
        assert!(stdout(&o).contains("\\x1b]0;pwned"));
    }
    let o = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .arg("explain")
        .arg(std::ffi::OsStr::new(
            std::str::from_utf8(&evil[..evil.len() - 1]).unwrap_or("x"),
        ))
        .output()
        .unwrap();
    assert!(
        !o.stdout.iter().any(|&b| b == 0x1b || b == 0x07),
        "{}",
        stdout(&o)
    );
    let _ = stderr(&o);
}
