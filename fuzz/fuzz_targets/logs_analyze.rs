//! The whole engine on arbitrary bytes (plain or gzip, error or access log
//! or neither): detection, block splitting, scanning, attribution, join
//! and report building never panic, and every counted entry has one cause.
#![no_main]

use badgateway_logs::{Input, Options, analyze};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let inputs = [Input::Bytes {
        name: "fuzz".into(),
        data: data.to_vec(),
    }];
    let opts = Options {
        threads: 1,
        ..Options::default()
    };
    if let Ok(r) = analyze(&inputs, &opts) {
        assert_eq!(r.by_cause.values().sum::<u64>(), r.upstream_errors);
        assert_eq!(r.by_upstream.values().sum::<u64>(), r.upstream_errors);
        assert!(r.error_log.entries <= r.error_log.lines.max(1) + r.error_log.entries);
    }
});
