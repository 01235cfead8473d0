//! Error pages that hide upstream failures: `error_page 502 =200 …`
//! answers failures with success, and `*_intercept_errors on` replaces the
//! backend's own 5xx pages with nginx's.

use crate::{Cx, Lint};

/// The status codes an `error_page` line covers, and its `=CODE` (with
/// `Some(None)` for a bare `=`).
fn parse_error_page(args: &[String]) -> (Vec<u16>, Option<Option<u16>>) {
    let mut codes = Vec::new();
    let mut answer = None;
    for a in args {
        if let Some(rest) = a.strip_prefix('=') {
            answer = Some(rest.parse().ok());
        } else if let Ok(c) = a.parse::<u16>() {
            codes.push(c);
        }
    }
    (codes, answer)
}

pub(crate) fn check(cx: &mut Cx<'_>) {
    let mut masks = Vec::new();
    for &id in cx.index.named("error_page") {
        let args = cx.args(id);
        let (codes, answer) = parse_error_page(&args);
        let upstream: Vec<u16> = codes
            .into_iter()
            .filter(|c| (502..=504).contains(c))
            .collect();
        if let (false, Some(Some(status))) = (upstream.is_empty(), answer)
            && status < 400
        {
            masks.push((id, args, upstream, status));
        }
    }
    for (id, args, upstream, status) in masks {
        let codes: Vec<String> = upstream.iter().map(u16::to_string).collect();
        let target = args.last().cloned().unwrap_or_default();
        cx.emit(
            Lint::ErrorPageMasksStatus,
            cx.span(id),
            format!(
                "error_page {}: upstream failures ({}) are answered with {status}",
                args.join(" "),
                codes.join(", ")
            ),
            Lint::ErrorPageMasksStatus.help(),
            format!(
                "error_page {} {target};  (keep the error status; serve the friendly page with it)",
                codes.join(" ")
            ),
        );
    }
    intercept(cx);
}

fn intercept(cx: &mut Cx<'_>) {
    for site in cx.sites() {
        let prefix = site.pass.module.prefix();
        let name = format!("{prefix}_intercept_errors");
        let Some(on) = cx.effective(site.block, &name) else {
            continue;
        };
        if on.first().as_deref() != Some("on") {
            continue;
        }
        let Some(span) = on.span() else { continue };
        let Some(pages) = cx.effective(site.block, "error_page") else {
            continue;
        };
        let mut codes: Vec<u16> = pages
            .nodes
            .iter()
            .flat_map(|&n| parse_error_page(&cx.args(n)).0)
            .filter(|c| (502..=504).contains(c))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.is_empty() {
            continue;
        }
        let list: Vec<String> = codes.iter().map(u16::to_string).collect();
        let at = pages.span().map(|s| cx.at(s)).unwrap_or_default();
        cx.emit(
            Lint::InterceptErrorsHides5xx,
            span,
            format!(
                "{name} on with error_page {} (at {at}): the backend's own {} responses are replaced by the error page",
                list.join(" "),
                list.join("/")
            ),
            Lint::InterceptErrorsHides5xx.help(),
            format!(
                "{name} off;  (or add $upstream_status to the access log format so a backend-generated {} stays visible)",
                list.join("/")
            ),
        );
    }
}
