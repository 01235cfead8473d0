//! Running probes: resolve (once per host), connect to every address in
//! nginx's order, talk nginx's protocol, identify the peer's protocol when
//! the answer is inconclusive, check the worker's access to unix sockets,
//! and conclude. Blocking entry points run a current-thread tokio runtime;
//! many targets run concurrently under a cap, each bounded by timeouts.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::connect::{self, ConnectOutcome, Connected, Stream};
use crate::exchange::{self, Ended, Exchange};
use crate::report::{Attempt, DEFAULT_BUFFER_SIZE, ProbeReport, WorkerCheck};
use crate::resolve::{self, Resolution};
use crate::sniff::{Sent, Speaks};
use crate::target::{Endpoint, Scheme, Target};
use crate::tls::{self, TlsContext};
use crate::worker::{self, WorkerIdentity};
use crate::worker_attempt;

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Connect timeout (nginx: `proxy_connect_timeout`).
    pub connect_timeout: Duration,
    /// Timeout for the TLS handshake.
    pub tls_timeout: Duration,
    /// Timeout for reading an answer (nginx: `proxy_read_timeout`).
    pub read_timeout: Duration,
    /// Upper bound for one target, identification included.
    pub deadline: Duration,
    /// How many targets run at once.
    pub concurrency: usize,
    /// Header buffer size when the target does not say (one page).
    pub buffer_size: usize,
    /// Whether to identify the peer's protocol on fresh connections when
    /// nginx's protocol gets silence, a close, or unknown bytes.
    pub identify: bool,
    /// The nginx worker's identity, for unix-socket permission checks.
    pub worker: Option<WorkerIdentity>,
    /// `proxy_ssl_trusted_certificate` (else the system bundle).
    pub trusted_certificate: Option<PathBuf>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions::with_timeout(Duration::from_millis(1500))
    }
}

impl ProbeOptions {
    /// Options with every phase bounded by `timeout` (deadline 4×).
    pub fn with_timeout(timeout: Duration) -> ProbeOptions {
        ProbeOptions {
            connect_timeout: timeout,
            tls_timeout: timeout,
            read_timeout: timeout,
            deadline: timeout * 4,
            concurrency: 1024,
            buffer_size: DEFAULT_BUFFER_SIZE,
            identify: true,
            worker: None,
            trusted_certificate: None,
        }
    }
}

struct Ctx {
    opts: ProbeOptions,
    tls: Option<TlsContext>,
}

/// Probe one target (blocking).
pub fn probe_one(target: &Target, opts: &ProbeOptions) -> ProbeReport {
    probe_many(std::slice::from_ref(target), opts)
        .pop()
        .expect("one report per target")
}

