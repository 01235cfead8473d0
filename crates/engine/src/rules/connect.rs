//! Failures to connect: nothing listening (down, or listening elsewhere),
//! unix sockets missing, forbidden or overloaded, timeouts, unreachable
//! networks, local policy.

use badgateway_cause::Cause;

use super::{Draft, config_site};
use crate::context::Ctx;
use crate::evidence::{LogGroup, split_ip_port};
use crate::finding::Proof;

/// `connect() failed (111)` to a TCP peer: down, or listening elsewhere.
pub fn refused(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let Some(addr) = g.upstream.as_deref() else {
        return;
    };
    if let Some(path) = addr.strip_prefix("unix:") {
        // a socket file with nobody behind it: the backend died or was
        // restarted elsewhere and left its socket behind
        d.cause = Cause::UpstreamDown;
        d.summary = format!(
            "Nothing accepts connections on the unix socket {path}: the socket file is stale (the backend is stopped)."
        );
        d.fix = format!(
            "Start the backend that serves {path} (e.g. `systemctl status php*-fpm`), then check its log for why it stopped."
        );
        return;
    }
    let site = config_site(ctx, addr);
    let probe = ctx.probe(addr);
    if let Some(p) = probe {
        if p.connect == "ok" {
            d.live = false;
            d.cause = Cause::UpstreamDown;
            d.summary = format!(
                "{addr} refused connections from {} to {}; it accepts them again now.",
                g.first, g.last
            );
            d.evidence.push(Proof::fact(
                "probe",
                format!("connect to {addr}: ok ({:.1} ms)", p.ms),
            ));
            d.fix = format!(
                "The backend at {addr} was down or restarting. Check its own log and process manager for restarts around {}; nginx needs no change.",
                g.first
            );
            d.confidence = 0.7;
            return;
        }
        d.failing_now(
            "probe",
            format!(
                "connect to {addr}: {} now",
                describe_connect(p.connect.as_str(), p.errno)
            ),
        );
    }
    let Some((ip, port)) = split_ip_port(addr) else {
        d.cause = Cause::UpstreamDown;
        d.summary = format!("Nothing listens at {addr}.");
        d.fix = format!("Start the backend at {addr}, or fix the address{site}.");
        return;
    };
    if !ctx.host_inspected() {
        d.cause = Cause::UpstreamDown;
        d.confidence = if d.live { 0.8 } else { 0.6 };
        d.summary = format!("{addr} refuses connections: no backend listens there.");
        d.fix = format!(
            "Start the backend that should listen on {addr} and check its own log; if it listens elsewhere, change the address{site}. (Run badgateway on the nginx host to see what does listen.)"
        );
        return;
    }
    // Something listening on the same port at another address, the other
    // loopback family, or a neighbouring port, is where nginx should point.
    let same_port: Vec<_> = ctx
        .listening_on_port(port)
        .into_iter()
        .filter(|l| !ctx.is_nginx(l))
        .collect();
    // A neighbouring port that nginx already uses for another backend is
    // that backend, not where this one went.
    let nearby: Vec<_> = ctx
        .listening_nearby(ip, port, 10)
        .into_iter()
        .filter(|l| !ctx.is_configured_peer(&l.address))
        .collect();
    let pools: Vec<_> = ctx
        .ev
        .host
        .php_pools
        .iter()
        .filter(|p| g.schema.as_deref() == Some("fastcgi://") && p.listen != addr)
        .collect();
    if let Some(l) = same_port.first() {
        d.cause = Cause::AddressMismatch;
        d.confidence = 0.9;
        let who = l
            .process
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        // Written as a name (`localhost`) that resolves to both families?
        let hostname = ctx.upstream_of(addr).and_then(|(_, p)| p?.hostname.clone());
        let other_family =
            ip.is_ipv6() != split_ip_port(&l.address).is_some_and(|(i, _)| i.is_ipv6());
        let family = match (&hostname, other_family) {
            (Some(h), true) => format!(
                " — an IPv4/IPv6 mismatch: `{h}` resolves to both families and nginx tries each address in turn"
            ),
            (None, true) => " — an IPv4/IPv6 mismatch".to_owned(),
            (_, false) => String::new(),
        };
        let literal = hostname
            .as_deref()
            .map(|h| format!(" (use the IP literal, not `{h}`)"))
            .unwrap_or_default();
        d.summary = format!(
            "nginx connects to {addr}, but the backend{who} listens on {} instead{family}.",
            l.address
        );
        d.evidence.push(Proof::fact(
            "host",
            format!("listening: {}{who}; nothing on {addr}", l.address),
        ));
        d.fix = format!(
            "Point nginx at {}{site}{literal}, or make the backend listen on {addr}; then `nginx -t && nginx -s reload`.",
            l.address
        );
    } else if let Some(pool) = pools.first() {
        d.cause = Cause::AddressMismatch;
        d.confidence = 0.85;
        d.summary = format!(
            "nginx sends FastCGI to {addr}, but PHP-FPM pool '{}' listens on {}.",
            pool.name, pool.listen
        );
        d.evidence.push(Proof::fact(
            "host",
            format!(
                "php-fpm pool {} listen = {} ({})",
                pool.name, pool.listen, pool.defined_at
            ),
        ));
        let target = if pool.listen.starts_with('/') {
            format!("unix:{}", pool.listen)
        } else {
            pool.listen.clone()
        };
        d.fix = format!(
            "fastcgi_pass {target};{site} — or set `listen = {addr}` in {}.",
            pool.defined_at
        );
    } else if let Some(l) = nearby.first() {
        d.cause = Cause::AddressMismatch;
        d.confidence = 0.6;
        let who = l
            .process
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        d.summary = format!(
            "Nothing listens on {addr}, but {}{who} does: a wrong port?",
            l.address
        );
        d.evidence.push(Proof::fact(
            "host",
            format!("listening nearby: {}{who}; nothing on {addr}", l.address),
        ));
        d.fix = format!(
            "If {}{who} is the backend, point nginx at it{site}; otherwise start the backend on {addr}.",
            l.address
        );
    } else {
        d.cause = Cause::UpstreamDown;
        d.confidence = if d.live { 0.9 } else { 0.75 };
        d.summary = format!("Nothing listens on {addr}: the backend is down.");
        d.evidence.push(Proof::fact(
            "host",
            format!("no listening socket on port {port}"),
        ));
        d.fix = format!(
            "Start the backend that should listen on {addr} and read its own log for why it stopped; if it moved, change the address{site}."
        );
    }
}

