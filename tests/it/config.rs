//! `badgateway config`: the JSON contract, text and SARIF output, exit
//! statuses, and compiler-style errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{badgateway, stderr, stdout};

/// A config tree in a temp dir: nginx.conf includes sites/*.conf.
fn tree(site: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("sites")).unwrap();
    std::fs::write(
        d.path().join("nginx.conf"),
        "events {}\nhttp {\n    upstream app { server 127.0.0.1:8000; server 127.0.0.1:8001; keepalive 16; }\n    include sites/*.conf;\n}\n",
    )
    .unwrap();
    std::fs::write(d.path().join("sites/app.conf"), site).unwrap();
    let main = d.path().join("nginx.conf");
    (d, main)
}

const KEEPALIVE_SITE: &str = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        proxy_pass http://app;\n    }\n}\n";
const GOOD_SITE: &str = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n        proxy_pass http://app;\n    }\n}\n";

fn config(main: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "config",
        main.to_str().unwrap(),
        "--nginx-version",
        "1.22.1",
        "--no-host",
    ];
    args.extend_from_slice(extra);
    badgateway(&args)
}

#[test]
fn json_follows_the_spec_contract() {
    let (_d, main) = tree(KEEPALIVE_SITE);
    let o = config(&main, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["nginx_version"], "1.22.1");
    let f = &v["findings"].as_array().unwrap()[0];
    assert_eq!(f["code"], "keepalive-without-http11");
    assert_eq!(f["cause"], "keepalive-race");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["file"], "sites/app.conf");
    assert_eq!(f["line"], 4);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("upstream app (keepalive 16)")
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("proxy_http_version 1.1;")
    );
    assert_eq!(v["summary"]["warning"], 1);
}

