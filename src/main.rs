//! The `badgateway` binary: all logic lives in the `badgateway-cli` crate.

fn main() -> std::process::ExitCode {
    badgateway_cli::main()
}
