//! Binary-level integration tests, all in one test binary. Tests that need a
//! real nginx use `badgateway_lab::require_nginx()`: under `CI=true` a
//! missing nginx fails them instead of skipping.

mod backends;
mod config;
mod config_corpus;
mod diagnose;
mod diagnose_fixtures;
mod explain;
mod harness;
mod lab_backend;
mod lab_scenarios;
mod logs;
mod logs_hostile;
mod logs_inputs;
mod logs_phpfpm;
mod probe;
mod route_backend;
mod route_cli;
mod route_vs_nginx;
mod util;
