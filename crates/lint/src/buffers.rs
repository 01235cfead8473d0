//! Buffer sizes: header buffers smaller than nginx's own default, and the
//! combinations nginx's merge step rejects at every http, server and
//! location level (checked whether or not buffering is on).

use badgateway_conf::model::values::{format_size, parse_size};
use badgateway_conf::{NodeId, Span};

use crate::{Cx, Lint};

/// nginx's default header buffer: one memory page on x86-64 Linux.
const PAGE: u64 = 4096;

pub(crate) fn check(cx: &mut Cx<'_>) {
    too_small(cx);
    if cx.model.http.is_none() {
        return;
    }
    for module in ["proxy", "fastcgi", "uwsgi", "scgi"] {
        // Only blocks that set one of the sizes can introduce a problem;
        // the others have their parent's values.
        let mut blocks: Vec<NodeId> = SETTINGS
            .iter()
            .flat_map(|s| cx.index.named(&format!("{module}{s}")).iter())
            .filter_map(|&id| cx.model.cfg.node(id).parent)
            .collect();
        blocks.sort_unstable();
        blocks.dedup();
        for b in blocks {
            merge(cx, b, module);
        }
    }
}

/// The directives nginx's merge step checks together (after the module prefix).
const SETTINGS: [&str; 5] = [
    "_buffer_size",
    "_buffers",
    "_busy_buffers_size",
    "_temp_file_write_size",
    "_max_temp_file_size",
];

fn too_small(cx: &mut Cx<'_>) {
    let cfg = &cx.model.cfg;
    let mut found = Vec::new();
    for module in ["proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached"] {
        let name = format!("{module}_buffer_size");
        for &id in cx.index.named(&name) {
            if let Some(size) = cfg.node(id).arg(0).and_then(|a| parse_size(&a))
                && size < PAGE
            {
                found.push((id, name.clone(), size));
            }
        }
    }
    for (id, name, size) in found {
        cx.emit(
            Lint::BufferSizeTooSmall,
            cx.span(id),
            format!(
                "{name} {}: response headers larger than {} bytes give 502 `upstream sent too big header`",
                format_size(size),
                size
            ),
            Lint::BufferSizeTooSmall.help(),
            format!("{name} 16k;  (room for large cookies and security headers; 4k is nginx's default)"),
        );
    }
}

/// One effective size setting: value, and where it is set (if at all).
struct Setting {
    value: u64,
    at: Option<(NodeId, NodeId)>,
}

fn setting(cx: &Cx<'_>, block: NodeId, name: &str) -> Option<Setting> {
    let e = cx.effective(block, name)?;
    let node = *e.nodes.first()?;
    Some(Setting {
        value: parse_size(&e.first()?)?,
        at: e.level.map(|l| (l, node)),
    })
}

fn merge(cx: &mut Cx<'_>, block: NodeId, m: &str) {
    let here = |s: &Option<Setting>| {
        s.as_ref()
            .and_then(|s| s.at)
            .filter(|(l, _)| *l == block)
            .map(|(_, n)| n)
    };
    let buffer_size = setting(cx, block, &format!("{m}_buffer_size"));
    let busy = setting(cx, block, &format!("{m}_busy_buffers_size"));
    let temp_write = setting(cx, block, &format!("{m}_temp_file_write_size"));
    let max_temp = setting(cx, block, &format!("{m}_max_temp_file_size"));
    let buffers = cx.effective(block, &format!("{m}_buffers"));
    let buffers_here = buffers
        .as_ref()
        .filter(|e| e.level == Some(block))
        .and_then(|e| e.nodes.first().copied());
    let (num, one) = buffers
        .as_ref()
        .and_then(|e| {
            let a = e.args();
            Some((a.first()?.parse::<u64>().ok()?, parse_size(a.get(1)?)?))
        })
        .unwrap_or((8, PAGE));
    let touched: Vec<NodeId> = [
        here(&busy),
        buffers_here,
        here(&buffer_size),
        here(&temp_write),
        here(&max_temp),
    ]
    .into_iter()
    .flatten()
    .collect();
    let Some(&at) = touched.first() else { return };
    let span: Span = cx.span(at);
    let bs = buffer_size.as_ref().map_or(PAGE, |s| s.value);
    let size = bs.max(one);
    let fmt = format_size;
    let mut problems = Vec::new();
    if num < 2 {
        problems.push(format!(
            "there must be at least 2 \"{m}_buffers\" ({m}_buffers {num} {})",
            fmt(one)
        ));
    }
    let busy_v = busy.as_ref().map_or(2 * size, |s| s.value);
    let busy_text = match &busy {
        Some(_) => format!("{m}_busy_buffers_size {}", fmt(busy_v)),
        None => format!(
            "{m}_busy_buffers_size defaults to 2 × {} = {}",
            fmt(size),
            fmt(busy_v)
        ),
    };
    if busy_v < size {
        problems.push(format!(
            "\"{m}_busy_buffers_size\" must be equal to or greater than the maximum of the value of \"{m}_buffer_size\" and one of the \"{m}_buffers\" ({busy_text} < {})",
            fmt(size)
        ));
    } else if num >= 2 && busy_v > (num - 1) * one {
        problems.push(format!(
            "\"{m}_busy_buffers_size\" must be less than the size of all \"{m}_buffers\" minus one buffer ({busy_text} > ({num} − 1) × {} = {})",
            fmt(one),
            fmt((num - 1) * one)
        ));
    }
    let temp_v = temp_write.as_ref().map_or(2 * size, |s| s.value);
    if temp_v < size {
        problems.push(format!(
            "\"{m}_temp_file_write_size\" must be equal to or greater than the maximum of the value of \"{m}_buffer_size\" and one of the \"{m}_buffers\" ({} < {})",
            fmt(temp_v),
            fmt(size)
        ));
    }
    let max_v = max_temp.as_ref().map_or(1 << 30, |s| s.value);
    if max_v != 0 && max_v < size {
        problems.push(format!(
            "\"{m}_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be equal to or greater than the maximum of the value of \"{m}_buffer_size\" and one of the \"{m}_buffers\" ({} < {})",
            fmt(max_v),
            fmt(size)
        ));
    }
    if problems.is_empty() {
        return;
    }
    // A consistent set: buffers as large as the header buffer, busy = 2 of them.
    let n = num.max(4);
    let fix = format!(
        "{m}_buffer_size {}; {m}_buffers {n} {}; {m}_busy_buffers_size {};",
        fmt(bs),
        fmt(size),
        fmt(2 * size)
    );
    for p in problems {
        cx.emit(
            Lint::BuffersRejected,
            span,
            p,
            "nginx -t fails: nginx checks these sizes at every level that sets any of them (whether buffering is on or not), so nginx will not start and a reload keeps the old configuration running.",
            fix.clone(),
        );
    }
}
