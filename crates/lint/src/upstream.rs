//! Upstream groups and retries: one-server groups where max_fails means
//! nothing, groups whose every server is marked down, and retries of
//! non-idempotent requests.

use badgateway_conf::model::{Address, Upstream};

use crate::util::is_ip;
use crate::{Cx, Lint};

pub(crate) fn check(cx: &mut Cx<'_>) {
    let model = cx.model;
    let groups = model
        .http
        .iter()
        .flat_map(|h| &h.upstreams)
        .chain(model.stream.iter().flat_map(|s| &s.upstreams));
    for up in groups {
        single_server(cx, up);
        all_down(cx, up);
    }
    non_idempotent(cx);
}

fn single_server(cx: &mut Cx<'_>, up: &Upstream) {
    let [s] = up.servers.as_slice() else { return };
    // A host name may resolve to several addresses: then it is not single.
    let one_address = match &s.address {
        Ok(Address::Tcp { host, .. }) => is_ip(host),
        Ok(Address::Unix { .. }) => true,
        Err(_) => false,
    };
    if !one_address || s.backup || s.max_fails == 0 {
        return;
    }
    let args = cx.args(s.node);
    let set: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| a.starts_with("max_fails=") || a.starts_with("fail_timeout="))
        .collect();
    if set.is_empty() {
        return;
    }
    let set: Vec<&str> = set.iter().map(|s| s.as_str()).collect();
    cx.emit(
        Lint::SingleServerMaxFails,
        cx.span(s.node),
        format!(
            "upstream {}: {} on its only server {} has no effect",
            up.name,
            set.join(" "),
            s.raw
        ),
        "nginx treats a group with a single address and no backup specially: failures are never counted, the server is never taken out, and a failed attempt is not retried (*_next_upstream has nothing to try). Clients get the error at once; the group never answers `no live upstreams` for failures.",
        format!(
            "server {};  (drop the parameters), or add a second server or a `server … backup;` line if failover is the goal",
            s.raw
        ),
    );
}

fn all_down(cx: &mut Cx<'_>, up: &Upstream) {
    if up.servers.is_empty() || up.servers.iter().any(|s| !s.down) {
        return;
    }
    let names: Vec<&str> = up.servers.iter().map(|s| s.raw.as_str()).collect();
    cx.emit(
        Lint::UpstreamAllDown,
        cx.span(up.node),
        format!(
            "upstream {}: every server is marked down ({})",
            up.name,
            names.join(", ")
        ),
        "nginx never tries a server marked `down`; with none left it answers 502 at once and logs `no live upstreams`, however healthy the backends are.",
        format!(
            "remove `down` from the server that should take traffic: server {};",
            up.servers[0].raw
        ),
    );
}

fn non_idempotent(cx: &mut Cx<'_>) {
    let cfg = &cx.model.cfg;
    let mut found: Vec<_> = ["proxy", "fastcgi", "uwsgi", "scgi", "grpc"]
        .iter()
        .flat_map(|m| {
            cx.index
                .named(&format!("{m}_next_upstream"))
                .iter()
                .copied()
        })
        .filter(|&id| cfg.node(id).args.iter().any(|a| a.is("non_idempotent")))
        .collect();
    found.sort();
    for id in found {
        let name = cfg.node(id).name.text().into_owned();
        let args = cx.args(id);
        let rest: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "non_idempotent")
            .collect();
        cx.emit(
            Lint::NextUpstreamNonIdempotent,
            cx.span(id),
            format!("{name} {}: POST, PATCH and LOCK requests are retried on the next server", args.join(" ")),
            "By default nginx never sends a non-idempotent request to a second server once it reached the first (the backend may have acted on it). `non_idempotent` lifts that: after an error or timeout the same POST is sent again, and an order, payment or message can be executed twice.",
            format!(
                "{name} {};  (keep non_idempotent only where every backend handler is idempotent)",
                if rest.is_empty() { "error timeout".to_owned() } else { rest.join(" ") }
            ),
        );
    }
}