/// `connect() to unix:… failed (2)`: the socket file does not exist.
pub fn socket_missing(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let Some(addr) = g.upstream.as_deref() else {
        return;
    };
    let path = addr.trim_start_matches("unix:");
    let site = config_site(ctx, addr);
    let alternatives = socket_alternatives(ctx, path);
    if let Some(p) = ctx.probe(addr) {
        d.live = p.connect != "ok";
        d.evidence.push(Proof::fact(
            "probe",
            format!(
                "connect to {addr}: {}",
                describe_connect(&p.connect, p.errno)
            ),
        ));
    }
    if let Some(fact) = ctx.ev.host.paths.iter().find(|f| f.path == path)
        && fact.kind == "missing"
    {
        d.failing_now("host", format!("{path}: does not exist"));
    }
    d.cause = Cause::SocketMissing;
    d.confidence = 0.95;
    match alternatives.first() {
        Some(alt) => {
            let pool = ctx.php_pool_at(&alt.path);
            let owner = pool
                .map(|p| format!(" (PHP-FPM pool '{}', {})", p.name, p.defined_at))
                .unwrap_or_default();
            let existing: Vec<&str> = alternatives
                .iter()
                .filter(|a| a.exists)
                .map(|a| a.path.as_str())
                .collect();
            if !existing.is_empty() {
                d.evidence.push(Proof::fact(
                    "host",
                    format!("existing sockets: {}", existing.join(", ")),
                ));
            }
            let directive = directive_for(g.schema.as_deref());
            let alt_path = &alt.path;
            if alt.exists {
                d.summary = format!(
                    "The socket {path} does not exist; {alt_path}{owner} does — the backend's socket was renamed (e.g. a PHP version upgrade)."
                );
                d.fix = format!(
                    "{directive} unix:{alt_path};{site} then `nginx -t && nginx -s reload`."
                );
            } else {
                d.summary = format!(
                    "The socket {path} does not exist; the backend is configured to listen on {alt_path}{owner}, which does not exist either: it is not running, and nginx names an old path (e.g. after a PHP version upgrade)."
                );
                let start = match php_service(alt_path) {
                    Some(s) => format!("`systemctl start {s}`"),
                    None => "start the backend".to_owned(),
                };
                d.fix = format!(
                    "{directive} unix:{alt_path};{site}, {start}, then `nginx -t && nginx -s reload`."
                );
            }
        }
        None => {
            d.summary = format!(
                "The socket {path} does not exist: the backend is not running, or listens elsewhere."
            );
            let start = match php_service(path) {
                Some(s) => format!("Start the backend (`systemctl start {s}`)"),
                None => "Start the backend".to_owned(),
            };
            d.fix = format!(
                "{start} and make its `listen` match {path}, or change the path{site}. If it runs under systemd with PrivateTmp, sockets under /tmp are invisible to nginx: use /run."
            );
        }
    }
}

