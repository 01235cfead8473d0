//! PHP-FPM config and log parsing of badgateway-host: the config parser,
//! the composition of pools (with the input also served as every included
//! file, to exercise include handling), and the log parser and summary.
#![no_main]

use std::path::{Path, PathBuf};

use badgateway_host::phpfpm::{
    Loaded, build_fpm_config, parse_fpm_conf, parse_fpm_duration, parse_fpm_log, parse_listen,
    summarize_fpm_log,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = text.as_ref();
    match parse_fpm_conf(t) {
        Ok(items) => {
            let again = items.clone();
            let mut n = 0;
            // The first include pattern matches one file holding the same
            // text (as a real glob matches each file once); later ones
            // match nothing.
            let mut load = |_: &str| -> Loaded {
                n += 1;
                if n > 1 {
                    return Vec::new();
                }
                vec![(PathBuf::from("/inc/1.conf"), Ok(again.clone()))]
            };
            let cfg = build_fpm_config(Path::new("/main.conf"), items, &mut load);
            for p in &cfg.pools {
                let _ = p.setting("listen");
            }
            let _ = cfg.error_log(None);
        }
        Err(e) => assert!(e.line >= 1 && e.line <= t.lines().count()),
    }
    let events = parse_fpm_log(t);
    let s = summarize_fpm_log(&events);
    assert!(s.recent.len() <= 100);
    for line in t.lines().take(8) {
        let _ = parse_listen(line);
        let _ = parse_fpm_duration(line);
    }
});
