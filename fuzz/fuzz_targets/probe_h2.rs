//! Fuzz the HTTP/2 frame scanner and the context-free protocol sniffer.
#![no_main]

use badgateway_probe::exchange::Exchange;
use badgateway_probe::h2;
use badgateway_probe::sniff::{self, Sent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let facts = h2::scan(data);
    assert!(facts.frames.len() <= 32);
    let _ = facts.is_h2();
    let _ = sniff::classify_bytes(data);
    let mut ex = Exchange::new(Sent::H2Preface);
    ex.interpret(data);
});