#[test]
fn exit_status_follows_fail_on() {
    let (_d, main) = tree(KEEPALIVE_SITE);
    assert_eq!(
        config(&main, &["--fail-on", "critical"]).status.code(),
        Some(0)
    );
    assert_eq!(config(&main, &["--fail-on", "info"]).status.code(), Some(1));
    let (_d, main) = tree(GOOD_SITE);
    let o = config(&main, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("no findings (nginx 1.22.1)"),
        "{}",
        stdout(&o)
    );
    // the same config is fine for nginx 1.29.7's defaults
    let (_d, main) = tree(KEEPALIVE_SITE);
    let o = badgateway(&[
        "config",
        main.to_str().unwrap(),
        "--nginx-version",
        "1.29.7",
        "--no-host",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn syntax_errors_are_one_compiler_style_line_and_exit_2() {
    let (d, main) = tree("server {\n    listen 80;\n}\n}\n");
    let o = config(&main, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    let want = format!(
        "{}:4:1: unexpected \"}}\"",
        d.path().join("sites/app.conf").display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(stdout(&o).is_empty());
    let o = config(&d.path().join("missing.conf"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing.conf: cannot read"),
        "{}",
        stderr(&o)
    );
    let o = badgateway(&["config", main.to_str().unwrap(), "--nginx-version", "x.y"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn missing_include_is_a_critical_finding_not_an_error() {
    let (d, main) = tree(GOOD_SITE);
    std::fs::write(
        d.path().join("sites/b.conf"),
        "server { listen 127.0.0.1:8081; include snippets/gone.conf; unknown_module_directive on; }\n",
    )
    .unwrap();
    let o = config(&main, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let f = &v["findings"][0];
    assert_eq!(
        (f["code"].as_str(), f["severity"].as_str()),
        (Some("include-missing"), Some("critical"))
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("sites/b.conf"), Some(1))
    );
}

#[test]
fn text_groups_by_file_and_ends_with_a_summary() {
    let (d, main) = tree(KEEPALIVE_SITE);
    std::fs::write(
        d.path().join("sites/z.conf"),
        "server { listen 127.0.0.1:8082;\n  location /api { proxy_pass http://app/v1/; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_read_timeout 3s; }\n  error_page 502 =200 \"/x\x1b[2J\";\n}\n",
    )
    .unwrap();
    let o = config(&main, &[]);
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "raw escape in output: {out:?}");
    assert!(out.contains("/x\\x1b[2J"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "sites/app.conf");
    assert!(
        lines[1].starts_with("  sites/app.conf:4: warning[keepalive-without-http11] "),
        "{}",
        lines[1]
    );
    assert!(lines[2].trim_start().starts_with("why: "));
    assert!(
        lines[3]
            .trim_start()
            .starts_with("fix: proxy_http_version 1.1;")
    );
    let z = lines.iter().position(|l| *l == "sites/z.conf").unwrap();
    let z_lines: Vec<u32> = lines[z..]
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix("sites/z.conf:"))
        .map(|l| l.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(z_lines, [2, 2, 3]);
    assert!(out.contains("request /api/users is sent upstream as /v1//users"));
    let last = lines.last().unwrap();
    assert!(
        last.ends_with(": 4 findings in 2 files: 0 critical, 4 warnings, 0 info (nginx 1.22.1)"),
        "{last}"
    );
    // -q: one line per finding
    let q = stdout(&config(&main, &["-q"]));
    assert!(!q.contains("why:") && q.contains("keepalive-without-http11"));
}

#[test]
fn markdown_is_a_table_of_findings() {
    let (_d, main) = tree(KEEPALIVE_SITE);
    let out = stdout(&config(&main, &["--format", "markdown"]));
    assert!(
        out.contains("| where | severity | code | finding | fix |"),
        "{out}"
    );
    assert!(
        out.contains("| `sites/app.conf:4` | warning | `keepalive-without-http11` |"),
        "{out}"
    );
}

#[test]
fn colour_only_when_asked_and_on_a_terminal() {
    let (_d, main) = tree(KEEPALIVE_SITE);
    let run = |extra: &str, no_color: bool| {
        // script(1) (util-linux, always present on Debian) gives the
        // command a terminal.
        let cmd = format!(
            "{} config {} --nginx-version 1.22.1 --no-host {extra}",
            env!("CARGO_BIN_EXE_badgateway"),
            main.display()
        );
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        stdout(&c.output().unwrap())
    };
    let tty = run("", false);
    assert!(tty.contains("\x1b[33mwarning\x1b[0m"), "{tty:?}");
    assert!(!run("--no-color", false).contains('\x1b'));
    assert!(!run("", true).contains('\x1b'));
    // a pipe: no colour either
    let o = Command::new(env!("CARGO_BIN_EXE_badgateway"))
        .args([
            "config",
            main.to_str().unwrap(),
            "--nginx-version",
            "1.22.1",
            "--no-host",
        ])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!stdout(&o).contains('\x1b'));
}

/// Where the official SARIF 2.1.0 schema was fetched to (scripts/install-deps).
fn sarif_schema() -> Option<PathBuf> {
    let p = std::env::var_os("BADGATEWAY_SARIF_SCHEMA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/badgateway/sarif-schema-2.1.0.json"))
        })?;
    p.is_file().then_some(p)
}

#[test]
fn sarif_has_rules_results_and_locations() {
    let (d, main) = tree(KEEPALIVE_SITE);
    let o = config(&main, &["--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif"));
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"keepalive-without-http11") && ids.len() > 30);
    for r in rules {
        assert!(
            r["shortDescription"]["text"].is_string() && r["fullDescription"]["text"].is_string()
        );
        assert!(
            ["error", "warning", "note"]
                .contains(&r["defaultConfiguration"]["level"].as_str().unwrap())
        );
    }
    let res = &run["results"][0];
    assert_eq!(res["ruleId"], "keepalive-without-http11");
    assert_eq!(res["level"], "warning");
    assert_eq!(
        rules[res["ruleIndex"].as_u64().unwrap() as usize]["id"],
        res["ruleId"]
    );
    assert!(
        res["message"]["text"]
            .as_str()
            .unwrap()
            .contains("Fix: proxy_http_version 1.1;")
    );
    let loc = &res["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "sites/app.conf");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "NGINX_CONF_DIR");
    assert_eq!(loc["region"]["startLine"], 4);
    assert_eq!(loc["region"]["startColumn"], 9);
    let base = run["originalUriBaseIds"]["NGINX_CONF_DIR"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    assert!(base.contains(d.path().file_name().unwrap().to_str().unwrap()));
    validate_against_official_schema(&text);
}

/// Validate with Python's jsonschema against the official schema; under
/// CI=true a missing schema or validator is a failure.
fn validate_against_official_schema(sarif: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Some(schema) = sarif_schema() else {
        assert!(
            !ci,
            "the SARIF schema is missing (scripts/install-deps fetches it)"
        );
        eprintln!("skipping schema validation: SARIF schema not found (run scripts/install-deps)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let doc = d.path().join("out.sarif");
    std::fs::write(&doc, sarif).unwrap();
    let script = "import json,sys\nimport jsonschema\nschema=json.load(open(sys.argv[1]))\ndoc=json.load(open(sys.argv[2]))\ncls=jsonschema.validators.validator_for(schema)\nerrs=sorted(cls(schema).iter_errors(doc), key=str)\nfor e in errs: print(list(e.path), e.message)\nsys.exit(1 if errs else 0)\n";
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&doc)
        .output();
    match o {
        Ok(o) if o.status.code() == Some(0) => {}
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named 'jsonschema'") => {
            assert!(!ci, "python3 jsonschema is missing");
            eprintln!("skipping schema validation: python3 jsonschema not installed");
        }
        Ok(o) => panic!("SARIF does not validate: {}{}", stdout(&o), stderr(&o)),
        Err(e) => assert!(!ci, "python3: {e}"),
    }
}
