//! A container's user namespace (`--userns`, `HostConfig.UsernsMode`, with
//! podman's rootful meanings) and the id ranges `--userns=auto` takes from
//! berth's subordinate-id pool.
//!
//! # Terms
//! * `host` (or empty): the host's user namespace, as Docker runs every
//!   container.
//! * `auto[:size=N]`: a user namespace of its own mapping container ids
//!   `0..N` to a range of host ids no other container of the root holds
//!   (`container_userns` rows, taken in the transaction that inserts the
//!   container, gone with its row). The image's layers are shared, idmapped
//!   into the range (`rootfs.rs`), never copied or chowned.
//! * `keep-id`: podman's rootful meaning, "the current mapping copied into a
//!   new user namespace": every id as itself, in a namespace of its own.
//! * `map:uid=U,gid=G,size=N` (berth's, for the CRI's pod user namespaces,
//!   whose ids kubelet chooses): container ids `0..N` are host uids from `U`
//!   and gids from `G`. Recorded as a `container_userns` row like `auto`'s
//!   range (so `auto` never hands those ids out, and the bundle's ACL, `cp`,
//!   `export` and `commit` treat both alike), but taken from no pool: every
//!   container of a pod holds the same ids.
//! * An idmapped bind (`:idmap`) shows the bind source's owner as the
//!   container's root and root as that owner ([`bind_map`]).

use berth_mount::{IdExtent, IdMap};
use berth_store::rusqlite::{self, params, OptionalExtension};

use crate::{Container, ContainerError};

/// podman's default for rootful `auto` when the image does not tell:
/// containers.conf's `auto_userns_max_size`.
pub const DEFAULT_AUTO_SIZE: u32 = 65536;

/// The ids a full map covers (0 ..= 4294967294; 4294967295 is "no id").
const ALL_IDS: u32 = u32::MAX;

/// What `--userns` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernsMode {
    Host,
    Auto { size: u32 },
    KeepId,
    Map(Range),
}

impl UsernsMode {
    /// Parses `--userns`'s value; refusals in the docker CLI's and podman's
    /// words.
    pub fn parse(mode: &str) -> Result<UsernsMode, ContainerError> {
        let invalid = |m: &str| Err(ContainerError::InvalidArgument(m.to_string()));
        let (name, options) = mode.split_once(':').unwrap_or((mode, ""));
        match name {
            "" | "host" if options.is_empty() => Ok(UsernsMode::Host),
            "auto" => {
                let mut size = DEFAULT_AUTO_SIZE;
                for option in options.split(',').filter(|o| !o.is_empty()) {
                    match option.split_once('=') {
                        Some(("size", n)) => match n.parse::<u32>() {
                            Ok(n) if n > 0 => size = n,
                            _ => return invalid(&format!("invalid size \"{n}\" for --userns=auto")),
                        },
                        _ => {
                            return invalid(&format!(
                                "--userns=auto: option \"{option}\" is not supported by berth (only size=N)"
                            ))
                        }
                    }
                }
                Ok(UsernsMode::Auto { size })
            }
            "keep-id" if options.is_empty() => Ok(UsernsMode::KeepId),
            "map" => parse_map(options),
            // podman: keep-id's uid=/gid= move the invoking user, root here.
            "keep-id" => invalid(
                "--userns=keep-id: uid=, gid= and size= options are supported only for rootless containers",
            ),
            // podman's own words (pkg/util GetNoMapMapping).
            "nomap" => invalid("nomap is only supported in rootless mode"),
            // The docker CLI's words.
            _ => invalid("--userns: invalid USER mode"),
        }
    }
}

