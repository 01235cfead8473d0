//! `badgateway config [FILE]`: load the config tree, gather what the lints
//! need to know about this host, run the lints, render the findings, and
//! exit 1 when any is at or above `--fail-on`.
//!
//! Host facts are gathered here, read-only: the kind of every unix socket
//! path the config names (and the sockets beside it), and from the host
//! inspection the listening sockets and the running nginx's open-file
//! limit (`--no-host` skips all of it, for a config from another machine).

use std::io::{IsTerminal, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use badgateway_conf::{LoadOptions, Model, NginxVersion, load_any};
use badgateway_lint::{HostFacts, PathKind};
use badgateway_report::Format;
use badgateway_report::config::{ConfigReport, TextOptions};

use crate::args::{Common, ConfigArgs};
use crate::exit::{CmdResult, Failure, Outcome};

/// Run `badgateway config`.
pub fn run(args: &ConfigArgs, common: &Common) -> CmdResult {
    // Ask the installed nginx only for what the command line leaves open.
    let need_installed =
        args.nginx_version.is_none() || (args.file.is_none() && common.config.is_none());
    let installed = if need_installed {
        installed_nginx()
    } else {
        None
    };
    let version = match &args.nginx_version {
        Some(v) => Some(
            v.parse::<NginxVersion>()
                .map_err(|e| Failure::Input(format!("--nginx-version: {e}")))?,
        ),
        None => installed.as_ref().and_then(|n| n.version),
    };
    let path = args
        .file
        .clone()
        .or_else(|| common.config.clone())
        .or_else(|| installed.as_ref().and_then(|n| n.conf_path.clone()))
        .unwrap_or_else(|| PathBuf::from("/etc/nginx/nginx.conf"));
    let opts = LoadOptions {
        prefix: common.prefix.clone(),
    };
    let cfg = load_any(&path, &opts).map_err(|e| Failure::Input(e.to_string()))?;
    let model = Model::build(cfg, version);
    let facts = if args.no_host {
        HostFacts::default()
    } else {
        let host = super::diagnose::host::collect(false);
        let master = host
            .nginx_for_config(&absolute(&path))
            .map(|i| i.master.pid);
        gather_host_facts(
            &badgateway_lint::socket_paths(&model),
            Some((&host, master)),
        )
    };
    let findings = badgateway_lint::check(&model, &facts);

    let conf_dir = absolute(&model.cfg.conf_prefix);
    let version_text = version.map(|v| v.to_string());
    let report = ConfigReport {
        config: &path,
        conf_dir: &conf_dir,
        nginx_version: version_text.as_deref(),
        findings: &findings,
    };
    let text = match common.format {
        Format::Text => badgateway_report::config::text(
            &report,
            TextOptions {
                color: use_color(common.no_color),
                quiet: common.quiet,
            },
        ),
        Format::Json => badgateway_report::config::json(&report),
        Format::Markdown => badgateway_report::config::markdown(&report),
        Format::Sarif => badgateway_report::config::sarif(&report),
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if findings.iter().any(|f| f.severity >= args.fail_on) {
        Ok(Outcome::Problems)
    } else {
        Ok(Outcome::Clean)
    }
}

/// Colour only on a terminal, never with `--no-color` or `NO_COLOR` set.
fn use_color(no_color: bool) -> bool {
    !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// What `nginx -V` says about the installed nginx.
pub(crate) struct Installed {
    pub(crate) version: Option<NginxVersion>,
    pub(crate) conf_path: Option<PathBuf>,
}

/// Ask the installed nginx (on `PATH`, else /usr/sbin/nginx) for its
/// version and default config path. Read-only: `nginx -V` only prints.
pub(crate) fn installed_nginx() -> Option<Installed> {
    let binary = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("nginx"))
                .find(|p| p.is_file())
        })
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))?;
    let out = Command::new(binary).arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    Some(parse_nginx_v(&text))
}

