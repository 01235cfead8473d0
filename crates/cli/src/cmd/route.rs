//! `badgateway route URL`: load the config, route the request through it
//! the way nginx would, and print the server, location and upstream request.

use std::path::PathBuf;

use badgateway_conf::{LoadOptions, Model, load_any};
use badgateway_report::Format;
use badgateway_route::{Request, Url, parse_header, route};

use crate::args::{Common, RouteArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// The config read when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/nginx/nginx.conf";

/// Run `badgateway route`.
pub fn run(args: &RouteArgs, common: &Common) -> CmdResult {
    if common.format == Format::Sarif {
        return Err(Failure::Input(
            "route prints text, json or markdown (sarif is for `config`)".into(),
        ));
    }
    let url = Url::parse(&args.url).map_err(|e| Failure::Input(e.to_string()))?;
    let method = args.method.trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(Failure::Input(format!(
            "--method {:?}: expected an HTTP method such as GET or POST",
            args.method
        )));
    }
    let mut headers = Vec::with_capacity(args.headers.len());
    for h in &args.headers {
        let parsed = parse_header(h)
            .ok_or_else(|| Failure::Input(format!("--header {h:?}: expected \"Name: value\"")))?;
        headers.push(parsed);
    }
    let (path, defaulted) = match &common.config {
        Some(p) => (p.clone(), false),
        None => (PathBuf::from(DEFAULT_CONFIG), true),
    };
    let opts = LoadOptions {
        prefix: common.prefix.clone(),
    };
    let cfg = load_any(&path, &opts).map_err(|e| {
        if defaulted {
            Failure::Input(format!("{e} (no --config given; tried {DEFAULT_CONFIG})"))
        } else {
            Failure::Input(e.to_string())
        }
    })?;
    if !common.quiet {
        for issue in &cfg.issues {
            eprintln!(
                "badgateway: warning: {}",
                badgateway_report::neutralize_str(&issue.to_string())
            );
        }
    }
    let model = Model::build(cfg, None);
    let req = Request {
        method: method.to_ascii_uppercase(),
        url,
        headers,
    };
    let r = route(&model, &req);
    let text = match common.format {
        Format::Json => badgateway_report::route::json(&r),
        Format::Markdown => badgateway_report::route::markdown(&r),
        _ => badgateway_report::route::text(&r),
    };
    print!("{text}");
    Ok(if r.server.is_none() {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}
