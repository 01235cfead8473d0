//! Users, groups, and the question behind `13: Permission denied` on a
//! unix socket: can this uid/gid/groups connect, given the owner, group and
//! mode of the socket and the search bit of every directory above it?
//!
//! `/etc/passwd` and `/etc/group` are parsed as text (no NSS: users from
//! LDAP or sssd are not seen). The permission check follows the kernel's
//! order (owner class, else group class, else other; root passes) and
//! ignores POSIX ACLs, which PHP-FPM's `listen.acl_users` sets.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::error::ParseError;
use crate::reader::Root;
use crate::section::{Skip, SkipReason};

/// A line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// A line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Users listed as members (not those with it as primary group).
    pub members: Vec<String>,
}

/// Parse `/etc/passwd`. Blank lines, comments and NIS `+`/`-` lines are
/// skipped.
pub fn parse_passwd(text: &str) -> Result<Vec<User>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if skip_line(line) {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        let bad = || ParseError::new(i + 1, "`name:x:uid:gid:gecos:home:shell`", line);
        if f.len() != 7 {
            return Err(bad());
        }
        out.push(User {
            name: f[0].to_string(),
            uid: f[2].parse().map_err(|_| bad())?,
            gid: f[3].parse().map_err(|_| bad())?,
            home: f[5].to_string(),
            shell: f[6].to_string(),
        });
    }
    Ok(out)
}

