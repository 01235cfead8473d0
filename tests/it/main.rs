//! Binary-level integration tests, all in one test binary. Tests that need a
//! real nginx use `badgateway_lab::require_nginx()`: under `CI=true` a
//! missing nginx fails them instead of skipping.

mod config;
mod config_corpus;
mod harness;
mod lab_backend;
mod lab_scenarios;
mod probe;
mod route_backend;
mod route_cli;
mod route_vs_nginx;
mod util;