/// `map:`'s `uid=U,gid=G,size=N`, each once.
fn parse_map(options: &str) -> Result<UsernsMode, ContainerError> {
    let mut found = [None; 3];
    for option in options.split(',') {
        let slot = match option.split_once('=') {
            Some(("uid", n)) => (0, n),
            Some(("gid", n)) => (1, n),
            Some(("size", n)) => (2, n),
            _ => (3, option),
        };
        match (slot, found.get(slot.0)) {
            ((i, n), Some(None)) => {
                found[i] = Some(n.parse::<u32>().map_err(|_| {
                    ContainerError::InvalidArgument(format!(
                        "--userns=map: invalid number in \"{option}\""
                    ))
                })?)
            }
            _ => {
                return Err(ContainerError::InvalidArgument(format!(
                "--userns=map: option \"{option}\" is unknown or repeated (map:uid=U,gid=G,size=N)"
            )))
            }
        }
    }
    let [Some(uid_start), Some(gid_start), Some(size)] = found else {
        return Err(ContainerError::InvalidArgument(
            "--userns=map needs uid=U,gid=G,size=N".into(),
        ));
    };
    let fits = |start: u32| u64::from(start) + u64::from(size) <= u64::from(ALL_IDS);
    if size == 0 || !fits(uid_start) || !fits(gid_start) {
        return Err(ContainerError::InvalidArgument(format!(
            "--userns=map: {size} ids from uid {uid_start} and gid {gid_start} do not fit in the host's ids"
        )));
    }
    Ok(UsernsMode::Map(Range {
        uid_start,
        gid_start,
        size,
    }))
}

/// A range of `size` uids and gids a container's namespace maps from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub uid_start: u32,
    pub gid_start: u32,
    pub size: u32,
}

/// Subordinate ids berth may hand out: `(start, count)` extents, as
/// `/etc/subuid` and `/etc/subgid` list them for berth's user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pool {
    pub uids: Vec<(u32, u32)>,
    pub gids: Vec<(u32, u32)>,
}

/// The first `size` ids of `pool` that no range in `taken` (start, size)
/// overlaps.
fn first_free(pool: &[(u32, u32)], taken: &[(u64, u64)], size: u32) -> Option<u32> {
    let size = u64::from(size);
    for (start, count) in pool {
        let end = u64::from(*start) + u64::from(*count);
        let mut candidate = u64::from(*start);
        // `taken` is sorted by start: each overlap moves the candidate past it.
        for (t_start, t_size) in taken {
            if candidate + size <= *t_start {
                break;
            }
            if t_start + t_size > candidate {
                candidate = t_start + t_size;
            }
        }
        if candidate + size <= end {
            return u32::try_from(candidate).ok();
        }
    }
    None
}

