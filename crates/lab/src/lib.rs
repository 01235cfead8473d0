//! The lab: a private, real nginx (temporary prefix, ephemeral loopback
//! ports, never the system's nginx) plus backends, for `badgateway lab` and
//! for the integration tests. Everything started here is stopped by pid when
//! its handle is dropped.

#![allow(unsafe_code)] // kill(2) on processes we started ourselves, by pid

pub mod backend;
pub mod http;
pub mod nginx;
pub mod ports;
pub mod proc;

pub use backend::{Backend, BackendProcess, Fault, Listen};
pub use nginx::{Nginx, NginxBuilder, find_nginx, require_nginx};
pub use ports::free_port;
