//! Helpers for the lint tests: write a config into a temp dir, load it,
//! lint it, and look at the findings.

#![allow(dead_code)]

use badgateway_conf::{LoadOptions, Model, NginxVersion, load};
use badgateway_lint::{Finding, HostFacts, check};

/// Debian 12's nginx: the pre-1.29.7 defaults.
pub const OLD: Option<NginxVersion> = Some(NginxVersion(1, 22, 1));
/// The first nginx with HTTP/1.1 and upstream keepalive by default.
pub const NEW: Option<NginxVersion> = Some(NginxVersion(1, 29, 7));

/// Lint `main` (the text of nginx.conf) plus extra files, with `facts`.
pub fn lint_files(
    main: &str,
    extra: &[(&str, &str)],
    version: Option<NginxVersion>,
    facts: &HostFacts,
) -> Vec<Finding> {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in extra {
        let p = d.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let p = d.path().join("nginx.conf");
    std::fs::write(&p, main).unwrap();
    let cfg = load(&p, &LoadOptions::default()).unwrap();
    check(&Model::build(cfg, version), facts)
}

/// Lint an `http {}` body on nginx 1.22.1 with no host facts.
pub fn lint_http(body: &str) -> Vec<Finding> {
    lint_files(&http(body), &[], OLD, &HostFacts::default())
}

/// A whole main file around an `http {}` body (the body starts on line 3).
pub fn http(body: &str) -> String {
    format!("events {{}}\nhttp {{\n{body}\n}}\n")
}

/// The findings with `code`.
pub fn with<'a>(fs: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.code.code() == code).collect()
}

/// The single finding with `code`, or a panic listing what was found.
pub fn one<'a>(fs: &'a [Finding], code: &str) -> &'a Finding {
    let v = with(fs, code);
    assert_eq!(v.len(), 1, "expected one {code}, got: {fs:#?}");
    v[0]
}

/// Assert no finding has `code`.
pub fn none(fs: &[Finding], code: &str) {
    let v = with(fs, code);
    assert!(v.is_empty(), "unexpected {code}: {v:#?}");
}
