//! The whole engine on arbitrary bytes (plain or gzip, error or access log
//! or neither): detection, block splitting, scanning, attribution, join
//! and report building never panic, and every counted entry has one cause;
//! with and without the config's upstream groups (two groups sharing a
//! peer, so `no live upstreams` attribution runs both ways).
#![no_main]

use badgateway_logs::{Input, Options, analyze};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let inputs = [Input::Bytes {
        name: "fuzz".into(),
        data: data.to_vec(),
    }];
    let groups = vec![
        (
            "backend".to_owned(),
            vec!["127.0.0.1:8080".to_owned(), "10.0.0.1:80".to_owned()],
        ),
        (
            "api".to_owned(),
            vec!["10.0.0.1:80".to_owned(), "unix:/run/app.sock".to_owned()],
        ),
    ];
    for upstream_groups in [Vec::new(), groups] {
        let opts = Options {
            threads: 1,
            upstream_groups,
            ..Options::default()
        };
        if let Ok(r) = analyze(&inputs, &opts) {
            assert_eq!(r.by_cause.values().sum::<u64>(), r.upstream_errors);
            assert_eq!(r.by_upstream.values().sum::<u64>(), r.upstream_errors);
            assert!(r.error_log.entries <= r.error_log.lines.max(1) + r.error_log.entries);
        }
    }
});
