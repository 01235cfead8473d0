//! Load and model a config tree, then print its size: the workload measured
//! by `scripts/bench-config` (parse + includes + model).

use std::path::PathBuf;
use std::process::ExitCode;

use badgateway_conf::{LoadOptions, Model, load_any};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: load CONFIG");
        return ExitCode::from(2);
    };
    match load_any(&path, &LoadOptions::default()) {
        Ok(cfg) => {
            let m = Model::build(cfg, None);
            let servers = m.http.as_ref().map_or(0, |h| h.servers.len());
            let locations: usize = m.http.as_ref().map_or(0, |h| {
                h.servers.iter().map(|s| s.all_locations().len()).sum()
            });
            println!(
                "{} files, {} directives, {servers} servers, {locations} locations, {} passes",
                m.cfg.files.len(),
                m.cfg.nodes.len(),
                m.passes().len()
            );
            // Like the CLI, leave freeing the tree to the OS.
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
