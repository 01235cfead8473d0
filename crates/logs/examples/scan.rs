//! Analyse log files and print the SPEC JSON summary: a minimal driver for
//! profiling the engine without the CLI (`cargo run --release --example
//! scan -p badgateway-logs -- FILE...`).

fn main() {
    let inputs: Vec<badgateway_logs::Input> = std::env::args()
        .skip(1)
        .map(|a| badgateway_logs::Input::from_arg(&a))
        .collect();
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let opts = badgateway_logs::Options {
        threads,
        ..badgateway_logs::Options::default()
    };
    match badgateway_logs::analyze(&inputs, &opts) {
        Ok(r) => println!(
            "lines {} upstream_errors {} causes {:?}",
            r.lines, r.upstream_errors, r.by_cause
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
