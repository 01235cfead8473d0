//! Read-only inspection of the host nginx runs on: processes, listening
//! sockets, PHP-FPM pools, limits, kernel OOM kills, security policy. Every
//! parser is a pure function over text; a thin reader feeds it from a root
//! path so tests can point it at a fixture tree.

pub mod backends;
pub mod collect;
pub mod command;
pub mod error;
pub mod kernlog;
pub mod net;
pub mod nginx;
pub mod oom;
pub mod phpfpm;
pub mod policy;
pub mod proc;
pub mod query;
pub mod reader;
pub mod resources;
pub mod section;
pub mod staleness;
pub mod time;
pub mod users;

pub use collect::{CollectOptions, HostFacts, NginxBinary, OomFacts};
pub use section::{Section, Skip, SkipReason};
