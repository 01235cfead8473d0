//! Fuzz target parsing (command line and config spellings): any text gives
//! a target or a usage error, never a panic, and a parsed target re-parses.
#![no_main]

use badgateway_probe::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = Target::parse(text) {
        let again = Target::parse(&t.text).expect("a parsed target re-parses");
        assert_eq!(again.endpoint, t.endpoint);
        assert_eq!(again.scheme, t.scheme);
        let _ = t.tls_name();
        let _ = badgateway_probe::exchange::host_header(&t);
    }
    let _ = Target::from_config("fastcgi", text);
});