/// Parse `nginx -V` output: `nginx version: nginx/1.22.1` (or
/// `openresty/1.21.4.1`) and `--conf-path=…`.
fn parse_nginx_v(text: &str) -> Installed {
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("nginx version: "))
        .and_then(|v| v.split_once('/').map(|(_, n)| n))
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    let conf_path = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--conf-path="))
        .map(PathBuf::from);
    Installed { version, conf_path }
}

/// Facts about this host for the lints, read-only: what is at every unix
/// socket path the config names (following symlinks, as `connect()` does),
/// which sockets sit beside them, and — from the host inspection, when
/// given — the listening sockets and the running nginx's open-file limit.
pub(crate) fn gather_host_facts(
    socket_paths: &[PathBuf],
    host: Option<(&badgateway_host::HostFacts, Option<u32>)>,
) -> HostFacts {
    let mut facts = HostFacts::default();
    for p in socket_paths {
        facts.paths.insert(p.clone(), path_kind(p));
        if let Some(dir) = p.parent()
            && !facts.nearby_sockets.contains_key(dir)
            && let Some(list) = sockets_in(dir)
        {
            facts.nearby_sockets.insert(dir.to_path_buf(), list);
        }
    }
    if let Some((h, master)) = host {
        if let Some(net) = h.net.found() {
            facts.tcp_listeners = Some(net.tcp.iter().map(|l| l.addr).collect());
            facts.unix_listeners = Some(net.unix.iter().map(|l| PathBuf::from(&l.path)).collect());
        }
        let master = master.or_else(|| h.nginx_instances().first().map(|i| i.master.pid));
        facts.nofile_limit = master.and_then(|pid| {
            h.nofile_limits(pid)
                .iter()
                .filter_map(|(_, _, l)| l.as_ref().and_then(|l| l.soft))
                .min()
        });
    }
    facts
}

fn path_kind(p: &Path) -> PathKind {
    match std::fs::metadata(p) {
        Ok(m) => {
            let t = m.file_type();
            if t.is_socket() {
                PathKind::Socket
            } else if t.is_file() {
                PathKind::File
            } else if t.is_dir() {
                PathKind::Dir
            } else {
                PathKind::Other
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => PathKind::Unreadable,
        Err(_) => match std::fs::symlink_metadata(p) {
            // A dangling symlink: connect() fails as for a missing file.
            Ok(_) => PathKind::Missing,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => PathKind::Unreadable,
            Err(_) => PathKind::Missing,
        },
    }
}

/// Sockets directly in `dir` (at most 50, sorted); `None` when the
/// directory cannot be listed.
fn sockets_in(dir: &Path) -> Option<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| std::fs::metadata(e.path()).is_ok_and(|m| m.file_type().is_socket()))
        .map(|e| e.path())
        .take(50)
        .collect();
    out.sort();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nginx_dash_v() {
        let i = parse_nginx_v(
            "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11\nconfigure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log\n",
        );
        assert_eq!(i.version, Some(NginxVersion(1, 22, 1)));
        assert_eq!(
            i.conf_path.as_deref(),
            Some(Path::new("/etc/nginx/nginx.conf"))
        );
        let o = parse_nginx_v("nginx version: openresty/1.21.4.1\n");
        assert_eq!(o.version, Some(NginxVersion(1, 21, 4)));
        assert_eq!(parse_nginx_v("garbage").version, None);
    }

    #[test]
    fn path_kinds() {
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("s.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let file = d.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(path_kind(&sock), PathKind::Socket);
        assert_eq!(path_kind(&file), PathKind::File);
        assert_eq!(path_kind(d.path()), PathKind::Dir);
        assert_eq!(path_kind(&d.path().join("none")), PathKind::Missing);
        std::os::unix::fs::symlink(d.path().join("none"), d.path().join("dangling")).unwrap();
        assert_eq!(path_kind(&d.path().join("dangling")), PathKind::Missing);
        assert_eq!(sockets_in(d.path()), Some(vec![sock]));
        assert_eq!(sockets_in(&d.path().join("none")), None);
    }
}
