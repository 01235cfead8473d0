//! Fuzz the FastCGI record scanner and name-value pair decoder: whatever a
//! peer sends, the scan never panics and reports at most one violation.
#![no_main]

use badgateway_probe::exchange::Exchange;
use badgateway_probe::fastcgi;
use badgateway_probe::sniff::Sent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let facts = fastcgi::scan(data);
    if let Some(v) = &facts.violation {
        assert!(v.starts_with("upstream sent"));
    }
    let _ = facts.protocol_status_name();
    if let Some(pairs) = fastcgi::decode_pairs(data) {
        for (k, v) in &pairs {
            assert!(k.len() + v.len() <= data.len());
        }
    }
    let mut rest = data;
    while let Some((rec, used)) = fastcgi::parse_record(rest) {
        assert!(used >= 8 && used <= rest.len());
        assert!(rec.content.len() + 8 <= used);
        rest = &rest[used..];
    }
    let mut ex = Exchange::new(Sent::FastcgiRequest);
    ex.interpret(data);
});
