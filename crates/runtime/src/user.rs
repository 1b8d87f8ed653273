//! Docker's `--user` resolution against an image's `/etc/passwd` and `/etc/group`.
//!
//! The spec is `user[:group]`, each part a name or a number. A user part is
//! matched against passwd by uid when numeric, by name otherwise; an empty user
//! part means the image default, root. A numeric uid with no passwd entry is valid
//! (gid 0, home `/`); an unknown name is an error. When no group is given, the
//! supplementary groups are the `/etc/group` entries listing the matched user name;
//! an explicit group replaces the primary gid and brings no supplementary groups.
//!
//! Both files come from an image, so they are opened with `openat2(RESOLVE_IN_ROOT)`
//! relative to the rootfs: absolute symlinks and `..` stay inside the rootfs, and
//! a non-regular file (a FIFO that would block us) is refused.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::RuntimeError;

/// A resolved process identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, the primary gid first (as Docker puts it in the spec).
    pub additional_gids: Vec<u32>,
    /// The user's home directory from passwd, `/` when unknown; the container crate
    /// sets `HOME` from it when the image did not.
    pub home: String,
}

impl User {
    /// `HOME=` the user's home directory (`/` when unknown), for a process
    /// whose environment sets none.
    pub fn home_env(&self) -> String {
        let home = if self.home.is_empty() {
            "/"
        } else {
            &self.home
        };
        format!("HOME={home}")
    }
}

/// Largest id Docker accepts (`int32` max).
const MAX_ID: i64 = 2_147_483_647;
/// An `/etc/passwd` or `/etc/group` larger than this is refused rather than read.
const MAX_DB_FILE_BYTES: u64 = 16 << 20;

struct PasswdEntry {
    name: String,
    uid: i64,
    gid: i64,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: i64,
    members: Vec<String>,
}

/// Resolves Docker's `-u` value inside `rootfs`. See the module documentation.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<User, RuntimeError> {
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, rest)) => (u, rest.split(':').next().unwrap_or("")),
        None => (user, ""),
    };
    let root = open_root(rootfs)?;
    let passwd = read_in_root(&root, rootfs, "etc/passwd")?
        .map(|text| parse_passwd(&text))
        .unwrap_or_default();

    let numeric_user = user_part.parse::<i64>().ok();
    let matched = passwd.iter().find(|entry| {
        if user_part.is_empty() {
            entry.uid == 0
        } else if let Some(uid) = numeric_user {
            entry.uid == uid
        } else {
            entry.name == user_part
        }
    });

    let (uid, mut gid, home, matched_name) = match matched {
        Some(entry) => (
            entry.uid,
            entry.gid,
            entry.home.clone(),
            Some(entry.name.clone()),
        ),
        None if user_part.is_empty() => (0, 0, "/".to_string(), None),
        None => match numeric_user {
            Some(uid) => (uid, 0, "/".to_string(), None),
            None => return Err(RuntimeError::UserNotFound(user_part.to_string())),
        },
    };
    if !(0..=MAX_ID).contains(&uid) {
        return Err(RuntimeError::IdOutOfRange);
    }

    let mut supplementary = Vec::new();
    if !group_part.is_empty() || matched_name.is_some() {
        let groups = read_in_root(&root, rootfs, "etc/group")?
            .map(|text| parse_group(&text))
            .unwrap_or_default();
        if !group_part.is_empty() {
            let numeric_group = group_part.parse::<i64>().ok();
            let found = groups
                .iter()
                .find(|g| g.name == group_part || Some(g.gid) == numeric_group);
            gid = match (found, numeric_group) {
                (Some(group), _) => group.gid,
                (None, Some(number)) => number,
                (None, None) => return Err(RuntimeError::GroupNotFound(group_part.to_string())),
            };
        } else if let Some(name) = &matched_name {
            supplementary = groups
                .iter()
                .filter(|g| g.members.iter().any(|m| m == name))
                .map(|g| g.gid)
                .collect();
        }
    }
    if !(0..=MAX_ID).contains(&gid) || supplementary.iter().any(|g| !(0..=MAX_ID).contains(g)) {
        return Err(RuntimeError::IdOutOfRange);
    }

    // Ranges were checked above, so these conversions cannot fail.
    let to_u32 = |id: i64| u32::try_from(id).map_err(|_| RuntimeError::IdOutOfRange);
    let gid = to_u32(gid)?;
    let mut additional_gids = vec![gid];
    for g in supplementary {
        let g = to_u32(g)?;
        if !additional_gids.contains(&g) {
            additional_gids.push(g);
        }
    }
    Ok(User {
        uid: to_u32(uid)?,
        gid,
        additional_gids,
        home: if home.is_empty() {
            "/".to_string()
        } else {
            home
        },
    })
}

