//! Fuzz the TLS record classifier (server hello / alert) and the minimal
//! X.509 DER reader used for certificate facts.
#![no_main]

use badgateway_probe::{tls_wire, x509};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(rec) = tls_wire::first_record(data) {
        assert!((20..=23).contains(&rec.content_type));
        if let Some((_, d)) = rec.alert {
            let _ = tls_wire::alert_name(d);
        }
        let _ = tls_wire::version_name(rec.version);
    }
    if let Some(c) = x509::parse(data) {
        assert!(c.not_before.ends_with('Z') && c.not_after.ends_with('Z'));
    }
});
