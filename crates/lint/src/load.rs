//! Problems met while loading the tree: a missing include makes nginx
//! refuse the configuration; an unreadable one leaves part of it unchecked.

use badgateway_conf::LoadIssue;

use crate::{Cx, Lint};

pub(crate) fn check(cx: &mut Cx<'_>) {
    for issue in &cx.model.cfg.issues {
        match issue {
            LoadIssue::IncludeMissing { at, path } => cx.emit(
                Lint::IncludeMissing,
                *at,
                format!("include {}: no such file", path.display()),
                "nginx -t fails with `open() \"…\" failed (2: No such file or directory)`: nginx will not start, and a reload keeps the old configuration running.",
                format!(
                    "create {} or remove this include (a glob pattern such as `include {}*;` may match nothing without error)",
                    path.display(),
                    path.display()
                ),
            ),
            LoadIssue::IncludeUnreadable { at, path, error } => cx.emit(
                Lint::IncludeUnreadable,
                *at,
                format!("include {}: cannot read ({error}); its directives were not checked", path.display()),
                Lint::IncludeUnreadable.help(),
                "run badgateway config as root, or as nginx's user, to check the whole tree",
            ),
        }
    }
}
