//! "As the worker": can nginx's worker user connect to a unix socket?
//!
//! The computation is pure: the worker's credentials (uid, primary gid,
//! supplementary groups as `initgroups` gives them from `/etc/group`) and
//! the owner, group and mode of every directory on the path and of the
//! socket itself. Connecting needs search (`x`) on each directory and
//! write (`w`) on the socket; the owner class wins over the group class,
//! which wins over "other" (a class that matches but lacks the bit denies,
//! even if a later class has it). uid 0 passes (CAP_DAC_OVERRIDE). POSIX
//! ACLs and security modules are not modelled; the real attempt as the
//! worker (see `worker_attempt`) covers them.
//!
//! Small pure parsers for `/etc/passwd` and `/etc/group` live here too.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// Who the nginx worker runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerIdentity {
    /// User name (the `user` directive), or the uid as text.
    pub user: String,
    /// uid.
    pub uid: u32,
    /// Primary gid (the `user` directive's group, else the user's group).
    pub gid: u32,
    /// Supplementary groups from `/etc/group` (the primary gid included).
    pub groups: Vec<u32>,
}

/// Why a worker identity could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The user is not in the passwd data.
    #[error("user {0:?} not found in /etc/passwd")]
    UnknownUser(String),
    /// The group is not in the group data.
    #[error("group {0:?} not found in /etc/group")]
    UnknownGroup(String),
    /// A file could not be read.
    #[error("cannot read {path}: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The error text.
        error: String,
    },
}

/// One `/etc/passwd` entry (the fields used here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub name: String,
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// gid.
    pub gid: u32,
    /// Member user names.
    pub members: Vec<String>,
}

/// Parse `/etc/passwd` text; malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: (*f.first()?).to_owned(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// Parse `/etc/group` text; malformed lines are skipped.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: (*f.first()?).to_owned(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

impl WorkerIdentity {
    /// The identity for nginx's `user USER [GROUP];` from passwd and group
    /// text. As nginx does, a missing GROUP means the group named like the
    /// user (where no such group exists nginx would refuse to start; the
    /// passwd entry's group is assumed instead). Supplementary groups are
    /// what `initgroups(USER, gid)` gives: gid plus every group listing USER.
    pub fn from_user_directive(
        user: &str,
        group: Option<&str>,
        passwd: &str,
        group_text: &str,
    ) -> Result<WorkerIdentity, IdentityError> {
        let users = parse_passwd(passwd);
        let groups = parse_group(group_text);
        let pw = users
            .iter()
            .find(|u| u.name == user)
            .or_else(|| {
                let uid: u32 = user.parse().ok()?;
                users.iter().find(|u| u.uid == uid)
            })
            .ok_or_else(|| IdentityError::UnknownUser(user.to_owned()))?;
        let group_name = group.unwrap_or(user);
        let gid = match groups.iter().find(|g| g.name == group_name) {
            Some(g) => g.gid,
            None if group.is_none() => pw.gid,
            None => match group_name.parse() {
                Ok(n) => n,
                Err(_) => return Err(IdentityError::UnknownGroup(group_name.to_owned())),
            },
        };
        let mut all = vec![gid];
        for g in &groups {
            if g.members.contains(&pw.name) && !all.contains(&g.gid) {
                all.push(g.gid);
            }
        }
        Ok(WorkerIdentity {
            user: pw.name.clone(),
            uid: pw.uid,
            gid,
            groups: all,
        })
    }

    /// Read `/etc/passwd` and `/etc/group` and resolve the `user` directive.
    pub fn lookup(user: &str, group: Option<&str>) -> Result<WorkerIdentity, IdentityError> {
        let read = |p: &str| {
            std::fs::read_to_string(p).map_err(|e| IdentityError::Unreadable {
                path: p.into(),
                error: e.to_string(),
            })
        };
        WorkerIdentity::from_user_directive(
            user,
            group,
            &read("/etc/passwd")?,
            &read("/etc/group")?,
        )
    }
}

/// Ownership and mode of one path component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathFacts {
    /// The path.
    pub path: PathBuf,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Permission bits (`0o660`).
    pub mode: u32,
    /// Whether it is a directory (else the final socket or file).
    pub dir: bool,
}

/// The first thing that stops the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    /// The path that denies.
    pub path: PathBuf,
    /// `search` (a directory's x bit) or `write` (the socket's w bit).
    pub needs: &'static str,
    /// The class that applied: `owner`, `group` or `other`.
    pub class: &'static str,
    /// Its mode, octal text (`0660`).
    pub mode: String,
    /// Owner uid and group gid of that path.
    pub owner: (u32, u32),
}

/// The computed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// Whether every step is allowed.
    pub allowed: bool,
    /// The first denial, if any.
    pub denied_by: Option<Denial>,
    /// A path component that does not exist, if any.
    pub missing: Option<PathBuf>,
}

