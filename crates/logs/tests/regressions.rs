//! Regressions found by fuzzing, named after what broke.

use badgateway_logs::{Input, Options, analyze};

fn run(data: &[u8]) -> badgateway_logs::LogReport {
    let inputs = [Input::Bytes {
        name: "t".into(),
        data: data.to_vec(),
    }];
    analyze(
        &inputs,
        &Options {
            threads: 1,
            ..Options::default()
        },
    )
    .unwrap()
}

/// A raw invalid byte and its `\xHH` spelled out print the same; the two
/// upstreams must not overwrite each other in `by_upstream` (found by the
/// `logs_analyze` fuzz target).
#[test]
fn upstream_names_that_print_alike_are_added_not_overwritten() {
    let mut data = Vec::new();
    for peer in [&b"a\xa1b"[..], b"a\\xa1b"] {
        data.extend_from_slice(b"2026/11/21 13:40:41 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: \"GET / HTTP/1.1\", upstream: \"http://");
        data.extend_from_slice(peer);
        data.extend_from_slice(b"/\", host: \"h\"\n");
    }
    let r = run(&data);
    assert_eq!(r.upstream_errors, 2);
    assert_eq!(r.by_upstream.values().sum::<u64>(), 2);
    assert_eq!(r.by_upstream.get("a\\xa1b"), Some(&2));
    assert_eq!(r.error_log.upstreams.len(), 2);
}
