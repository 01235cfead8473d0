//! Fuzz the linter: any bytes as a main config file (every include and glob
//! resolves to one fixed snippet) must load or fail with an error, and every
//! lint must run over what loads without panicking, for old, new and
//! unknown nginx versions, with host facts that say every socket is
//! missing.

#![no_main]

use std::io;
use std::path::{Path, PathBuf};

use badgateway_conf::{LoadOptions, Model, NginxVersion, Source, load_from};
use badgateway_lint::{HostFacts, PathKind, check, socket_paths};
use libfuzzer_sys::fuzz_target;

/// What every include resolves to: directives several lints read.
const SNIPPET: &[u8] = b"proxy_set_header X-A 1; proxy_read_timeout 2s; fastcgi_param A B; proxy_buffer_size 64k;";

struct Mem<'a>(&'a [u8]);

impl Source for Mem<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match path.to_str() {
            Some("/f/nginx.conf") => Ok(self.0.to_vec()),
            Some("/f/inc.conf") => Ok(SNIPPET.to_vec()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }
    fn glob(&self, _: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(vec![PathBuf::from("/f/inc.conf")])
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = load_from(&Mem(data), Path::new("/f/nginx.conf"), &LoadOptions::default()) else {
        return;
    };
    for version in [None, Some(NginxVersion(1, 22, 1)), Some(NginxVersion(1, 29, 7))] {
        let model = Model::build(cfg.clone(), version);
        let mut facts = HostFacts {
            tcp_listeners: Some(vec!["127.0.0.1:9000".parse().unwrap()]),
            unix_listeners: Some(Vec::new()),
            nofile_limit: Some(1024),
            ..HostFacts::default()
        };
        for p in socket_paths(&model) {
            facts.paths.insert(p, PathKind::Missing);
        }
        let findings = check(&model, &facts);
        for f in &findings {
            assert!(f.line >= 1 && !f.message.is_empty() && !f.fix.is_empty());
        }
    }
});