/// Can `who` connect to the socket whose path chain is `chain` (each
/// directory from `/` down, then the socket last)?
pub fn check_access(who: &WorkerIdentity, chain: &[PathFacts]) -> Access {
    for (i, p) in chain.iter().enumerate() {
        let last = i + 1 == chain.len();
        let (needs, bit) = if last && !p.dir {
            ("write", 0o2)
        } else {
            ("search", 0o1)
        };
        if who.uid == 0 {
            continue;
        }
        let (class, shift) = if who.uid == p.uid {
            ("owner", 6)
        } else if who.groups.contains(&p.gid) || who.gid == p.gid {
            ("group", 3)
        } else {
            ("other", 0)
        };
        if (p.mode >> shift) & bit == 0 {
            return Access {
                allowed: false,
                denied_by: Some(Denial {
                    path: p.path.clone(),
                    needs,
                    class,
                    mode: format!("{:04o}", p.mode & 0o7777),
                    owner: (p.uid, p.gid),
                }),
                missing: None,
            };
        }
    }
    Access {
        allowed: true,
        denied_by: None,
        missing: None,
    }
}

/// `stat` every component of an absolute `path` (following symlinks, as
/// connect does). Returns the chain and the first missing component.
pub fn path_chain(path: &Path) -> (Vec<PathFacts>, Option<PathBuf>) {
    let mut chain = Vec::new();
    let mut cur = PathBuf::new();
    let comps: Vec<Component<'_>> = path.components().collect();
    for c in &comps {
        cur.push(c.as_os_str());
        match std::fs::metadata(&cur) {
            Ok(m) => chain.push(PathFacts {
                path: cur.clone(),
                uid: m.uid(),
                gid: m.gid(),
                mode: m.mode() & 0o7777,
                dir: m.is_dir(),
            }),
            Err(_) => return (chain, Some(cur)),
        }
    }
    (chain, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbroken line\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\nphp:x:999:www-data,alice\n";

    fn who(user: &str) -> WorkerIdentity {
        WorkerIdentity::from_user_directive(user, None, PASSWD, GROUP).unwrap()
    }

    fn p(path: &str, uid: u32, gid: u32, mode: u32, dir: bool) -> PathFacts {
        PathFacts {
            path: path.into(),
            uid,
            gid,
            mode,
            dir,
        }
    }

    #[test]
    fn identity_from_user_directive() {
        let w = who("www-data");
        assert_eq!((w.uid, w.gid), (33, 33));
        assert_eq!(w.groups, [33, 999]);
        let n =
            WorkerIdentity::from_user_directive("nobody", Some("nogroup"), PASSWD, GROUP).unwrap();
        assert_eq!(
            (n.uid, n.gid, n.groups.clone()),
            (65534, 65534, vec![65534])
        );
        // nobody has no group called "nobody": the passwd gid is used.
        assert_eq!(who("nobody").gid, 65534);
        assert!(WorkerIdentity::from_user_directive("ghost", None, PASSWD, GROUP).is_err());
        assert!(
            WorkerIdentity::from_user_directive("nobody", Some("ghosts"), PASSWD, GROUP).is_err()
        );
    }

    #[test]
    fn socket_mode_decides() {
        let chain = [
            p("/", 0, 0, 0o755, true),
            p("/run", 0, 0, 0o755, true),
            p("/run/php", 33, 33, 0o755, true),
            p("/run/php/fpm.sock", 0, 0, 0o660, false),
        ];
        let a = check_access(&who("nobody"), &chain);
        assert!(!a.allowed);
        let d = a.denied_by.unwrap();
        assert_eq!(
            (d.needs, d.class, d.mode.as_str()),
            ("write", "other", "0660")
        );
        // In the socket's group (supplementary): allowed.
        let mut c2 = chain.clone();
        c2[3].gid = 999;
        assert!(check_access(&who("www-data"), &c2).allowed);
        // Root always passes.
        assert!(check_access(&who("root"), &chain).allowed);
    }

    #[test]
    fn owner_class_wins_and_dirs_need_search() {
        let chain = [
            p("/", 0, 0, 0o755, true),
            p("/srv", 0, 0, 0o750, true),
            p("/srv/app.sock", 33, 33, 0o066, false),
        ];
        let a = check_access(&who("www-data"), &chain);
        assert_eq!(a.denied_by.unwrap().path, PathBuf::from("/srv"));
        let chain = [
            p("/", 0, 0, 0o755, true),
            p("/srv/app.sock", 33, 33, 0o066, false),
        ];
        let d = check_access(&who("www-data"), &chain).denied_by.unwrap();
        assert_eq!((d.class, d.needs), ("owner", "write"));
    }
}
