//! Binary-level integration tests, all in one test binary. Tests that need a
//! real nginx use `badgateway_lab::require_nginx()`: under `CI=true` a
//! missing nginx fails them instead of skipping.

mod backends;
mod explain;
mod harness;
mod logs;
mod logs_hostile;
mod logs_inputs;
mod logs_phpfpm;
mod util;
