//! The questions `diagnose` asks about a host, answered from collected
//! facts (pure) or with a few more reads under the same root (stat chains,
//! sockets near a missing path).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::collect::HostFacts;
use crate::net::{Acceptance, Nearness, NetFacts, SocketOwner, TcpListener, UnixListener};
use crate::nginx::NginxInstance;
use crate::phpfpm::{FpmInstance, FpmPool};
use crate::proc::Limit;
use crate::reader::Root;
use crate::staleness::{FileChange, TOLERANCE_MS, changed_after, file_change};
use crate::time::UnixMillis;
use crate::users::{Access, Credentials, FileKind, StatChain, stat_chain, unix_connect_access};

/// Why a socket is offered as a near miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NearbyReason {
    /// In the same directory as the missing path.
    SameDirectory,
    /// A listening socket elsewhere whose name looks alike
    /// (`php8.1-fpm.sock` vs `php8.2-fpm.sock`).
    SimilarName,
}

/// A unix socket that exists near a wanted path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearbySocket {
    /// Its path.
    pub path: PathBuf,
    /// Why it is offered.
    pub reason: NearbyReason,
    /// Whether something listens on it (`None`: socket table unknown). A
    /// socket file nobody listens on is stale (connect gives 111).
    pub listening: Option<bool>,
    /// Who holds it.
    pub owners: Vec<SocketOwner>,
}

/// Alphabetic words of a file name, without `sock`: `php8.2-fpm.sock` →
/// `[php, fpm]`.
fn name_words(p: &Path) -> Vec<String> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3 && *w != "sock" && *w != "socket")
        .map(str::to_string)
        .collect()
}

