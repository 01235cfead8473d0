//! Read-only inspection of the host nginx runs on, to see each backend the
//! way nginx's worker sees it: is it running, where does it listen, may the
//! worker connect, is it saturated, was it killed, does policy stand in the
//! way, and does the running nginx still run the config on disk.
//!
//! # Use
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use badgateway_host::{CollectOptions, HostFacts};
//!
//! let facts = HostFacts::collect(&CollectOptions::default());
//! let upstream: SocketAddr = "127.0.0.1:8000".parse().unwrap();
//! if facts.tcp_accepting(upstream).is_empty() {
//!     for (listener, how) in facts.tcp_near(upstream) {
//!         println!("nothing on {upstream}, but {} ({how:?})", listener.addr);
//!     }
//! }
//! ```
//!
//! [`HostFacts::collect`] never fails and never panics on what it reads:
//! every family of facts is a [`Section`], either found or skipped with a
//! [`SkipReason`] (not present, permission denied, disabled, …), and
//! partial gaps (another user's descriptors) are listed inside the facts.
//! The questions `diagnose` asks are methods on [`HostFacts`] (see
//! [`query`]): listeners accepting an address and those near it, socket
//! owners, stat chains and connect permission for unix sockets, sockets
//! near a missing path, the PHP-FPM pool behind a socket, master start and
//! last-reload times, `RLIMIT_NOFILE` of master and workers.
//!
//! # What is read
//!
//! | family | module | sources |
//! |---|---|---|
//! | processes | [`proc`], [`nginx`] | `/proc/PID/{stat,status,cmdline,limits,fd,exe}`, `nginx -V` |
//! | sockets | [`net`] | `/proc/PID/net/{tcp,tcp6,unix,netstat,sockstat}` of the nginx master, fd links, `NETLINK_SOCK_DIAG` |
//! | PHP-FPM | [`phpfpm`] | master titles, `php-fpm.conf` and includes, the error log |
//! | other backends | [`backends`] | gunicorn/uWSGI/uvicorn/node/java command lines, uWSGI ini, `PORT` |
//! | resources | [`resources`] | meminfo, PSI, `fs.file-nr`, port range, `somaxconn`, `tcp_tw_reuse` |
//! | OOM kills | [`kernlog`], [`oom`] | `/dev/kmsg`, else `journalctl -k` |
//! | policy | [`policy`] | SELinux (`/sys/fs/selinux`, audit log), AppArmor, `nft`/`iptables` |
//! | stale config | [`staleness`] | config mtimes/ctimes vs the newest worker, `nginx -t` (opt-in) |
//! | users | [`users`] | `/etc/passwd`, `/etc/group`; unix-socket permission check |
//!
//! # Design
//!
//! Every parser is a pure function over text (or bytes) returning a typed
//! value or a [`error::ParseError`] with the line; they are tested on files
//! captured from a real machine (`testdata/`, recipe in
//! `testdata/capture.py`) and fuzzed. A thin [`reader::Root`] does all file
//! I/O under a root path, so the whole collection runs against a fixture
//! tree as if it were `/`. `/proc` is parsed by hand rather than with the
//! `procfs` crate: the parsers stay pure over text (fixtures, fuzzing), the
//! root is relocatable, several files procfs does not cover (netstat,
//! sockstat, PSI, kmsg) are needed anyway, and the build stays lean.
//!
//! Nothing is ever written. External programs run only when
//! [`CollectOptions::run_commands`] allows it, bounded by a timeout;
//! `nginx -t`, which may create missing log files, needs
//! [`CollectOptions::run_nginx_test`] as well. No `unsafe` is used: the
//! clock tick rate comes from `/proc/self/auxv`, `/dev/kmsg` is read with
//! `O_NONBLOCK` through std, and socket diagnostics use `socket2`.

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
