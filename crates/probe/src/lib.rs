//! Probes of upstream backends, seen the way an nginx worker sees them.
//!
//! For one target or many, a probe:
//!
//! 1. **resolves** the host like nginx at config load (getaddrinfo with
//!    `AI_ADDRCONFIG`, every A/AAAA kept, IPv4 first; the `EAI_*` code kept);
//! 2. **connects** to every address with a non-blocking `connect(2)` and a
//!    timeout, keeping the outcome and the raw errno (`EAGAIN` on a unix
//!    socket whose backlog is full, exactly as nginx sees it);
//! 3. **talks nginx's protocol** — an HTTP/1.0 request, FastCGI
//!    (`FCGI_GET_VALUES`, or a request to PHP-FPM's `ping.path`), uwsgi,
//!    SCGI, the HTTP/2 preface (gRPC), memcached, or a TLS handshake without
//!    SNI unless `proxy_ssl_server_name` is on — and keeps the raw facts
//!    (status, `Server`, header-block size against the buffer, FastCGI
//!    records and STDERR, TLS version, ALPN, certificate and verification
//!    result);
//! 4. **identifies** what the peer really speaks on fresh connections when
//!    nginx's protocol got silence, a close, or foreign bytes, so it can say
//!    "nginx talks FastCGI to this port but it answers HTTP";
//! 5. for unix sockets, checks **as the worker** whether the `user`
//!    directive's uid/gid/groups may connect (and, as root, really tries
//!    from a child with those credentials);
//! 6. **concludes** with a [`Verdict`], the SPEC [`Cause`] it points to, and
//!    a sentence that says it first.
//!
//! ```no_run
//! use badgateway_probe::{ProbeOptions, Target, probe_one};
//! let target = Target::parse("fastcgi://127.0.0.1:9000").unwrap();
//! let report = probe_one(&target, &ProbeOptions::default());
//! println!("{}", report.summary);
//! ```
//!
//! [`probe_one`] and [`probe_many`] are blocking; inside they run a
//! current-thread tokio runtime, many targets concurrently under a cap, each
//! phase under a timeout. The protocol parsers ([`http`], [`fastcgi`],
//! [`cgi`], [`h2`], [`tls_wire`], [`x509`], [`sniff`]) are pure functions
//! over bytes, unit-tested and fuzzed.
//!
//! [`Cause`]: badgateway_cause::Cause

pub mod cgi;
pub mod connect;
pub mod exchange;
pub mod fastcgi;
pub mod h2;
pub mod http;
pub mod limits;
pub mod report;
pub mod resolve;
pub mod run;
pub mod sniff;
pub mod summary;
pub mod target;
pub mod tls;
pub mod tls_wire;
pub mod worker;
pub mod worker_attempt;
pub mod x509;

pub use connect::ConnectOutcome;
pub use report::{Attempt, ProbeReport, Verdict, WorkerCheck};
pub use resolve::Resolution;
pub use run::{ProbeOptions, probe_many, probe_one};
pub use sniff::Speaks;
pub use target::{Endpoint, Scheme, Target, TargetError};
pub use worker::{Access, IdentityError, WorkerIdentity, check_access};