/// Socket files next to `path` and listening sockets with a similar name
/// anywhere: what to suggest when `path` is missing.
pub fn nearby_unix_sockets(root: &Root, path: &Path, net: Option<&NetFacts>) -> Vec<NearbySocket> {
    let listener = |p: &Path| -> Option<&UnixListener> {
        net.and_then(|n| n.unix.iter().find(|u| Path::new(&u.path) == p))
    };
    let mut out: Vec<NearbySocket> = Vec::new();
    if let Some(dir) = path.parent()
        && let Ok(names) = root.read_dir_names(dir)
    {
        for n in names {
            let p = dir.join(&n);
            if p == path {
                continue;
            }
            let is_socket = root
                .symlink_metadata(&p)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()));
            if is_socket {
                let l = listener(&p);
                out.push(NearbySocket {
                    listening: net.map(|_| l.is_some()),
                    owners: l.map(|l| l.owners.clone()).unwrap_or_default(),
                    path: p,
                    reason: NearbyReason::SameDirectory,
                });
            }
        }
    }
    let want = name_words(path);
    if let Some(n) = net {
        for u in &n.unix {
            let p = PathBuf::from(&u.path);
            if p == path || u.path.starts_with('@') || out.iter().any(|o| o.path == p) {
                continue;
            }
            let words = name_words(&p);
            if !want.is_empty() && want.iter().any(|w| words.contains(w)) {
                out.push(NearbySocket {
                    path: p,
                    reason: NearbyReason::SimilarName,
                    listening: Some(true),
                    owners: u.owners.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.reason, &a.path).cmp(&(b.reason, &b.path)));
    out
}

impl HostFacts {
    /// The root the facts were read from.
    pub fn reader(&self) -> Root {
        Root::new(&self.root)
    }

    /// Every running nginx.
    pub fn nginx_instances(&self) -> &[NginxInstance] {
        self.nginx.found().map_or(&[], |n| n.instances.as_slice())
    }

    /// The nginx with this master pid.
    pub fn nginx_instance(&self, master_pid: u32) -> Option<&NginxInstance> {
        self.nginx_instances()
            .iter()
            .find(|i| i.master.pid == master_pid)
    }

    /// The nginx running `config` (as resolved from its `-c`/`-p` and the
    /// build's defaults), else the only one.
    pub fn nginx_for_config(&self, config: &Path) -> Option<&NginxInstance> {
        let build = self
            .nginx_builds
            .found()
            .and_then(|b| b.first())
            .and_then(|b| b.build.found());
        let all = self.nginx_instances();
        all.iter()
            .find(|i| i.config_path(build).as_deref() == Some(config))
            .or(if all.len() == 1 { all.first() } else { None })
    }

    /// When a master started and (roughly) last reloaded.
    pub fn master_times(
        &self,
        master_pid: u32,
    ) -> Option<(Option<UnixMillis>, Option<UnixMillis>)> {
        self.nginx_instance(master_pid)
            .map(|i| (i.master_start(), i.last_reload_estimate()))
    }

    /// `RLIMIT_NOFILE` of a master and its workers.
    pub fn nofile_limits(
        &self,
        master_pid: u32,
    ) -> Vec<(u32, crate::nginx::NginxRole, Option<Limit>)> {
        self.nginx_instance(master_pid)
            .map(|i| i.nofile_limits())
            .unwrap_or_default()
    }

    /// Which of `files` changed after the last reload (estimate) of this
    /// master, read now: for callers that know the loaded config tree of
    /// one master when several run.
    pub fn stale_files(&self, master_pid: u32, files: &[PathBuf]) -> Vec<FileChange> {
        let Some(reload) = self
            .nginx_instance(master_pid)
            .and_then(NginxInstance::last_reload_estimate)
        else {
            return Vec::new();
        };
        let root = self.reader();
        let changes: Vec<FileChange> = files
            .iter()
            .filter_map(|f| file_change(&root, f).ok())
            .collect();
        changed_after(&changes, reload, TOLERANCE_MS)
    }

    /// TCP listeners that accept connections to `addr`; empty means refused.
    pub fn tcp_accepting(&self, addr: SocketAddr) -> Vec<(&TcpListener, Acceptance)> {
        self.net
            .found()
            .map(|n| n.tcp_accepting(addr))
            .unwrap_or_default()
    }

    /// Listeners near `addr` that do not accept it (other address, family
    /// or port), nearest first.
    pub fn tcp_near(&self, addr: SocketAddr) -> Vec<(&TcpListener, Nearness)> {
        self.net
            .found()
            .map(|n| n.tcp_near(addr))
            .unwrap_or_default()
    }

    /// The unix listener at `path`.
    pub fn unix_listener(&self, path: &Path) -> Option<&UnixListener> {
        self.net.found()?.unix_at(&path.display().to_string())
    }

    /// Who holds a socket inode.
    pub fn socket_owners(&self, inode: u64) -> &[SocketOwner] {
        self.net.found().map_or(&[], |n| n.owners_of(inode))
    }

    /// Owner, group and mode of `path` and every directory above it, read
    /// now.
    pub fn stat_chain(&self, path: &Path) -> StatChain {
        stat_chain(&self.reader(), path)
    }

    /// The same, as process `pid` sees the filesystem (its mount
    /// namespace, e.g. systemd `PrivateTmp`), through `/proc/PID/root`.
    pub fn stat_chain_as_seen_by(&self, pid: u32, path: &Path) -> StatChain {
        let base = self.reader().path(format!("/proc/{pid}/root"));
        stat_chain(&Root::new(base), path)
    }

    /// Whether `creds` may connect to the unix socket at `path`, read now.
    pub fn unix_access(&self, creds: &Credentials, path: &Path) -> Access {
        unix_connect_access(creds, &self.stat_chain(path))
    }

    /// Credentials for a configured `user [group]` (nginx's `user`
    /// directive), from the password database.
    pub fn credentials_for(&self, user: &str, group: Option<&str>) -> Option<Credentials> {
        self.users.credentials(user, group)
    }

    /// Sockets to suggest when `path` is missing.
    pub fn nearby_unix_sockets(&self, path: &Path) -> Vec<NearbySocket> {
        nearby_unix_sockets(&self.reader(), path, self.net.found())
    }

    /// The PHP-FPM pool (with its instance) listening at a unix path.
    pub fn fpm_pool_on_path(&self, path: &Path) -> Option<(&FpmInstance, &FpmPool)> {
        self.php_fpm.found()?.iter().find_map(|i| {
            let c = i.config.found()?;
            c.pool_on_path(path).map(|p| (i, p))
        })
    }

    /// The PHP-FPM pool (with its instance) listening on a TCP port.
    pub fn fpm_pool_on_port(&self, port: u16) -> Option<(&FpmInstance, &FpmPool)> {
        self.php_fpm.found()?.iter().find_map(|i| {
            let c = i.config.found()?;
            c.pool_on_port(port).map(|p| (i, p))
        })
    }

    /// Whether a path is a socket file right now.
    pub fn is_socket(&self, path: &Path) -> bool {
        self.stat_chain(path)
            .target_stat()
            .is_some_and(|s| s.kind == FileKind::Socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_socket_names() {
        assert_eq!(
            name_words(Path::new("/run/php/php8.2-fpm.sock")),
            vec!["php", "fpm"]
        );
        assert_eq!(name_words(Path::new("/run/app.sock")), vec!["app"]);
    }

    #[test]
    fn live_same_directory_and_similar_names() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("php8.1-fpm.sock");
        let _l = std::os::unix::net::UnixListener::bind(&a).unwrap();
        let want = d.path().join("php8.2-fpm.sock");
        let n = nearby_unix_sockets(&Root::system(), &want, None);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].path, a);
        assert_eq!(n[0].reason, NearbyReason::SameDirectory);
        assert_eq!(n[0].listening, None);
        let elsewhere = NetFacts {
            unix: vec![UnixListener {
                path: "/srv/other/php-fpm.sock".into(),
                kind: crate::net::UnixKind::Stream,
                accept_queue: None,
                backlog: None,
                inode: 1,
                owners: vec![],
            }],
            ..NetFacts::default()
        };
        let n = nearby_unix_sockets(
            &Root::system(),
            Path::new("/nonexistent/php8.2-fpm.sock"),
            Some(&elsewhere),
        );
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].reason, NearbyReason::SimilarName);
    }
}
