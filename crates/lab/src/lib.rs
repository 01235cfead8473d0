//! The lab: a private, real nginx (temporary prefix, ephemeral loopback
//! ports, never the system's nginx) plus backends, for `badgateway lab` and
//! for the integration tests. Everything started here is stopped by pid when
//! its handle is dropped.

#![allow(unsafe_code)] // kill(2) on processes we started ourselves, by pid

pub mod backend;
pub mod certs;
pub mod http;
pub mod nginx;
pub mod php_fpm;
pub mod ports;
pub mod proc;
pub mod scenario;

pub use backend::{Backend, BackendProcess, Fault, Listen};
pub use nginx::{Nginx, NginxBuilder, find_nginx, require_nginx};
pub use php_fpm::{PhpFpm, Pool, find_php_fpm, require_php_fpm};
pub use ports::free_port;
pub use scenario::Scenario;
