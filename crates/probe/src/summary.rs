//! The one-sentence conclusion of a probe, verdict first, naming what nginx
//! would log: "nginx would speak FastCGI here, but the peer answers HTTP/1.1
//! 400 (Server: gunicorn) → protocol mismatch". Peer-supplied text appears
//! raw here; text renderers neutralise it.

use crate::connect::ConnectOutcome;
use crate::exchange::Exchange;
use crate::report::{Attempt, ProbeReport, Verdict, sent_name};
use crate::sniff::Speaks;
use crate::target::Scheme;

/// How a person names what nginx speaks.
fn nginx_side(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Https => "TLS (then HTTP)",
        Scheme::Grpcs => "TLS (then HTTP/2)",
        s => s.human(),
    }
}

/// Describe what a peer answered in one exchange.
pub fn describe_answer(ex: &Exchange) -> String {
    match ex.speaks {
        Speaks::Http | Speaks::Uwsgi | Speaks::Scgi => {
            if let Some(h) = &ex.http {
                let server = h
                    .server
                    .as_ref()
                    .map(|s| format!(" (Server: {s})"))
                    .unwrap_or_default();
                let what = if ex.speaks == Speaks::Http {
                    h.version.clone()
                } else {
                    format!("{} with {}", ex.speaks.human(), h.version)
                };
                format!("{what} {}{server}", h.status)
            } else if let Some(c) = &ex.cgi {
                let status = c
                    .status
                    .map(|s| format!(" with status {s}"))
                    .unwrap_or_default();
                format!("{}{status}", ex.speaks.human())
            } else {
                ex.speaks.human().to_owned()
            }
        }
        Speaks::Fastcgi => match &ex.fastcgi {
            Some(f) if !f.values.is_empty() => {
                let vals: Vec<String> = f.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("FastCGI (FCGI_GET_VALUES_RESULT {})", vals.join(" "))
            }
            Some(f) if f.status.is_some() => {
                let body = f.body_prefix.trim();
                let body = if body.is_empty() {
                    String::new()
                } else {
                    format!(", body {:?}", truncate(body, 40))
                };
                format!("FastCGI with status {}{body}", f.status.unwrap_or(0))
            }
            _ => "FastCGI".to_owned(),
        },
        Speaks::H2 => match ex.h2.as_ref().and_then(|h| h.goaway) {
            Some(code) => format!("HTTP/2 (SETTINGS, then GOAWAY {code})"),
            None => "HTTP/2 (SETTINGS frame)".to_owned(),
        },
        Speaks::Tls => match (&ex.tls, &ex.tls_record) {
            (Some(t), _) if t.ok => format!(
                "TLS (a {} handshake)",
                t.version.as_deref().unwrap_or("TLS")
            ),
            (Some(t), _) if t.alert.is_some() => {
                format!("TLS (the alert {})", t.alert.unwrap_or("?"))
            }
            (_, Some(r)) if r.alert.is_some() => {
                let (_, d) = r.alert.unwrap_or_default();
                format!("TLS (the alert {})", crate::tls_wire::alert_name(d))
            }
            _ => "TLS".to_owned(),
        },
        Speaks::Memcached => "memcached".to_owned(),
        Speaks::Unknown => format!("unrecognised bytes {:?}", truncate(&ex.first_text, 40)),
        Speaks::Silent | Speaks::Closed => ex.speaks.human().to_owned(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn connect_failure(a: &Attempt, unix: bool, timeout_s: f64) -> String {
    let what = match a.errno {
        Some(e) => format!(
            "connect() to {} failed ({e}: {})",
            a.address,
            a.error.as_deref().unwrap_or("")
        ),
        None => format!("connect() to {} timed out after {timeout_s} s", a.address),
    };
    let meaning = match a.connect {
        ConnectOutcome::Refused if unix => "no process listens on this socket file (stale socket)",
        ConnectOutcome::Refused => "nothing listens there (nginx: 502)",
        ConnectOutcome::Timeout => {
            "no answer to the connection attempt (SYN dropped, host down, or listen backlog full; nginx: 504)"
        }
        ConnectOutcome::Unreachable => "no route to the backend (nginx: 502)",
        ConnectOutcome::Reset => "the connection was reset while connecting (nginx: 502)",
        ConnectOutcome::PermissionDenied if unix => {
            "the socket's permissions deny this user (nginx: 502, logged at crit)"
        }
        ConnectOutcome::PermissionDenied => {
            "blocked by a local security policy (SELinux, AppArmor, packet filter)"
        }
        ConnectOutcome::NotFound => "the socket file does not exist (nginx: 502, logged at crit)",
        ConnectOutcome::Again => {
            "the socket's listen backlog is full: the backend accepts too slowly (nginx: 502)"
        }
        ConnectOutcome::DnsFailure => "the name does not resolve",
        ConnectOutcome::Error | ConnectOutcome::Ok => "the connection could not be made",
    };
    format!("{what} → {meaning}")
}

/// The sentence for a report.
pub fn sentence(r: &ProbeReport) -> String {
    let side = nginx_side(r.nginx_speaks);
    let timeout_s = (r.timeout_ms / 100.0).round() / 10.0;
    let unix = r.attempts.iter().any(|a| a.family == "unix");
    let Some(a) = r.deciding_attempt() else {
        let res = r.resolution.as_ref();
        return format!(
            "{} does not resolve ({}: {}) → nginx would refuse the config (host not found in upstream)",
            res.map_or("the host", |x| x.host.as_str()),
            res.and_then(|x| x.eai_name).unwrap_or("no address"),
            res.and_then(|x| x.error.as_deref()).unwrap_or("")
        );
    };
    let failing = r.attempts.iter().filter(|a| !a.verdict.is_ok()).count();
    let prefix = if r.attempts.len() > 1 && failing > 0 && failing < r.attempts.len() {
        format!("{failing} of {} addresses fail: ", r.attempts.len())
    } else {
        String::new()
    };
    let ex = a.exchange.as_ref();
    let primary = ex.map(describe_answer).unwrap_or_default();
    let identified = a
        .identify
        .iter()
        .find(|e| e.speaks.is_protocol())
        .map(|e| format!("{} with {}", sent_name(e.sent), describe_answer(e)));
    let body = match r.verdict {
        Verdict::DnsFailure => {
            let res = r.resolution.as_ref();
            format!(
                "{} does not resolve ({}: {}) → nginx would refuse the config (host not found in upstream)",
                res.map_or("the host", |x| x.host.as_str()),
                res.and_then(|x| x.eai_name).unwrap_or("no address"),
                res.and_then(|x| x.error.as_deref()).unwrap_or("")
            )
        }
        Verdict::ConnectFailed => connect_failure(a, unix, timeout_s),
        Verdict::ProtocolMismatch => {
            let tls_peer = ex
                .and_then(|e| e.tls.as_ref())
                .filter(|t| !t.ok)
                .and_then(|t| t.peer_speaks);
            let tls_peer = tls_peer.filter(|p| p.is_protocol());
            match (ex.map(|e| e.speaks), identified) {
                (Some(Speaks::Silent | Speaks::Closed | Speaks::Unknown), Some(id))
                    if tls_peer.is_none() =>
                {
                    let how = match ex.map(|e| e.speaks) {
                        Some(Speaks::Silent) => "stays silent to it",
                        Some(Speaks::Closed) => "closes the connection without answering it",
                        _ => "answers it with unrecognised bytes",
                    };
                    format!(
                        "nginx would speak {side} here, but the peer {how}, and answers {id} → protocol mismatch"
                    )
                }
                _ if tls_peer.is_some() => format!(
                    "nginx would speak {side} here, but the peer answers the ClientHello with {} → protocol mismatch",
                    ex.map(describe_answer).unwrap_or_default()
                ),
                _ => format!(
                    "nginx would speak {side} here, but the peer answers {primary} → protocol mismatch"
                ),
            }
        }
        Verdict::NoAnswer => format!(
            "nginx would speak {side} here; the peer accepts the connection but sends nothing within {timeout_s} s → nginx would time out reading the response header (504)"
        ),
        Verdict::ClosedWithoutAnswer => format!(
            "nginx would speak {side} here; the peer accepts the connection, then closes it without answering → nginx: upstream prematurely closed connection (502)"
        ),
        Verdict::TlsFailed => {
            let t = ex.and_then(|e| e.tls.as_ref());
            let detail = t
                .map(|t| match (t.alert, t.error.as_deref()) {
                    (Some(alert), _) => format!("the peer sends the alert {alert}"),
                    (None, Some(e)) => e.to_owned(),
                    _ => "no handshake".to_owned(),
                })
                .unwrap_or_default();
            let mut s = format!(
                "nginx would speak TLS here, but the handshake fails: {detail} → TLS error"
            );
            if t.is_some_and(|t| t.legacy_only) {
                s.push_str(" (the peer seems to offer only TLS older than 1.2, which this probe cannot speak; nginx ≥ 1.27.3 refuses it by default)");
            }
            if let Some(alt) = &a.tls_alternate
                && alt.ok
            {
                s.push_str(if alt.sni.is_some() {
                    " (with SNI the handshake succeeds: set proxy_ssl_server_name on)"
                } else {
                    " (without SNI the handshake succeeds)"
                });
            }
            s
        }
        Verdict::HeaderTooBig => {
            let n = ex
                .and_then(|e| {
                    e.http
                        .as_ref()
                        .map(|h| h.header_bytes)
                        .or_else(|| {
                            e.inner
                                .as_ref()
                                .and_then(|i| i.http.as_ref().map(|h| h.header_bytes))
                        })
                        .or_else(|| e.fastcgi.as_ref().and_then(|f| f.header_bytes))
                        .or(Some(e.bytes))
                })
                .unwrap_or(0);
            let suggest = n.next_power_of_two().max(4096);
            format!(
                "the peer answers {side}, but its response head is {n} bytes, more than the {} byte header buffer → nginx: upstream sent too big header (502); raise the *_buffer_size to {}k",
                r.buffer_size,
                suggest / 1024
            )
        }
        Verdict::InvalidResponse => {
            let why = ex
                .and_then(|e| {
                    e.http_error
                        .clone()
                        .or_else(|| e.inner.as_ref().and_then(|i| i.http_error.clone()))
                        .or_else(|| e.fastcgi.as_ref().and_then(|f| f.violation.clone()))
                })
                .unwrap_or_default();
            format!(
                "the peer answers {side}, but malformed ({why}) → nginx: upstream sent invalid header (502)"
            )
        }
        Verdict::Overloaded => format!(
            "the peer answers {side}, but ends the request with FastCGI status {} → the backend is overloaded",
            ex.and_then(|e| e.fastcgi.as_ref())
                .and_then(|f| f.protocol_status_name())
                .unwrap_or("?")
        ),
        Verdict::WorkerDenied => {
            let w = r.worker.as_ref();
            let who = w.map_or(String::new(), |w| {
                format!("{} (uid {})", w.identity.user, w.identity.uid)
            });
            let why = w
                .and_then(|w| w.computed.denied_by.as_ref())
                .map(|d| {
                    format!(
                        ": {} needs {} for the {} class but its mode is {} (owner {}:{})",
                        d.path.display(),
                        d.needs,
                        d.class,
                        d.mode,
                        d.owner.0,
                        d.owner.1
                    )
                })
                .unwrap_or_default();
            let seen = ex
                .filter(|e| e.speaks.is_protocol())
                .map(|e| {
                    format!(
                        " (connected as {}, the probe sees the peer answer {})",
                        current_user(),
                        describe_answer(e)
                    )
                })
                .unwrap_or_default();
            format!(
                "the nginx worker user {who} cannot connect to {}{why} → nginx: connect() failed (13: Permission denied){seen}",
                a.address
            )
        }
        Verdict::Ok => {
            let inner = ex.and_then(|e| e.inner.as_deref()).map(describe_answer);
            let mut s = match (r.nginx_speaks.is_tls(), ex.and_then(|e| e.tls.as_ref())) {
                (true, Some(t)) => format!(
                    "nginx would speak {side} here, and the peer completes a {} handshake{} then answers {}",
                    t.version.as_deref().unwrap_or("TLS"),
                    cert_note(t),
                    inner.unwrap_or_default()
                ),
                _ => format!("nginx would speak {side} here, and the peer answers {primary}"),
            };
            s.push_str(&format!(" in {:.1} ms → OK", ex.map_or(0.0, |e| e.ms)));
            let status = ex.and_then(|e| {
                e.http
                    .as_ref()
                    .or_else(|| e.inner.as_ref().and_then(|i| i.http.as_ref()))
                    .map(|h| h.status)
            });
            if let Some(code @ 500..=599) = status {
                s.push_str(&format!(" (but the backend itself answers {code})"));
            }
            s
        }
    };
    format!("{prefix}{body}")
}

fn cert_note(t: &crate::tls::TlsFacts) -> String {
    let subject = t
        .cert
        .as_ref()
        .map(|c| {
            format!(
                "certificate {}",
                if c.subject.is_empty() {
                    "(no subject)"
                } else {
                    &c.subject
                }
            )
        })
        .unwrap_or_else(|| "no certificate details".into());
    let verified = match &t.verification {
        Some(v) if v.ok => format!("verifies for {}", v.name),
        Some(v) => format!(
            "does not verify for {}: {}",
            v.name,
            v.error.as_deref().or(v.error_kind).unwrap_or("error")
        ),
        None => "not checked".into(),
    };
    format!(" ({subject}, {verified}; nginx only checks with proxy_ssl_verify on)")
}

fn current_user() -> &'static str {
    if crate::worker_attempt::is_root() {
        "root"
    } else {
        "this user"
    }
}
