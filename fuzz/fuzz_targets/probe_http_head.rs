//! Fuzz the HTTP/1.x response-head reader and the sniffer's view of an
//! answer to an HTTP request: never panic, and stay consistent.
#![no_main]

use badgateway_probe::exchange::Exchange;
use badgateway_probe::http::{self, Head};
use badgateway_probe::sniff::{self, Sent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match http::parse_head(data) {
        Head::Complete(f) => {
            assert!(f.header_bytes <= data.len());
            assert!(data.starts_with(b"HTTP/"));
        }
        Head::NotHttp => assert!(!data.starts_with(b"HTTP/")),
        Head::Partial | Head::Invalid(_) => {}
    }
    let _ = http::head_end(data);
    let _ = sniff::classify(Sent::HttpRequest, data);
    let mut ex = Exchange::new(Sent::HttpRequest);
    ex.interpret(data);
    assert_eq!(ex.bytes, data.len());
});
