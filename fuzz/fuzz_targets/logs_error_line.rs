//! The error-log line parser, the message catalogue and `explain` on
//! arbitrary bytes: never panic, and the parsed parts stay inside the line.
#![no_main]

use badgateway_logs::catalog::classify;
use badgateway_logs::error::parse_line;
use badgateway_logs::explain::{entries, explain};
use libfuzzer_sys::fuzz_target;

fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fuzz_target!(|data: &[u8]| {
    let e = parse_line(data);
    assert!(within(data, e.raw));
    assert!(within(data, e.message));
    for f in [
        e.action,
        e.ctx.client,
        e.ctx.server,
        e.ctx.request,
        e.ctx.upstream,
        e.ctx.host,
        e.ctx.referrer,
        e.peer(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(within(data, f));
    }
    let c = classify(&e);
    assert_eq!(c.upstream_error, c.cause.is_some());
    let _ = c.entry();
    let _ = e.ctx.request_target();
    for entry in entries(data).into_iter().take(4) {
        let x = explain(entry);
        assert_eq!(x.upstream_error, x.cause.is_some());
    }
});