/// Parse `/etc/group`.
pub fn parse_group(text: &str) -> Result<Vec<Group>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if skip_line(line) {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        let bad = || ParseError::new(i + 1, "`name:x:gid:member,member`", line);
        if f.len() != 4 {
            return Err(bad());
        }
        out.push(Group {
            name: f[0].to_string(),
            gid: f[2].parse().map_err(|_| bad())?,
            members: f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(out)
}

fn skip_line(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with('+') || t.starts_with('-')
}

/// The password and group databases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserDb {
    /// Users in file order.
    pub users: Vec<User>,
    /// Groups in file order.
    pub groups: Vec<Group>,
}

impl UserDb {
    /// Read `/etc/passwd` and `/etc/group` under `root`. A missing or bad
    /// file leaves that half empty and is returned as a gap.
    pub fn read(root: &Root) -> (UserDb, Vec<Skip>) {
        let mut gaps = Vec::new();
        let users = root.parse("/etc/passwd", parse_passwd).unwrap_or_else(|e| {
            gaps.push(Skip::from_read_error("/etc/passwd", &e));
            Vec::new()
        });
        let groups = root.parse("/etc/group", parse_group).unwrap_or_else(|e| {
            gaps.push(Skip::from_read_error("/etc/group", &e));
            Vec::new()
        });
        (UserDb { users, groups }, gaps)
    }

    /// The user named `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The first user with `uid`.
    pub fn user_by_uid(&self, uid: u32) -> Option<&User> {
        self.users.iter().find(|u| u.uid == uid)
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The first group with `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Option<&Group> {
        self.groups.iter().find(|g| g.gid == gid)
    }

    /// What a process started as `user` (and optionally `group`, as in
    /// nginx's `user www-data www-data;`) gets after `initgroups()`: its
    /// uid, the group (or the user's primary group) and every group listing
    /// the user. `user` may also be numeric.
    pub fn credentials(&self, user: &str, group: Option<&str>) -> Option<Credentials> {
        let u = self
            .user(user)
            .or_else(|| user.parse().ok().and_then(|uid| self.user_by_uid(uid)))?;
        let gid = match group {
            Some(g) => self.group(g).map(|g| g.gid).or_else(|| g.parse().ok())?,
            None => u.gid,
        };
        let mut groups: Vec<u32> = std::iter::once(u.gid)
            .chain(
                self.groups
                    .iter()
                    .filter(|g| g.members.contains(&u.name))
                    .map(|g| g.gid),
            )
            .collect();
        groups.sort_unstable();
        groups.dedup();
        Some(Credentials {
            uid: u.uid,
            gid,
            groups,
        })
    }
}

/// Who is asking: effective uid, gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Credentials {
    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// What a path component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A directory.
    Dir,
    /// A unix socket.
    Socket,
    /// A symbolic link (followed by the walk).
    Symlink,
    /// A regular file.
    File,
    /// Anything else (device, fifo).
    Other,
}

/// Owner, group and mode of one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStat {
    /// The path (as the host sees it).
    pub path: PathBuf,
    /// File type.
    pub kind: FileKind,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Permission bits (`0o660`), setuid/setgid/sticky included;
    /// serialized as an octal string (`"0660"`).
    #[serde(serialize_with = "crate::section::octal")]
    pub mode: u32,
}

/// `lstat` of every directory from `/` down to a path, then the path
/// itself; symlinks are followed like `connect()` follows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatChain {
    /// The path asked about.
    pub target: PathBuf,
    /// Each component walked, `/` first, the final file last (when found).
    pub entries: Vec<PathStat>,
    /// The first component that does not exist (ENOENT at connect).
    pub missing: Option<PathBuf>,
    /// Why the walk stopped early otherwise (permission to stat, a loop).
    pub stopped: Option<Skip>,
}

impl StatChain {
    /// The final entry, when the walk reached it.
    pub fn target_stat(&self) -> Option<&PathStat> {
        self.entries
            .last()
            .filter(|e| self.missing.is_none() && self.stopped.is_none() && e.kind != FileKind::Dir)
    }
}

fn kind_of(ft: std::fs::FileType) -> FileKind {
    if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_socket() {
        FileKind::Socket
    } else if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    }
}

/// Walk `path` (absolute, as the host sees it) under `root`, recording
/// owner, group and mode of every component. Pass `Root::new("/proc/PID/root")`
/// to see the path as a process in another mount namespace (systemd
/// `PrivateTmp`) sees it.
pub fn stat_chain(root: &Root, path: &Path) -> StatChain {
    let mut chain = StatChain {
        target: path.to_path_buf(),
        ..StatChain::default()
    };
    let mut pending: Vec<PathBuf> = Vec::new();
    let push_components = |p: &Path, pending: &mut Vec<PathBuf>| {
        for c in p.components().rev() {
            if let Component::Normal(n) = c {
                pending.push(PathBuf::from(n));
            } else if c == Component::ParentDir {
                pending.push(PathBuf::from(".."));
            }
        }
    };
    push_components(path, &mut pending);
    let mut cur = PathBuf::from("/");
    let mut hops = 0;
    let record = |chain: &mut StatChain, p: &Path| -> Option<std::fs::Metadata> {
        match root.symlink_metadata(p) {
            Ok(m) => {
                chain.entries.push(PathStat {
                    path: p.to_path_buf(),
                    kind: kind_of(m.file_type()),
                    uid: m.uid(),
                    gid: m.gid(),
                    mode: m.mode() & 0o7777,
                });
                Some(m)
            }
            Err(e) => {
                let skip = Skip::from_read_error(&p.display().to_string(), &e);
                if skip.why == SkipReason::NotPresent {
                    chain.missing = Some(p.to_path_buf());
                } else {
                    chain.stopped = Some(skip);
                }
                None
            }
        }
    };
    if record(&mut chain, &cur).is_none() {
        return chain;
    }
    while let Some(name) = pending.pop() {
        if name == Path::new("..") {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let Some(meta) = record(&mut chain, &next) else {
            return chain;
        };
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                chain.stopped = Some(Skip::new(
                    next.display().to_string(),
                    SkipReason::Unparseable,
                    "too many levels of symbolic links",
                ));
                return chain;
            }
            let Ok(target) = root.read_link(&next) else {
                chain.stopped = Some(Skip::new(
                    next.display().to_string(),
                    SkipReason::PermissionDenied,
                    "unreadable symbolic link",
                ));
                return chain;
            };
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            push_components(&target, &mut pending);
            continue;
        }
        cur = next;
    }
    chain
}

/// Which permission class granted access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// uid 0 (`CAP_DAC_OVERRIDE`): permission bits do not apply.
    Root,
    /// The owner bits.
    Owner,
    /// The group bits.
    Group,
    /// The other bits.
    Other,
}

/// The permission a component lacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// Search (`x`) on a directory on the way.
    Search,
    /// Write (`w`) on the socket itself (what `connect()` checks).
    Write,
}

/// Whether `connect()` to a unix socket would pass the permission checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Access {
    /// Every directory searchable and the socket writable.
    Allowed {
        /// What granted write on the socket.
        via: Grant,
    },
    /// A component denies it (`13: Permission denied`).
    Denied {
        /// The component that denies.
        path: PathBuf,
        /// What was missing there.
        need: Need,
        /// Which class of its bits applied (owner, group or other).
        class: Grant,
        /// Its owner, group and mode.
        stat: PathStat,
    },
    /// The path does not exist (`2: No such file or directory`).
    Missing {
        /// The first missing component.
        path: PathBuf,
    },
    /// The path exists but is not a socket (`111: Connection refused`).
    NotASocket {
        /// What it is instead.
        kind: FileKind,
    },
    /// The walk could not finish (a directory we may not stat).
    Unknown {
        /// Why.
        reason: Skip,
    },
}

/// The class that applies to `creds` for a file, and whether its bits
/// include `bit` (4 read, 2 write, 1 search).
fn check(creds: &Credentials, st: &PathStat, bit: u32) -> (Grant, bool) {
    if creds.uid == 0 {
        return (Grant::Root, true);
    }
    let (class, bits) = if creds.uid == st.uid {
        (Grant::Owner, st.mode >> 6)
    } else if creds.in_group(st.gid) {
        (Grant::Group, st.mode >> 3)
    } else {
        (Grant::Other, st.mode)
    };
    (class, bits & bit != 0)
}

/// Decide whether `creds` may connect to the unix socket whose walk is
/// `chain` (from [`stat_chain`]). Pure: the same chain and credentials give
/// the same answer, so it can be asked for any user (nginx's `user`, the
/// PHP-FPM pool user) without switching identity.
pub fn unix_connect_access(creds: &Credentials, chain: &StatChain) -> Access {
    if let Some(path) = &chain.missing {
        return Access::Missing { path: path.clone() };
    }
    if let Some(reason) = &chain.stopped {
        return Access::Unknown {
            reason: reason.clone(),
        };
    }
    let Some((last, dirs)) = chain.entries.split_last() else {
        return Access::Unknown {
            reason: Skip::new(
                chain.target.display().to_string(),
                SkipReason::NotPresent,
                "nothing was examined",
            ),
        };
    };
    // Search permission is needed on every directory that is walked
    // through (symlinks themselves carry no permission).
    for d in dirs.iter().filter(|d| d.kind == FileKind::Dir) {
        let (class, ok) = check(creds, d, 1);
        if !ok {
            return Access::Denied {
                path: d.path.clone(),
                need: Need::Search,
                class,
                stat: d.clone(),
            };
        }
    }
    if last.kind != FileKind::Socket {
        return Access::NotASocket { kind: last.kind };
    }
    match check(creds, last, 2) {
        (via, true) => Access::Allowed { via },
        (class, false) => Access::Denied {
            path: last.path.clone(),
            need: Need::Write,
            class,
            stat: last.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(path: &str, kind: FileKind, uid: u32, gid: u32, mode: u32) -> PathStat {
        PathStat {
            path: path.into(),
            kind,
            uid,
            gid,
            mode,
        }
    }

    fn chain(entries: Vec<PathStat>) -> StatChain {
        StatChain {
            target: entries.last().unwrap().path.clone(),
            entries,
            ..StatChain::default()
        }
    }

    const WWW: Credentials = Credentials {
        uid: 33,
        gid: 33,
        groups: Vec::new(),
    };

    #[test]
    fn databases() {
        let p = parse_passwd("root:x:0:0:root:/root:/bin/bash\n\n+nis\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n").unwrap();
        let g = parse_group("root:x:0:\nwww-data:x:33:\nphp:x:1001:www-data,bob\n").unwrap();
        let db = UserDb {
            users: p,
            groups: g,
        };
        let c = db.credentials("www-data", None).unwrap();
        assert_eq!((c.uid, c.gid, c.groups.clone()), (33, 33, vec![33, 1001]));
        assert_eq!(db.credentials("33", Some("root")).unwrap().gid, 0);
        assert!(db.credentials("nobody", None).is_none());
        assert_eq!(parse_passwd("a:b\n").unwrap_err().line, 1);
        assert_eq!(parse_group("a:x:y:\n").unwrap_err().line, 1);
    }

    #[test]
    fn owner_class_blocks_fallthrough() {
        // The owner lacks w even though "other" has it: denied.
        let c = chain(vec![
            st("/", FileKind::Dir, 0, 0, 0o755),
            st("/s.sock", FileKind::Socket, 33, 0, 0o466),
        ]);
        assert!(matches!(
            unix_connect_access(&WWW, &c),
            Access::Denied {
                need: Need::Write,
                class: Grant::Owner,
                ..
            }
        ));
    }

    #[test]
    fn group_and_dir_search() {
        let sock = st("/run/php/x.sock", FileKind::Socket, 0, 33, 0o660);
        let c = chain(vec![
            st("/", FileKind::Dir, 0, 0, 0o755),
            st("/run", FileKind::Dir, 0, 0, 0o755),
            st("/run/php", FileKind::Dir, 0, 0, 0o700),
            sock.clone(),
        ]);
        match unix_connect_access(&WWW, &c) {
            Access::Denied { path, need, .. } => {
                assert_eq!(path, Path::new("/run/php"));
                assert_eq!(need, Need::Search);
            }
            other => panic!("{other:?}"),
        }
        let root = Credentials {
            uid: 0,
            gid: 0,
            groups: vec![],
        };
        assert_eq!(
            unix_connect_access(&root, &c),
            Access::Allowed { via: Grant::Root }
        );
        let mut open = c.clone();
        open.entries[2].mode = 0o755;
        assert_eq!(
            unix_connect_access(&WWW, &open),
            Access::Allowed { via: Grant::Group }
        );
        let mut file = open.clone();
        file.entries[3].kind = FileKind::File;
        assert_eq!(
            unix_connect_access(&WWW, &file),
            Access::NotASocket {
                kind: FileKind::File
            }
        );
        let missing = StatChain {
            missing: Some("/run/php".into()),
            ..open
        };
        assert!(matches!(
            unix_connect_access(&WWW, &missing),
            Access::Missing { .. }
        ));
    }

    #[test]
    fn live_chain_follows_symlinks_and_finds_missing() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("f"), b"").unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("link")).unwrap();
        let c = stat_chain(&Root::system(), &d.path().join("link/f"));
        assert!(c.missing.is_none(), "{c:?}");
        let kinds: Vec<FileKind> = c.entries.iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&FileKind::Symlink));
        assert_eq!(c.entries.last().unwrap().path, real.join("f"));
        assert_eq!(c.target_stat().unwrap().kind, FileKind::File);
        let m = stat_chain(&Root::system(), &d.path().join("nope/x.sock"));
        assert_eq!(m.missing, Some(d.path().join("nope")));
        assert!(m.target_stat().is_none());
    }
}