/// [`resolve_user`], plus the container's `--group-add` groups (see
/// [`resolve_groups`]) among the supplementary ones: the identity of a
/// container's process and of its execs, as Docker gives them. With
/// `image_groups` false (the CRI's `supplemental_groups_policy: Strict`)
/// the image's `/etc/group` memberships of the user are left out: only its
/// primary group and `group_add` remain.
pub fn resolve_container_user(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
    image_groups: bool,
) -> Result<User, RuntimeError> {
    let mut resolved = resolve_user(rootfs, user)?;
    if !image_groups {
        resolved.additional_gids.truncate(1);
    }
    for gid in resolve_groups(rootfs, group_add)? {
        if !resolved.additional_gids.contains(&gid) {
            resolved.additional_gids.push(gid);
        }
    }
    Ok(resolved)
}

/// Docker's `--group-add`: each entry a group name from the image's
/// `/etc/group` or a number (which needs no entry), in the order given.
fn resolve_groups(rootfs: &Path, names: &[String]) -> Result<Vec<u32>, RuntimeError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let root = open_root(rootfs)?;
    let groups = read_in_root(&root, rootfs, "etc/group")?
        .map(|text| parse_group(&text))
        .unwrap_or_default();
    let mut gids = Vec::new();
    for name in names {
        let gid = match groups.iter().find(|g| &g.name == name) {
            Some(group) => group.gid,
            None => name
                .parse::<i64>()
                .map_err(|_| RuntimeError::GroupAddNotFound(name.clone()))?,
        };
        if !(0..=MAX_ID).contains(&gid) {
            return Err(RuntimeError::IdOutOfRange);
        }
        gids.push(u32::try_from(gid).map_err(|_| RuntimeError::IdOutOfRange)?);
    }
    Ok(gids)
}

fn open_root(rootfs: &Path) -> Result<OwnedFd, RuntimeError> {
    rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RuntimeError::io(rootfs, e.into()))
}

