//! Print every host fact as JSON, for looking at what `diagnose` will get
//! and for benchmarking collection:
//!
//! ```text
//! cargo run -p badgateway-host --example host_facts -- [--root DIR] [--no-commands] [--nginx-test]
//! ```

use std::path::PathBuf;

use badgateway_host::{CollectOptions, HostFacts};

fn main() {
    let mut opts = CollectOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--root" => opts.root = PathBuf::from(args.next().unwrap_or_else(|| "/".into())),
            "--no-commands" => opts.run_commands = false,
            "--nginx-test" => opts.run_nginx_test = true,
            other => {
                eprintln!("unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let facts = HostFacts::collect(&opts);
    match serde_json::to_string_pretty(&facts) {
        Ok(s) => println!("{s}"),
        Err(e) => {
            eprintln!("cannot serialise: {e}");
            std::process::exit(1);
        }
    }
}