/// The systemd unit a Debian-style PHP-FPM socket belongs to
/// (`/run/php/php8.1-fpm.sock` → `php8.1-fpm`).
fn php_service(path: &str) -> Option<&str> {
    let stem = path.rsplit('/').next()?.strip_suffix(".sock")?;
    let ver = stem.strip_prefix("php")?.strip_suffix("-fpm")?;
    (ver.is_empty() || ver.chars().all(|c| c.is_ascii_digit() || c == '.')).then_some(stem)
}

/// A socket nginx could use instead of a missing one.
struct Alternative {
    path: String,
    /// The socket file exists now (otherwise it is a PHP-FPM pool's
    /// configured `listen` with no socket: the pool is not running).
    exists: bool,
}

/// Sockets beside the missing one (or PHP-FPM's), and the sockets PHP-FPM
/// pools are configured to listen on, most alike in name first (a renamed
/// `php7.4-fpm.sock` → `php8.2-fpm.sock` before an unrelated one), existing
/// ones first among equals.
fn socket_alternatives(ctx: &Ctx<'_>, path: &str) -> Vec<Alternative> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut out: Vec<Alternative> = ctx
        .ev
        .host
        .socket_files
        .iter()
        .filter(|s| {
            s.as_str() != path
                && (s.rsplit_once('/').map_or("", |(d, _)| d) == dir || s.contains("fpm"))
        })
        .map(|s| Alternative {
            path: s.clone(),
            exists: true,
        })
        .collect();
    for pool in &ctx.ev.host.php_pools {
        if pool.listen.starts_with('/')
            && pool.listen != path
            && !out.iter().any(|a| a.path == pool.listen)
        {
            out.push(Alternative {
                path: pool.listen.clone(),
                exists: ctx.ev.host.socket_files.contains(&pool.listen),
            });
        }
    }
    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
    let wanted = name(path);
    out.sort_by_key(|a| {
        (
            std::cmp::Reverse(name_likeness(&wanted, &name(&a.path))),
            !a.exists,
        )
    });
    out
}

/// How alike two file names are: the length of their common prefix plus
/// that of their common suffix (`php7.4-fpm.sock` and `php8.2-fpm.sock`
/// share `php` and `-fpm.sock`).
fn name_likeness(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (prefix + suffix).min(a.len().min(b.len()))
}