/// Takes a range of `size` ids from `pool` for container `id`, inside the
/// transaction that inserts it, past every range this root's containers
/// hold and every range in `elsewhere` (other roots', [`held_in`]).
pub fn allocate(
    tx: &rusqlite::Transaction,
    id: &str,
    pool: &Pool,
    size: u32,
    elsewhere: &[Range],
) -> Result<Range, ContainerError> {
    let taken = |column: &str| -> Result<Vec<(u64, u64)>, ContainerError> {
        let mut stmt = tx.prepare(&format!(
            "SELECT {column}, size FROM container_userns ORDER BY {column}"
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut held: Vec<(u64, u64)> = rows.collect::<Result<_, _>>()?;
        held.extend(elsewhere.iter().map(|r| {
            let start = if column == "uid_start" {
                r.uid_start
            } else {
                r.gid_start
            };
            (u64::from(start), u64::from(r.size))
        }));
        held.sort_unstable();
        Ok(held)
    };
    let exhausted = |what: &str| {
        ContainerError::InvalidArgument(format!(
            "--userns=auto: no free range of {size} {what} left in berth's subordinate ids (every range is held by a container; remove some or add ids to berth's entry)"
        ))
    };
    let uid_start = first_free(&pool.uids, &taken("uid_start")?, size)
        .ok_or_else(|| exhausted("uids in /etc/subuid"))?;
    let gid_start = first_free(&pool.gids, &taken("gid_start")?, size)
        .ok_or_else(|| exhausted("gids in /etc/subgid"))?;
    tx.execute(
        "INSERT INTO container_userns (container_id, uid_start, gid_start, size) VALUES (?1, ?2, ?3, ?4)",
        params![id, uid_start, gid_start, size],
    )?;
    Ok(Range {
        uid_start,
        gid_start,
        size,
    })
}

/// Records `map:`'s fixed range for container `id`, inside the transaction
/// that inserts it.
pub fn record_fixed(
    tx: &rusqlite::Transaction,
    id: &str,
    range: &Range,
) -> Result<(), ContainerError> {
    tx.execute(
        "INSERT INTO container_userns (container_id, uid_start, gid_start, size) VALUES (?1, ?2, ?3, ?4)",
        params![id, range.uid_start, range.gid_start, range.size],
    )?;
    Ok(())
}

/// Every range the containers of another root hold, read from its
/// database at `db` (read-only); none if it has no database or no
/// `container_userns` table (yet).
pub fn held_in(db: &std::path::Path) -> Result<Vec<Range>, ContainerError> {
    use rusqlite::OpenFlags;
    let conn = match rusqlite::Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(_) if !db.exists() => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'container_userns'",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT uid_start, gid_start, size FROM container_userns")?;
    let rows = stmt.query_map([], |r| {
        Ok(Range {
            uid_start: r.get(0)?,
            gid_start: r.get(1)?,
            size: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The first uid of every range this root's containers hold.
pub fn held_uids(db: &rusqlite::Connection) -> Result<Vec<u32>, ContainerError> {
    let mut stmt = db.prepare("SELECT uid_start FROM container_userns")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The range a container holds, if it runs with `--userns=auto`.
pub fn range(db: &rusqlite::Connection, id: &str) -> Result<Option<Range>, ContainerError> {
    Ok(db
        .query_row(
            "SELECT uid_start, gid_start, size FROM container_userns WHERE container_id = ?1",
            [id],
            |r| {
                Ok(Range {
                    uid_start: r.get(0)?,
                    gid_start: r.get(1)?,
                    size: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// The mapping of a container's own user namespace; `None` for the host's.
pub fn id_map(db: &rusqlite::Connection, c: &Container) -> Result<Option<IdMap>, ContainerError> {
    match UsernsMode::parse(&c.spec.host.modes.userns_mode)? {
        UsernsMode::Host => Ok(None),
        UsernsMode::KeepId => Ok(Some(IdMap::range(0, 0, ALL_IDS))),
        UsernsMode::Map(r) => Ok(Some(IdMap::range(r.uid_start, r.gid_start, r.size))),
        UsernsMode::Auto { .. } => match range(db, &c.id)? {
            Some(r) => Ok(Some(IdMap::range(r.uid_start, r.gid_start, r.size))),
            None => Err(ContainerError::Corrupt {
                id: c.id.clone(),
                reason: "--userns=auto without a recorded id range".into(),
            }),
        },
    }
}

/// `0` and `owner` exchanged, every other id as itself.
fn swap(owner: u32) -> Vec<IdExtent> {
    if owner == 0 {
        return vec![IdExtent {
            inside: 0,
            outside: 0,
            len: ALL_IDS,
        }];
    }
    let mut extents = vec![IdExtent {
        inside: 0,
        outside: owner,
        len: 1,
    }];
    if owner > 1 {
        extents.push(IdExtent {
            inside: 1,
            outside: 1,
            len: owner - 1,
        });
    }
    extents.push(IdExtent {
        inside: owner,
        outside: 0,
        len: 1,
    });
    if owner < ALL_IDS - 1 {
        extents.push(IdExtent {
            inside: owner + 1,
            outside: owner + 1,
            len: ALL_IDS - owner - 1,
        });
    }
    extents
}

/// `outer` after `inner`: ids of `inner`'s inside through both.
fn compose(inner: &[IdExtent], outer: &[IdExtent]) -> Vec<IdExtent> {
    let mut out = Vec::new();
    for a in inner {
        for b in outer {
            let lo = u64::from(a.outside).max(u64::from(b.inside));
            let hi = (u64::from(a.outside) + u64::from(a.len))
                .min(u64::from(b.inside) + u64::from(b.len));
            if lo < hi {
                out.push(IdExtent {
                    inside: (u64::from(a.inside) + lo - u64::from(a.outside)) as u32,
                    outside: (u64::from(b.outside) + lo - u64::from(b.inside)) as u32,
                    len: (hi - lo) as u32,
                });
            }
        }
    }
    out
}

/// The map of a bind or volume of a container whose namespace maps as
/// `container` (`None`: the host's): ids on disk show in the container as
/// the same ids, or, with `:idmap`, the source's owner (`owner`, uid and
/// gid) as the container's root and root as that owner. `None` when the
/// mount needs no idmapping.
pub fn bind_map(container: Option<&IdMap>, idmap_owner: Option<(u32, u32)>) -> Option<IdMap> {
    let full = [IdExtent {
        inside: 0,
        outside: 0,
        len: ALL_IDS,
    }];
    let (uid_swap, gid_swap) = match idmap_owner {
        Some((uid, gid)) => (swap(uid), swap(gid)),
        None => (full.to_vec(), full.to_vec()),
    };
    let map = IdMap {
        uids: compose(&uid_swap, container.map_or(&full[..], |m| &m.uids)),
        gids: compose(&gid_swap, container.map_or(&full[..], |m| &m.gids)),
    };
    (!map.is_identity()).then_some(map)
}

/// The id on disk a container id `id` writes through a bind whose source's
/// owner is `idmap_owner` when `:idmap` (podman's `:U` chowns to it).
pub fn disk_id(id: u32, idmap_owner: Option<u32>) -> u32 {
    match idmap_owner {
        Some(owner) if id == 0 => owner,
        Some(owner) if id == owner => 0,
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_with_docker_and_podman_refusals() {
        assert_eq!(UsernsMode::parse("").unwrap(), UsernsMode::Host);
        assert_eq!(UsernsMode::parse("host").unwrap(), UsernsMode::Host);
        assert_eq!(
            UsernsMode::parse("auto").unwrap(),
            UsernsMode::Auto {
                size: DEFAULT_AUTO_SIZE
            }
        );
        assert_eq!(
            UsernsMode::parse("auto:size=1024").unwrap(),
            UsernsMode::Auto { size: 1024 }
        );
        assert_eq!(UsernsMode::parse("keep-id").unwrap(), UsernsMode::KeepId);
        let err = |m: &str| UsernsMode::parse(m).unwrap_err().to_string();
        assert_eq!(err("private"), "--userns: invalid USER mode");
        assert_eq!(err("nomap"), "nomap is only supported in rootless mode");
        assert!(err("auto:size=0").contains("invalid size"));
        assert!(err("auto:uidmapping=0:1:2").contains("uidmapping"));
        assert!(err("keep-id:uid=5").contains("rootless"));
        assert_eq!(
            UsernsMode::parse("map:uid=1000,gid=2000,size=100000").unwrap(),
            UsernsMode::Map(Range {
                uid_start: 1000,
                gid_start: 2000,
                size: 100000
            })
        );
        assert!(err("map:uid=1000,gid=1000").contains("needs uid=U,gid=G,size=N"));
        assert!(err("map:uid=1,uid=2,gid=1,size=1").contains("repeated"));
        assert!(err("map:uid=x,gid=1,size=1").contains("invalid number"));
        assert!(err("map:uid=4294967000,gid=0,size=65536").contains("do not fit"));
        assert!(err("map:uid=0,gid=0,size=0").contains("do not fit"));
    }

    #[test]
    fn first_free_skips_taken_ranges() {
        let pool = [(1000, 100), (5000, 50)];
        assert_eq!(first_free(&pool, &[], 10), Some(1000));
        assert_eq!(first_free(&pool, &[(1000, 10)], 10), Some(1010));
        assert_eq!(first_free(&pool, &[(1000, 10), (1015, 5)], 10), Some(1020));
        assert_eq!(first_free(&pool, &[(1000, 95)], 10), Some(5000));
        assert_eq!(first_free(&pool, &[(1000, 100), (5000, 45)], 10), None);
        assert_eq!(first_free(&pool, &[], 60), Some(1000));
    }

    #[test]
    fn bind_maps_swap_the_owner_with_root_through_the_container_map() {
        assert_eq!(bind_map(None, None), None);
        assert_eq!(bind_map(None, Some((0, 0))), None);
        let host = bind_map(None, Some((1000, 100))).unwrap();
        assert_eq!(IdMap::outside(&host.uids, 1000), Some(0));
        assert_eq!(IdMap::outside(&host.uids, 0), Some(1000));
        assert_eq!(IdMap::outside(&host.uids, 7), Some(7));
        assert_eq!(IdMap::outside(&host.gids, 100), Some(0));
        let auto = IdMap::range(200_000, 300_000, 65536);
        let plain = bind_map(Some(&auto), None).unwrap();
        assert_eq!(plain, auto);
        let swapped = bind_map(Some(&auto), Some((1000, 1000))).unwrap();
        assert_eq!(IdMap::outside(&swapped.uids, 1000), Some(200_000));
        assert_eq!(IdMap::outside(&swapped.uids, 0), Some(201_000));
        assert_eq!(IdMap::outside(&swapped.uids, 70_000), None);
        assert_eq!(disk_id(0, Some(1000)), 1000);
        assert_eq!(disk_id(1000, Some(1000)), 0);
        assert_eq!(disk_id(5, None), 5);
    }
}
