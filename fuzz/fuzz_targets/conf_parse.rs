//! The config lexer, parser, include loader and semantic model on arbitrary
//! bytes: they must return a value or an error, never panic.
#![no_main]

use badgateway_conf::{Dump, LoadOptions, Model, load_from, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The lexer's fast path must give exactly what its full state machine
    // gives, errors included.
    let parsed = parse(data, badgateway_conf::FileId(0));
    assert_eq!(
        parsed,
        badgateway_conf::parser::parse_reference(data, badgateway_conf::FileId(0))
    );
    // The same bytes as a main file whose includes point back into a small
    // in-memory tree, then the model on top.
    let dump = Dump {
        files: vec![
            ("/etc/nginx/nginx.conf".into(), data.to_vec()),
            ("/etc/nginx/a.conf".into(), data.to_vec()),
        ],
    };
    if let Ok(cfg) = load_from(&dump, std::path::Path::new("/etc/nginx/nginx.conf"), &LoadOptions::default()) {
        let m = Model::build(cfg, None);
        let _ = m.passes();
        let _ = m.log_formats();
        for (id, _) in m.cfg.walk() {
            let _ = m.value(id, "proxy_read_timeout");
        }
    }
    if let Some(d) = Dump::parse(data) {
        let _ = load_from(&d, &d.main().to_path_buf(), &LoadOptions::default());
    }
});