/// nginx fails to connect to an address its config names only through a
/// host name that resolves elsewhere now: it resolved the name once, at
/// start-up, and the backend has moved (a container restarted with a new
/// IP). Returns whether it applied.
pub fn name_moved(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) -> bool {
    let Some(addr) = g.upstream.as_deref() else {
        return false;
    };
    let Some((name, peers)) = ctx.moved_name(addr) else {
        return false;
    };
    let now: Vec<&str> = peers.iter().map(|p| p.address.as_str()).collect();
    let reachable: Vec<&str> = now
        .iter()
        .copied()
        .filter(|a| ctx.probe(a).is_some_and(|p| p.connect == "ok"))
        .collect();
    d.cause = Cause::AddressMismatch;
    d.confidence = if reachable.is_empty() { 0.75 } else { 0.9 };
    d.summary = format!(
        "nginx connects to {addr}, but `{name}` resolves to {} now: nginx resolved the name once, when it started or last reloaded, and the backend has moved since (e.g. a container restarted with a new IP).",
        now.join(", ")
    );
    d.evidence.push(Proof::fact(
        "config",
        format!(
            "`{name}` at {} resolves now to {}",
            peers[0].defined_at.as_deref().unwrap_or("the config"),
            now.join(", ")
        ),
    ));
    if !reachable.is_empty() {
        d.evidence.push(Proof::fact(
            "probe",
            format!("{} accepts connections now", reachable.join(", ")),
        ));
    }
    for p in &peers {
        if let Some(at) = &p.defined_at
            && !d.locations.contains(at)
        {
            d.locations.push(at.clone());
        }
    }
    let port = split_ip_port(addr).map_or(0, |(_, p)| p);
    d.fix = format!(
        "Reload nginx so it resolves `{name}` again: `nginx -t && nginx -s reload`. To follow future moves without a reload, resolve at run time: a `resolver` (127.0.0.11 in Docker) with the name in a variable in `proxy_pass`, or `server {name}:{port} resolve;` in an upstream with a `zone` (nginx 1.27.3 or later)."
    );
    true
}

/// `(13: Permission denied)` on a unix socket.
pub fn socket_permission(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let Some(addr) = g.upstream.as_deref() else {
        return;
    };
    let path = addr.trim_start_matches("unix:");
    let user = ctx
        .ev
        .nginx
        .worker_user
        .clone()
        .unwrap_or_else(|| "the nginx worker user".into());
    d.cause = Cause::SocketPermission;
    d.confidence = 0.95;
    d.summary = format!("nginx's worker ({user}) may not connect to {path}.");
    if let Some(f) = ctx.ev.host.paths.iter().find(|f| f.path == path) {
        if let Some((o, gr, m)) = &f.owner {
            d.evidence.push(Proof::fact(
                "host",
                format!("{path}: owner {o}, group {gr}, mode {m}"),
            ));
        }
        if let Some((false, why)) = &f.worker_may_connect {
            d.failing_now("host", format!("{user} cannot connect: {why}"));
        }
    }
    if let Some(p) = ctx.probe(addr)
        && let Some((ok, errno)) = p.as_worker
    {
        d.live |= !ok;
        d.evidence.push(Proof::fact(
            "probe",
            format!(
                "connect as {user}: {}",
                if ok {
                    "ok".into()
                } else {
                    describe_connect("permission-denied", errno)
                }
            ),
        ));
    }
    let pool = ctx.php_pool(addr);
    d.fix = match pool {
        Some(p) => format!(
            "In {} (pool '{}') set `listen.owner = {user}`, `listen.group = {user}`, `listen.mode = 0660`, then restart PHP-FPM.",
            p.defined_at, p.name
        ),
        None => format!(
            "Let {user} write to the socket: have the backend create {path} with group {user} and mode 0660 (or add {user} to the socket's group), and make every parent directory searchable (x) for it."
        ),
    };
}

