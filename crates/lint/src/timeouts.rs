//! Timeouts: upstream read/send timeouts short enough to turn slow answers
//! into 504s, connect timeouts shorter than one SYN retransmission or
//! longer than the kernel's own give-up, and client-side timeouts long
//! enough to let slow clients hold every connection.

use badgateway_conf::model::values::{format_time, parse_time};

use crate::{Cx, Lint};

/// Read/send timeouts below this become 504s for ordinary slow requests.
const MIN_READ_MS: u128 = 10_000;
/// Linux's initial SYN retransmission timeout.
const MIN_CONNECT_MS: u128 = 1_000;
/// nginx's documented practical ceiling for connect timeouts.
const MAX_CONNECT_MS: u128 = 75_000;
/// Client-side timeouts above this invite slowloris.
const MAX_CLIENT_MS: u128 = 300_000;

pub(crate) fn check(cx: &mut Cx<'_>) {
    for site in cx.sites() {
        let prefix = site.pass.module.prefix();
        for kind in ["read", "send"] {
            let name = format!("{prefix}_{kind}_timeout");
            if let Some((ms, Some(span))) = cx.time_ms(site.block, &name)
                && ms < MIN_READ_MS
            {
                let value = format_time(std::time::Duration::from_millis(ms as u64));
                cx.emit(
                    Lint::TimeoutTooLow,
                    span,
                    format!("{name} {value}: a backend pause longer than {value} becomes a 504"),
                    format!(
                        "{name} bounds the wait between two {} of the {}; when it expires nginx logs `upstream timed out (110: Connection timed out) while {}` and answers 504 Gateway Time-out.",
                        if kind == "read" { "reads" } else { "writes" },
                        if kind == "read" { "response" } else { "request" },
                        if kind == "read" { "reading response header from upstream" } else { "sending request to upstream" }
                    ),
                    format!("{name} 60s;  (nginx's default; or the backend's own timeout plus a margin)"),
                );
            }
        }
        let name = format!("{prefix}_connect_timeout");
        match cx.time_ms(site.block, &name) {
            Some((ms, Some(span))) if ms < MIN_CONNECT_MS => {
                let value = format_time(std::time::Duration::from_millis(ms as u64));
                cx.emit(
                    Lint::ConnectTimeoutTooLow,
                    span,
                    format!("{name} {value}: one lost SYN turns into a 504"),
                    Lint::ConnectTimeoutTooLow.help(),
                    format!("{name} 2s;  (a few seconds covers one retransmission)"),
                );
            }
            Some((ms, Some(span))) if ms > MAX_CONNECT_MS => {
                let value = format_time(std::time::Duration::from_millis(ms as u64));
                cx.emit(
                    Lint::ConnectTimeoutTooHigh,
                    span,
                    format!("{name} {value}: longer than a connect can usefully wait"),
                    Lint::ConnectTimeoutTooHigh.help(),
                    format!("{name} 10s;"),
                );
            }
            _ => {}
        }
    }
    client_timeouts(cx);
}

fn client_timeouts(cx: &mut Cx<'_>) {
    let cfg = &cx.model.cfg;
    let mut found = Vec::new();
    for name in [
        "client_header_timeout",
        "client_body_timeout",
        "send_timeout",
        "keepalive_timeout",
    ] {
        for &id in cx.index.named(name) {
            let n = cfg.node(id);
            if n.parent.is_some_and(|p| cfg.node(p).is("upstream")) {
                continue;
            }
            let Some(ms) = n.arg(0).and_then(|a| parse_time(&a)).map(|d| d.as_millis()) else {
                continue;
            };
            if ms > MAX_CLIENT_MS {
                found.push((id, name.to_owned(), ms));
            }
        }
    }
    for (id, name, ms) in found {
        let value = format_time(std::time::Duration::from_millis(ms as u64));
        let default = if name == "keepalive_timeout" {
            "75s"
        } else {
            "60s"
        };
        cx.emit(
            Lint::ClientTimeoutTooHigh,
            cx.span(id),
            format!("{name} {value}: a slow or idle client may hold a connection for {value}"),
            Lint::ClientTimeoutTooHigh.help(),
            format!(
                "{name} {default};  (nginx's default; raise it only in the location that needs it)"
            ),
        );
    }
}