/// Probe many targets concurrently (at most `opts.concurrency` at once;
/// blocking). Reports come back in the order of `targets`.
pub fn probe_many(targets: &[Target], opts: &ProbeOptions) -> Vec<ProbeReport> {
    let needs_tls = targets.iter().any(|t| t.scheme.is_tls()) || opts.identify;
    let ctx = Arc::new(Ctx {
        tls: needs_tls.then(|| TlsContext::new(opts.trusted_certificate.as_deref())),
        opts: opts.clone(),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("a current-thread runtime can always be built");
    let reports = rt.block_on(run_all(targets.to_vec(), ctx));
    // getaddrinfo threads that outlived their timeout are not waited for.
    rt.shutdown_background();
    reports
}

async fn run_all(targets: Vec<Target>, ctx: Arc<Ctx>) -> Vec<ProbeReport> {
    // Resolve each distinct host once, concurrently.
    let mut hosts: Vec<String> = targets
        .iter()
        .filter_map(|t| match &t.endpoint {
            Endpoint::Tcp { host, .. } => Some(host.clone()),
            Endpoint::Unix { .. } => None,
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    let limit = ctx.opts.connect_timeout.max(Duration::from_millis(100));
    let mut lookups = JoinSet::new();
    for host in hosts {
        lookups.spawn(async move {
            let h = host.clone();
            let r = tokio::time::timeout(
                limit,
                tokio::task::spawn_blocking(move || resolve::resolve(&h)),
            )
            .await;
            let res = match r {
                Ok(Ok(res)) => res,
                _ => Resolution {
                    host: host.clone(),
                    getaddrinfo_order: Vec::new(),
                    addresses: Vec::new(),
                    eai: Some(libc::EAI_AGAIN),
                    eai_name: Some("EAI_AGAIN"),
                    error: Some("getaddrinfo did not answer before the timeout".into()),
                    literal: false,
                    ms: limit.as_secs_f64() * 1e3,
                },
            };
            (host, res)
        });
    }
    let mut resolved: HashMap<String, Resolution> = HashMap::new();
    while let Some(Ok((h, r))) = lookups.join_next().await {
        resolved.insert(h, r);
    }
    let resolved = Arc::new(resolved);
    let cap = crate::limits::afford(ctx.opts.concurrency.max(1).min(targets.len().max(1)));
    let sem = Arc::new(Semaphore::new(cap));
    let mut set = JoinSet::new();
    for (i, target) in targets.into_iter().enumerate() {
        let (ctx, sem, resolved) = (ctx.clone(), sem.clone(), resolved.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            (i, probe_target(&target, &ctx, &resolved).await)
        });
    }
    let mut out: Vec<Option<ProbeReport>> = Vec::new();
    out.resize_with(set.len(), || None);
    while let Some(joined) = set.join_next().await {
        if let Ok((i, report)) = joined {
            out[i] = Some(report);
        }
    }
    out.into_iter().flatten().collect()
}

enum Addr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Addr {
    fn label(&self) -> String {
        match self {
            Addr::Tcp(a) => a.to_string(),
            Addr::Unix(p) => format!("unix:{}", p.display()),
        }
    }
    fn family(&self) -> &'static str {
        match self {
            Addr::Tcp(a) if a.is_ipv4() => "ipv4",
            Addr::Tcp(_) => "ipv6",
            Addr::Unix(_) => "unix",
        }
    }
    async fn connect(&self, timeout: Duration) -> Connected {
        match self {
            Addr::Tcp(a) => connect::connect_tcp(*a, timeout).await,
            Addr::Unix(p) => connect::connect_unix(p, timeout).await,
        }
    }
}

async fn probe_target(
    target: &Target,
    ctx: &Ctx,
    resolved: &HashMap<String, Resolution>,
) -> ProbeReport {
    let start = Instant::now();
    let buffer_size = target.buffer_size.unwrap_or(ctx.opts.buffer_size);
    let timeout_ms = ctx.opts.read_timeout.as_secs_f64() * 1e3;
    let (addrs, resolution) = match &target.endpoint {
        Endpoint::Tcp { host, port } => {
            let res = resolved.get(host).cloned();
            let addrs: Vec<Addr> = res
                .as_ref()
                .map(|r| {
                    r.addresses
                        .iter()
                        .map(|ip: &IpAddr| Addr::Tcp(SocketAddr::new(*ip, *port)))
                        .collect()
                })
                .unwrap_or_default();
            (addrs, res)
        }
        Endpoint::Unix { path } => (vec![Addr::Unix(path.clone())], None),
    };
    let mut attempts = Vec::new();
    if addrs.is_empty() {
        attempts.push(Attempt::new(
            target.endpoint.to_string(),
            "dns",
            ConnectOutcome::DnsFailure,
            None,
            0.0,
        ));
    }
    for addr in &addrs {
        attempts.push(probe_address(target, addr, ctx, start, buffer_size).await);
    }
    for a in &mut attempts {
        a.conclude(target.scheme, buffer_size);
    }
    let worker = match (&target.endpoint, &ctx.opts.worker) {
        (Endpoint::Unix { path }, Some(who)) => {
            Some(worker_check(who, path, ctx.opts.connect_timeout).await)
        }
        _ => None,
    };
    ProbeReport::assemble(
        target,
        resolution,
        attempts,
        worker,
        buffer_size,
        timeout_ms,
        crate::connect::ms_since(start),
    )
}

async fn worker_check(
    who: &WorkerIdentity,
    path: &std::path::Path,
    timeout: Duration,
) -> WorkerCheck {
    let (chain, missing) = worker::path_chain(path);
    let mut computed = worker::check_access(who, &chain);
    computed.missing = missing;
    if computed.missing.is_some() {
        computed.allowed = false;
    }
    let (attempt, attempt_skipped) = if !worker_attempt::is_root() {
        (None, Some("not running as root".to_owned()))
    } else if who.uid == 0 {
        (None, Some("the worker runs as root".to_owned()))
    } else {
        let (w, p) = (who.clone(), path.to_path_buf());
        match tokio::task::spawn_blocking(move || worker_attempt::connect_as(&w, &p, timeout)).await
        {
            Ok(Ok(a)) => (Some(a), None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    WorkerCheck {
        identity: who.clone(),
        chain,
        computed,
        attempt,
        attempt_skipped,
    }
}

fn remaining(start: Instant, ctx: &Ctx, phase: Duration) -> Option<Duration> {
    let left = ctx.opts.deadline.checked_sub(start.elapsed())?;
    (left > Duration::from_millis(10)).then(|| left.min(phase))
}

async fn probe_address(
    target: &Target,
    addr: &Addr,
    ctx: &Ctx,
    start: Instant,
    buffer_size: usize,
) -> Attempt {
    let connect_timeout =
        remaining(start, ctx, ctx.opts.connect_timeout).unwrap_or(Duration::from_millis(10));
    let c = addr.connect(connect_timeout).await;
    let mut attempt = Attempt::new(addr.label(), addr.family(), c.outcome, c.errno, c.ms);
    let Some(stream) = c.stream else {
        return attempt;
    };
    let cap = buffer_size.max(65536) + 1;
    let primary = primary_sent(target);
    let ex = if target.scheme.is_tls() {
        let inner = if target.scheme == Scheme::Grpcs {
            Sent::H2Preface
        } else {
            Sent::HttpRequest
        };
        tls_exchange(
            target,
            stream,
            ctx,
            (start, ctx.opts.tls_timeout),
            target.sni,
            Some(inner),
            cap,
        )
        .await
    } else {
        let timeout =
            remaining(start, ctx, ctx.opts.read_timeout).unwrap_or(Duration::from_millis(10));
        let mut s = stream;
        let payload = exchange::payload(primary, target);
        let talk = exchange::talk(&mut s, primary, &payload, timeout, cap);
        if ctx.opts.identify && asks_http_early(primary) {
            let (ex, http) = talk_or_http(target, addr, ctx, start, primary, talk, cap).await;
            attempt.identify.extend(http);
            ex
        } else {
            talk.await
        }
    };
    let inconclusive = !ex.speaks.is_protocol()
        || ex.tls.as_ref().is_some_and(|t| {
            !t.ok && t.peer_speaks.is_none() && t.alert.is_none() && !t.legacy_only
        });
    attempt.exchange = Some(ex);
    // TLS: the handshake with SNI the other way round, when a name exists.
    if target.scheme.is_tls()
        && let Some(name) = target.tls_name()
        && name.parse::<IpAddr>().is_err()
        && remaining(start, ctx, ctx.opts.tls_timeout).is_some()
    {
        let c = addr.connect(ctx.opts.connect_timeout).await;
        if let Some(stream) = c.stream {
            let alt = tls_exchange(
                target,
                stream,
                ctx,
                (start, ctx.opts.tls_timeout),
                !target.sni,
                None,
                cap,
            )
            .await;
            attempt.tls_alternate = alt.tls;
        }
    }
    if inconclusive && ctx.opts.identify && attempt.identify.is_empty() {
        let reaction = attempt
            .exchange
            .as_ref()
            .map_or(ctx.opts.read_timeout, |ex| {
                if ex.ended == Ended::Timeout {
                    ctx.opts.read_timeout
                } else {
                    Duration::from_secs_f64(ex.first_byte_ms.unwrap_or(ex.ms).max(0.0) / 1e3)
                }
            });
        attempt.identify = identify(target, addr, ctx, start, primary, cap, reaction).await;
    }
    attempt
}

/// Whether a silent answer to nginx's protocol is worth an early HTTP
/// question: nginx speaks a protocol an HTTP server does not answer at all
/// (it waits for the blank line of a request that never comes), the most
/// common mismatch (`fastcgi_pass`, `uwsgi_pass`, `grpc_pass` to an HTTP
/// backend).
fn asks_http_early(primary: Sent) -> bool {
    primary.protocol() != Sent::HttpRequest.protocol()
        && !matches!(primary, Sent::TlsClientHello | Sent::MemcachedVersion)
}

/// nginx's exchange, and meanwhile — once it has been silent for
/// [`IDENTIFY_FLOOR`] — the same peer asked in HTTP on a second connection.
/// An HTTP answer there establishes the mismatch without waiting out the
/// read timeout: nginx's exchange is then reported as silent for as long
/// as it was waited for. Otherwise nginx's exchange runs to its end (the
/// HTTP exchange is dropped; identification, if still needed, follows).
async fn talk_or_http(
    target: &Target,
    addr: &Addr,
    ctx: &Ctx,
    start: Instant,
    primary: Sent,
    talk: impl Future<Output = Exchange> + Send,
    cap: usize,
) -> (Exchange, Option<Exchange>) {
    let began = Instant::now();
    let mut talk = std::pin::pin!(talk);
    tokio::select! {
        ex = &mut talk => return (ex, None),
        () = tokio::time::sleep(IDENTIFY_FLOOR) => {}
    }
    let Some(timeout) = remaining(start, ctx, ctx.opts.read_timeout) else {
        return (talk.await, None);
    };
    let http = identify_one(target, addr, ctx, start, Sent::HttpRequest, cap, timeout);
    let mut http = std::pin::pin!(http);
    let answered = tokio::select! {
        ex = &mut talk => return (ex, None),
        h = &mut http => h,
    };
    match answered {
        Some(h) if h.speaks == Speaks::Http => {
            let mut ex = Exchange::new(primary);
            ex.speaks = Speaks::Silent;
            ex.ended = Ended::Timeout;
            ex.ms = crate::connect::ms_since(began);
            (ex, Some(h))
        }
        _ => (talk.await, None),
    }
}

/// The least time an identification exchange is given.
const IDENTIFY_FLOOR: Duration = Duration::from_millis(250);

/// Identify the protocol of a peer whose answer to nginx's protocol was
/// inconclusive, on fresh connections.
///
/// Each exchange gets the read timeout scaled to how fast the peer reacted
/// to nginx's protocol (`reaction`: its first byte, close or reset; the
/// whole read timeout when it stayed silent): a peer that closed nginx's
/// request within a millisecond answers its own protocol's opening just as
/// fast, while a busy peer that made nginx's request wait keeps the whole
/// timeout. The exchanges first run all at once, so a peer silent to every
/// foreign protocol costs one such timeout, not one per protocol. When none
/// shows a protocol, some stay silent and nothing after the first silent
/// one got a reaction, the peer may serve one connection at a time (one
/// worker sitting on a connection whose opening it takes for the start of a
/// long request, while the later ones queue): the silent ones are then
/// tried again one after another, as nginx's next request would find it. The result keeps the order of [`identification_order`] and ends
/// at the first exchange that shows a protocol or whose connect failed.
async fn identify(
    target: &Target,
    addr: &Addr,
    ctx: &Ctx,
    start: Instant,
    primary: Sent,
    cap: usize,
    reaction: Duration,
) -> Vec<Exchange> {
    let phase = ctx
        .opts
        .read_timeout
        .min(IDENTIFY_FLOOR.saturating_add(reaction.saturating_mul(8)));
    let order = identification_order(primary);
    let Some(timeout) = remaining(start, ctx, phase) else {
        return Vec::new();
    };
    let all_at_once = settle(
        order
            .iter()
            .map(|&sent| identify_one(target, addr, ctx, start, sent, cap, timeout))
            .collect(),
    )
    .await;
    let mut results: Vec<Option<Exchange>> = all_at_once.into_iter().map(Option::flatten).collect();
    let conclusive = results
        .iter()
        .any(|r| r.as_ref().is_none_or(|ex| ex.speaks.is_protocol()));
    let silent = |r: &Option<Exchange>| matches!(r, Some(ex) if ex.speaks == Speaks::Silent);
    // Connections are accepted in the order they were opened. A peer that
    // reacted to a later one while an earlier one still sat silent (well
    // before that one's wait ended and closed it) serves connections side
    // by side: its silences are its answers.
    let first_silent = results.iter().position(silent);
    let side_by_side = first_silent.is_some_and(|f| {
        let held_ms = results[f].as_ref().map_or(0.0, |ex| ex.ms);
        results[f + 1..]
            .iter()
            .flatten()
            .any(|ex| ex.speaks != Speaks::Silent && ex.ms < held_ms / 2.0)
    });
    if conclusive || results.len() < 2 || first_silent.is_none() || side_by_side {
        return in_order(results.into_iter());
    }
    for (slot, &sent) in order.iter().enumerate() {
        if !silent(&results[slot]) {
            continue;
        }
        let Some(timeout) = remaining(start, ctx, phase) else {
            break;
        };
        let ex = identify_one(target, addr, ctx, start, sent, cap, timeout).await;
        let stop = ex.as_ref().is_none_or(|ex| ex.speaks.is_protocol());
        results[slot] = ex;
        if stop {
            break;
        }
    }
    in_order(results.into_iter())
}

/// The exchanges up to the first that shows a protocol or failed to
/// connect.
fn in_order(results: impl Iterator<Item = Option<Exchange>>) -> Vec<Exchange> {
    let mut out = Vec::new();
    for ex in results.map_while(|r| r) {
        let found = ex.speaks.is_protocol();
        out.push(ex);
        if found {
            break;
        }
    }
    out
}

/// One identification exchange on a fresh connection (`None`: the connect
/// failed).
async fn identify_one(
    target: &Target,
    addr: &Addr,
    ctx: &Ctx,
    start: Instant,
    sent: Sent,
    cap: usize,
    timeout: Duration,
) -> Option<Exchange> {
    let stream = addr.connect(timeout).await.stream?;
    Some(if sent == Sent::TlsClientHello {
        tls_exchange(target, stream, ctx, (start, timeout), false, None, cap).await
    } else {
        let mut s = stream;
        exchange::talk(&mut s, sent, &exchange::payload(sent, target), timeout, cap).await
    })
}

type Pending<'a> = Pin<Box<dyn Future<Output = Option<Exchange>> + Send + 'a>>;

/// Run identification exchanges side by side until the outcome is known:
/// every exchange before the first conclusive one (a protocol shown, or a
/// failed connect) has finished. Slots after it may stay `None`; their
/// exchanges are dropped unfinished, which closes their connections.
async fn settle<'a>(
    futures: Vec<impl Future<Output = Option<Exchange>> + Send + 'a>,
) -> Vec<Option<Option<Exchange>>> {
    let mut pending: Vec<Pending<'a>> = futures
        .into_iter()
        .map(|f| Box::pin(f) as Pending<'a>)
        .collect();
    let mut done: Vec<Option<Option<Exchange>>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (fut, slot) in pending.iter_mut().zip(done.iter_mut()) {
            if slot.is_none()
                && let Poll::Ready(r) = fut.as_mut().poll(cx)
            {
                *slot = Some(r);
            }
        }
        for slot in &done {
            match slot {
                None => return Poll::Pending,
                Some(None) => return Poll::Ready(()),
                Some(Some(ex)) if ex.speaks.is_protocol() => return Poll::Ready(()),
                Some(Some(_)) => {}
            }
        }
        Poll::Ready(())
    })
    .await;
    done
}

/// What nginx sends first for this target.
fn primary_sent(target: &Target) -> Sent {
    match target.scheme {
        Scheme::Http => Sent::HttpRequest,
        Scheme::Https | Scheme::Grpcs => Sent::TlsClientHello,
        Scheme::Fastcgi if target.fastcgi_ping.is_some() => Sent::FastcgiRequest,
        Scheme::Fastcgi => Sent::FastcgiGetValues,
        Scheme::Uwsgi => Sent::UwsgiRequest,
        Scheme::Scgi => Sent::ScgiRequest,
        Scheme::Grpc => Sent::H2Preface,
        Scheme::Memcached => Sent::MemcachedVersion,
    }
}

/// Identification probes to try, most telling first, skipping the
/// protocol nginx already tried.
fn identification_order(primary: Sent) -> Vec<Sent> {
    [
        Sent::HttpRequest,
        Sent::TlsClientHello,
        Sent::FastcgiGetValues,
        Sent::H2Preface,
        Sent::UwsgiRequest,
    ]
    .into_iter()
    .filter(|s| s.protocol() != primary.protocol())
    .collect()
}

/// A TLS handshake bounded by `phase` (and by the deadline of the target
/// probed since `start`), then (when `inner` is set) nginx's request
/// inside it.
async fn tls_exchange(
    target: &Target,
    stream: Stream,
    ctx: &Ctx,
    (start, phase): (Instant, Duration),
    sni: bool,
    inner: Option<Sent>,
    cap: usize,
) -> Exchange {
    let began = Instant::now();
    let mut ex = Exchange::new(Sent::TlsClientHello);
    ex.ended = Ended::Handshake;
    let Some(tls_ctx) = &ctx.tls else {
        ex.speaks = Speaks::Unknown;
        return ex;
    };
    let name = target.tls_name().unwrap_or("localhost");
    let alpn: &[&[u8]] = if target.scheme == Scheme::Grpcs && inner.is_some() {
        &[b"h2"]
    } else {
        &[]
    };
    let timeout = remaining(start, ctx, phase).unwrap_or(Duration::from_millis(10));
    let (facts, tls_stream) = tls::handshake(tls_ctx, stream, name, sni, alpn, timeout).await;
    ex.speaks = if facts.ok || facts.alert.is_some() || facts.legacy_only {
        Speaks::Tls
    } else if let Some(p) = facts.peer_speaks {
        p
    } else {
        match facts.error_kind {
            Some("timeout") => Speaks::Silent,
            Some("closed" | "reset") => Speaks::Closed,
            _ => Speaks::Unknown,
        }
    };
    if !facts.ok && !facts.first_raw.is_empty() {
        ex.bytes = facts.first_raw.len();
        ex.first_bytes = crate::sniff::hex_prefix(&facts.first_raw, 32);
        ex.first_text = String::from_utf8_lossy(&facts.first_raw).into_owned();
        if facts.peer_speaks == Some(Speaks::Http) {
            ex.http = match crate::http::parse_head(&facts.first_raw) {
                crate::http::Head::Complete(h) => Some(h),
                _ => None,
            };
        }
    }
    if let (Some(mut s), Some(sent)) = (tls_stream, inner) {
        let timeout =
            remaining(start, ctx, ctx.opts.read_timeout).unwrap_or(Duration::from_millis(10));
        let inner_ex =
            exchange::talk(&mut s, sent, &exchange::payload(sent, target), timeout, cap).await;
        ex.inner = Some(Box::new(inner_ex));
    }
    ex.tls = Some(facts);
    ex.ms = crate::connect::ms_since(began);
    ex
}