/// `(11: Resource temporarily unavailable)` on a unix socket: backlog full.
pub fn overloaded(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    d.cause = Cause::BackendOverloaded;
    d.confidence = 0.9;
    d.summary = format!(
        "The backend behind {addr} accepts connections too slowly: its listen queue is full."
    );
    let pool = ctx.php_pool(addr);
    match pool {
        Some(p) => {
            if p.max_children_reached > 0 {
                d.evidence.push(Proof {
                    kind: "host",
                    text: format!("php-fpm pool '{}': server reached pm.max_children setting ({})", p.name, p.max_children.map_or("?".into(), |n| n.to_string())),
                    count: Some(p.max_children_reached),
                    first: None,
                    last: None,
                });
            }
            d.fix = format!(
                "Raise `pm.max_children` (now {}) in {} if memory allows, and `listen.backlog`; find the slow requests with PHP-FPM's slowlog.",
                p.max_children.map_or("default".into(), |n| n.to_string()),
                p.defined_at
            );
        }
        None => {
            d.fix = "Add backend workers or make requests faster; raise the backend's listen backlog (and net.core.somaxconn).".into()
        }
    }
}

/// Connection-level timeouts, unreachable networks, policy denials.
pub fn connect_other(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    let site = config_site(ctx, addr);
    if let Some(p) = ctx.probe(addr) {
        d.live = p.connect != "ok";
        d.evidence.push(Proof::fact(
            "probe",
            format!(
                "connect to {addr}: {}",
                describe_connect(&p.connect, p.errno)
            ),
        ));
    }
    match g.cause {
        Cause::ConnectTimeout => {
            d.summary = format!(
                "Connections to {addr} time out: SYNs go unanswered (firewall DROP, host down, or a full listen backlog)."
            );
            let timeout = ctx
                .upstream_of(addr)
                .and_then(|(u, _)| u.settings.connect_timeout.clone())
                .map(|s| {
                    format!(
                        " (connect timeout {}{})",
                        s.text,
                        s.at.map(|a| format!(" at {a}")).unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            d.fix = format!(
                "Check that the host behind {addr} is up and that no firewall drops traffic to it{timeout}; if the address changed, fix it{site}."
            );
        }
        Cause::NetworkUnreachable => {
            d.summary = format!(
                "There is no route to {addr} (host down, firewall REJECT, or no IPv6 route)."
            );
            d.fix = format!(
                "Check routing and firewalls between nginx and {addr}; for an IPv6 address without IPv6 connectivity use `resolver … ipv6=off` or an IPv4 address{site}."
            );
        }
        Cause::PolicyDenied => {
            let selinux = ctx.ev.host.selinux.as_ref();
            if let Some((mode, boolean)) = selinux {
                d.evidence.push(Proof::fact(
                    "host",
                    format!(
                        "SELinux {mode}, httpd_can_network_connect = {}",
                        boolean.map_or("?", |b| if b { "on" } else { "off" })
                    ),
                ));
            }
            d.summary = format!("A local security policy forbids nginx to connect to {addr}.");
            d.fix = "On SELinux: `setsebool -P httpd_can_network_connect 1`; otherwise check AppArmor's nginx profile and local OUTPUT firewall rules.".into();
        }
        _ => {}
    }
}

pub(crate) fn describe_connect(outcome: &str, errno: Option<i32>) -> String {
    match errno {
        Some(e) => format!("{outcome} (errno {e})"),
        None => outcome.to_owned(),
    }
}

/// The directive name for a schema from the log's `upstream:` field.
pub(crate) fn directive_for(schema: Option<&str>) -> &'static str {
    match schema {
        Some("fastcgi://") => "fastcgi_pass",
        Some("uwsgi://") | Some("suwsgi://") => "uwsgi_pass",
        Some("scgi://") => "scgi_pass",
        Some("grpc://") | Some("grpcs://") => "grpc_pass",
        Some("memcached://") => "memcached_pass",
        _ => "proxy_pass",
    }
}
