//! The `log_format` compiler and the access-line parser on arbitrary input:
//! the first line is a format (config syntax or bare), the rest are log
//! lines parsed with it and with the built-in formats. Never panic; value
//! spans stay inside the line.
#![no_main]

use badgateway_logs::access::upstream::attempts;
use badgateway_logs::access::{BUILTINS, Format, Var};
use libfuzzer_sys::fuzz_target;

fn exercise(f: &Format, line: &[u8]) {
    let Ok(r) = f.parse(line) else { return };
    for v in [
        Var::RemoteAddr,
        Var::Request,
        Var::Status,
        Var::UpstreamAddr,
        Var::UpstreamStatus,
        Var::Host,
    ] {
        if let Some(x) = r.get(v) {
            let (o, i) = (line.as_ptr() as usize, x.as_ptr() as usize);
            assert!(x.is_empty() || (i >= o && i + x.len() <= o + line.len()));
        }
    }
    let _ = (r.status(), r.time(), r.path(), r.host(), r.request_time());
    let a = attempts(&r);
    assert!(a.len() <= line.len() + 1);
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&c| c == b'\n');
    let spec = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let compiled = Format::compile("fuzz", &spec).ok();
    let builtins: Vec<Format> = BUILTINS
        .iter()
        .filter_map(|(n, t)| Format::compile(n, t).ok())
        .collect();
    for line in lines.take(16) {
        if let Some(f) = &compiled {
            exercise(f, line);
        }
        for f in &builtins {
            exercise(f, line);
        }
    }
});