/// Reads `relative` inside the root; `Ok(None)` when it does not exist (Docker then
/// behaves as if the file were empty).
fn read_in_root(
    root: &OwnedFd,
    rootfs: &Path,
    relative: &str,
) -> Result<Option<String>, RuntimeError> {
    let shown_path = rootfs.join(relative);
    let fd = loop {
        match rustix::fs::openat2(
            root,
            relative,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => break fd,
            // The kernel asks for a retry when a rename raced with resolution.
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(RuntimeError::io(&shown_path, e.into())),
        }
    };
    let file = File::from(fd);
    let metadata = file
        .metadata()
        .map_err(|e| RuntimeError::io(&shown_path, e))?;
    if !metadata.is_file() {
        return Err(RuntimeError::invalid(format!(
            "{}: not a regular file",
            shown_path.display()
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_DB_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| RuntimeError::io(&shown_path, e))?;
    if bytes.len() as u64 > MAX_DB_FILE_BYTES {
        return Err(RuntimeError::invalid(format!(
            "{}: larger than {MAX_DB_FILE_BYTES} bytes",
            shown_path.display()
        )));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Splits a colon-separated database line; like Docker, unparsable numbers read as 0
/// and missing trailing fields are empty.
fn fields(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    Some(line.split(':').collect())
}

fn number(field: Option<&&str>) -> i64 {
    field.and_then(|f| f.parse().ok()).unwrap_or(0)
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(fields)
        .map(|f| PasswdEntry {
            name: f[0].to_string(),
            uid: number(f.get(2)),
            gid: number(f.get(3)),
            home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(fields)
        .map(|f| GroupEntry {
            name: f[0].to_string(),
            gid: number(f.get(2)),
            members: f
                .get(3)
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        \n\
        alice:x:1000:1000:Alice:/home/alice:/bin/sh\n\
        bob:x:1001:1001::/home/bob:/bin/sh\n";
    const GROUP: &str = "root:x:0:\n\
        wheel:x:10:root,alice\n\
        alice:x:1000:\n\
        bob:x:1001:\n\
        audio:x:29:alice, bob\n\
        staff:x:50:\n";

    fn rootfs_with(passwd: &str, group: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/passwd"), passwd).unwrap();
        fs::write(dir.path().join("etc/group"), group).unwrap();
        dir
    }

    fn user(uid: u32, gid: u32, gids: &[u32], home: &str) -> User {
        User {
            uid,
            gid,
            additional_gids: gids.to_vec(),
            home: home.to_string(),
        }
    }

    #[test]
    fn empty_spec_is_root_with_its_groups() {
        let root = rootfs_with(PASSWD, GROUP);
        assert_eq!(
            resolve_user(root.path(), "").unwrap(),
            user(0, 0, &[0, 10], "/root")
        );
    }

    #[test]
    fn name_gets_passwd_ids_and_member_groups() {
        let root = rootfs_with(PASSWD, GROUP);
        assert_eq!(
            resolve_user(root.path(), "alice").unwrap(),
            user(1000, 1000, &[1000, 10, 29], "/home/alice")
        );
    }

    #[test]
    fn numeric_uid_matches_passwd_entry() {
        let root = rootfs_with(PASSWD, GROUP);
        assert_eq!(
            resolve_user(root.path(), "1001").unwrap(),
            user(1001, 1001, &[1001, 29], "/home/bob")
        );
    }

    #[test]
    fn numeric_uid_without_entry_gets_gid_zero() {
        let root = rootfs_with(PASSWD, GROUP);
        assert_eq!(
            resolve_user(root.path(), "4242").unwrap(),
            user(4242, 0, &[0], "/")
        );
    }

    #[test]
    fn explicit_group_by_name_or_number_drops_supplementary_groups() {
        let root = rootfs_with(PASSWD, GROUP);
        assert_eq!(
            resolve_user(root.path(), "alice:staff").unwrap(),
            user(1000, 50, &[50], "/home/alice")
        );
        assert_eq!(
            resolve_user(root.path(), "1000:7777").unwrap(),
            user(1000, 7777, &[7777], "/home/alice")
        );
        assert_eq!(
            resolve_user(root.path(), "5:10").unwrap(),
            user(5, 10, &[10], "/")
        );
    }

    #[test]
    fn group_add_takes_names_and_numbers() {
        let root = rootfs_with(PASSWD, GROUP);
        let names = ["audio".to_string(), "4242".to_string(), "wheel".to_string()];
        assert_eq!(
            resolve_groups(root.path(), &names).unwrap(),
            vec![29, 4242, 10]
        );
        let err = resolve_groups(root.path(), &["nope".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unable to find group nope: no matching entries in group file"
        );
        assert!(resolve_groups(root.path(), &["-3".to_string()]).is_err());
        let user =
            resolve_container_user(root.path(), "alice", &["4242".to_string()], true).unwrap();
        assert_eq!(user.additional_gids, vec![1000, 10, 29, 4242]);
        // Strict: alice's memberships in the image's /etc/group are left out.
        let strict =
            resolve_container_user(root.path(), "alice", &["4242".to_string()], false).unwrap();
        assert_eq!(strict.additional_gids, vec![1000, 4242]);
    }

    #[test]
    fn unknown_names_give_dockers_errors() {
        let root = rootfs_with(PASSWD, GROUP);
        assert_eq!(
            resolve_user(root.path(), "mallory")
                .unwrap_err()
                .to_string(),
            "unable to find user mallory: no matching entries in passwd file"
        );
        assert_eq!(
            resolve_user(root.path(), "alice:nogroup")
                .unwrap_err()
                .to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
    }

    #[test]
    fn out_of_range_ids_are_refused() {
        let root = rootfs_with(PASSWD, GROUP);
        for spec in ["-1", "2147483648", "0:-5"] {
            assert_eq!(
                resolve_user(root.path(), spec).unwrap_err().to_string(),
                "uids and gids must be in range 0-2147483647",
                "{spec}"
            );
        }
    }

    #[test]
    fn missing_files_behave_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve_user(dir.path(), "").unwrap(), user(0, 0, &[0], "/"));
        assert_eq!(
            resolve_user(dir.path(), "33:44").unwrap(),
            user(33, 44, &[44], "/")
        );
        assert!(matches!(
            resolve_user(dir.path(), "www-data"),
            Err(RuntimeError::UserNotFound(name)) if name == "www-data"
        ));
    }

    #[test]
    fn symlinked_passwd_cannot_escape_the_rootfs() {
        // A host file that a malicious image tries to read through a symlink.
        let host = tempfile::tempdir().unwrap();
        let host_passwd = host.path().join("passwd");
        fs::write(&host_passwd, "hostonly:x:777:777::/host:/bin/sh\n").unwrap();

        let rootfs = tempfile::tempdir().unwrap();
        fs::create_dir_all(rootfs.path().join("etc")).unwrap();
        let escape = format!("/../../../..{}", host_passwd.display());
        std::os::unix::fs::symlink(&escape, rootfs.path().join("etc/passwd")).unwrap();
        // Sanity: followed naively from the host, the link does reach the host file.
        assert!(fs::read_to_string(rootfs.path().join("etc/passwd"))
            .unwrap()
            .contains("hostonly"));

        assert_eq!(
            resolve_user(rootfs.path(), "hostonly")
                .unwrap_err()
                .to_string(),
            "unable to find user hostonly: no matching entries in passwd file"
        );

        // The same link target, materialised inside the rootfs, is what gets read.
        let inside = rootfs.path().join(host_passwd.strip_prefix("/").unwrap());
        fs::create_dir_all(inside.parent().unwrap()).unwrap();
        fs::write(&inside, "contained:x:555:556::/c:/bin/sh\n").unwrap();
        assert_eq!(
            resolve_user(rootfs.path(), "contained").unwrap(),
            user(555, 556, &[556], "/c")
        );
    }

    #[test]
    fn fifo_passwd_is_refused_not_blocking() {
        let rootfs = tempfile::tempdir().unwrap();
        fs::create_dir_all(rootfs.path().join("etc")).unwrap();
        let fifo = rootfs.path().join("etc/passwd");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let err = resolve_user(rootfs.path(), "alice").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
