//! Every lab scenario, brought up with the real nginx: it must start and
//! make nginx fail the way its summary says.

use badgateway_lab::scenario::{self, Scenario};
use badgateway_lab::{find_php_fpm, require_nginx};

fn exe() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_badgateway"))
}

#[test]
fn every_scenario_reproduces_its_failure() {
    let Some(nginx) = require_nginx() else { return };
    let php = find_php_fpm();
    for (name, text) in scenario::all() {
        let s = Scenario::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let run = scenario::run(&s, &nginx, exe(), php.as_deref())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let errors = run.nginx.error_log_text();
        let access = run.nginx.access_log_text();
        eprintln!(
            "== {name}: statuses {:?}\n{}\n{}",
            run.statuses,
            errors.lines().take(3).collect::<Vec<_>>().join("\n"),
            access.lines().next().unwrap_or_default()
        );
        let failed = run.statuses.iter().any(|&s| s >= 500 || s == 0) || !errors.trim().is_empty();
        assert!(failed, "{name}: nothing failed");
    }
}
