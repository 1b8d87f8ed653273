//! The volume store on a real state root, as root: directories, rows, in-use
//! refusal, prune, crash recovery, and option volumes mounted on first use.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use berth_mount::{is_mountpoint, Call, Linux, Mount, MountFlags, Recording, Syscalls};
use berth_store::Store;
use berth_volume::{self as volume, VolumeError};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("root")).unwrap();
    (dir, store)
}

fn named(store: &mut Store, name: &str) -> volume::Volume {
    volume::create(store, Some(name), "local", map(&[]), map(&[]), false).unwrap()
}

fn add_container(store: &mut Store, id: &str, status: &str, volumes: &[(&str, &str)]) {
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO containers(id, name, image_id, image_ref, created_at, config, status)
                 VALUES (?1, ?2, 'sha256:x', 'img', 't', '{}', ?3)",
                [id, &format!("c{}", &id[..8]), status],
            )?;
            for (dst, vol) in volumes {
                tx.execute(
                    "INSERT INTO container_volumes(container_id, destination, volume_name)
                     VALUES (?1, ?2, ?3)",
                    [id, dst, vol],
                )?;
            }
            Ok::<(), berth_store::rusqlite::Error>(())
        })
        .unwrap();
}

fn delete_container(store: &mut Store, id: &str) {
    store
        .write(|tx| tx.execute("DELETE FROM containers WHERE id = ?1", [id]))
        .unwrap();
}

fn names(store: &Store) -> Vec<String> {
    volume::list(store)
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

#[test]
fn create_makes_root_only_dir_and_row_and_is_idempotent() {
    let (_d, mut store) = open();
    let v = volume::create(
        &mut store,
        Some("data"),
        "local",
        map(&[]),
        map(&[("a", "b")]),
        false,
    )
    .unwrap();
    assert_eq!(v.mountpoint, store.volumes_dir().join("data/_data"));
    assert!(v.mountpoint.is_dir());
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store.volumes_dir().join("data")), 0o701);
    assert_eq!(mode(&v.mountpoint), 0o755);
    assert_eq!(v.labels, map(&[("a", "b")]));
    assert!(!v.anonymous);

    fs::write(v.mountpoint.join("keep"), "x").unwrap();
    // Docker's create returns the existing volume, keeping data and labels.
    let again =
        volume::create(&mut store, Some("data"), "local", map(&[]), map(&[]), false).unwrap();
    assert_eq!(again, v);
    assert!(again.mountpoint.join("keep").exists());
    assert_eq!(names(&store), vec!["data"]);

    let anon = volume::create(&mut store, None, "local", map(&[]), map(&[]), true).unwrap();
    assert_eq!(anon.name.len(), 64);
    assert!(anon.name.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(anon.anonymous);
    assert_eq!(anon.labels, map(&[(volume::ANONYMOUS_LABEL, "")]));
    assert_eq!(volume::get(&store, &anon.name).unwrap(), anon);
    assert_eq!(
        volume::get(&store, "nope").unwrap_err().to_string(),
        "get nope: no such volume"
    );
}

#[test]
fn bad_names_drivers_and_options_are_refused_with_nothing_created() {
    let (_d, mut store) = open();
    // (name, driver, options, Docker's message)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("a", "local", &[], "create a: volume name is too short, names should be at least two alphanumeric characters"),
        ("./x", "local", &[], "create ./x: \"./x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        ("a b", "local", &[], "create a b: \"a b\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        ("_x", "local", &[], "create _x: \"_x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        ("v1", "nope", &[], "create v1: error looking up volume plugin nope: plugin \"nope\" not found"),
        ("t1", "local", &[("type", "tmpfs")], "create t1: missing required option: \"device\""),
        ("t2", "local", &[("o", "size=1m")], "create t2: missing required option: \"device\""),
        ("t3", "local", &[("device", "x")], "create t3: missing required option: \"type\""),
        ("t4", "local", &[("size", "lots")], "create t4: invalid size: 'lots'"),
        ("t5", "local", &[("foo", "bar")], "create t5: invalid option: \"foo\""),
    ];
    for (name, driver, opts, want) in cases {
        let err =
            volume::create(&mut store, Some(name), driver, map(opts), map(&[]), false).unwrap_err();
        assert!(err.to_string().starts_with(want), "{err}");
    }
    for ok in ["ab", "a.b-c_d", "0x", "A1"] {
        named(&mut store, ok);
    }
    assert_eq!(names(&store), vec!["0x", "A1", "a.b-c_d", "ab"]);
    assert_eq!(fs::read_dir(store.volumes_dir()).unwrap().count(), 4);
}

/// Normalises what legitimately differs between two engines.
fn normalise(mut v: serde_json::Value) -> serde_json::Value {
    let obj = v.as_object_mut().unwrap();
    let created = obj["CreatedAt"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok() && !created.contains('.'),
        "CreatedAt {created} is not RFC 3339 to the second"
    );
    obj.insert("CreatedAt".into(), "T".into());
    let mountpoint = obj["Mountpoint"].as_str().unwrap().to_string();
    let tail = &mountpoint[mountpoint.find("/volumes/").unwrap()..];
    obj.insert("Mountpoint".into(), tail.into());
    v
}

fn berth_inspect_of_fixture_volumes(store: &mut Store) -> Vec<serde_json::Value> {
    let plain = named(store, "fixplain");
    let labeled = volume::create(
        store,
        Some("fixlabeled"),
        "local",
        map(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]),
        map(&[("a", "b"), ("c", "")]),
        false,
    )
    .unwrap();
    vec![
        normalise(volume::inspect_json(&plain)),
        normalise(volume::inspect_json(&labeled)),
    ]
}

#[test]
fn inspect_equals_recorded_dockerd_output() {
    let (_d, mut store) = open();
    let fixture: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("fixtures/dockerd-volume-inspect.json")).unwrap();
    let want: Vec<_> = fixture.into_iter().map(normalise).collect();
    assert_eq!(berth_inspect_of_fixture_volumes(&mut store), want);
    // Key order too: Go prints struct fields in declaration order.
    let text = serde_json::to_string(&volume::inspect_json(&named(&mut store, "order"))).unwrap();
    let keys: Vec<_> = [
        "CreatedAt",
        "Driver",
        "Labels",
        "Mountpoint",
        "Name",
        "Options",
        "Scope",
    ]
    .iter()
    .map(|k| text.find(&format!("\"{k}\"")).unwrap())
    .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
}

/// The same comparison against a live dockerd, when one answers.
#[test]
fn inspect_equals_live_dockerd_when_reachable() {
    let docker = |args: &[&str]| {
        std::process::Command::new("docker")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    if docker(&["version", "--format", "{{.Server.Version}}"]).is_none() {
        eprintln!("no dockerd reachable; the recorded fixture covers this");
        return;
    }
    let suffix = &berth_store::new_id()[..8];
    let (plain, labeled) = (format!("bt-plain-{suffix}"), format!("bt-lab-{suffix}"));
    docker(&["volume", "create", &plain]).unwrap();
    docker(&[
        "volume",
        "create",
        "--label",
        "a=b",
        "--label",
        "c=",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=1m",
        &labeled,
    ])
    .unwrap();
    let out = docker(&["volume", "inspect", &plain, &labeled]).unwrap();
    docker(&["volume", "rm", &plain, &labeled]).unwrap();
    let live: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let live: Vec<_> = live
        .into_iter()
        .map(|v| {
            let text = serde_json::to_string(&v)
                .unwrap()
                .replace(&plain, "fixplain")
                .replace(&labeled, "fixlabeled");
            normalise(serde_json::from_str(&text).unwrap())
        })
        .collect();
    let (_d, mut store) = open();
    assert_eq!(berth_inspect_of_fixture_volumes(&mut store), live);
}

#[test]
fn volume_in_use_is_refused_and_its_data_kept() {
    let (_d, mut store) = open();
    let v = named(&mut store, "db");
    fs::write(v.mountpoint.join("table"), "rows").unwrap();
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    add_container(&mut store, &b, "exited", &[("/data", "db")]);
    add_container(
        &mut store,
        &a,
        "running",
        &[("/data", "db"), ("/other", "db")],
    );
    assert_eq!(
        volume::users(&store, "db").unwrap(),
        vec![a.clone(), b.clone()]
    );

    for force in [false, true] {
        let err = volume::remove(&mut store, "db", force).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("remove db: volume is in use - [{a}, {b}]")
        );
    }
    let err = volume::prune(&mut store, &|_| true).unwrap();
    assert!(err.deleted.is_empty());
    assert_eq!(
        fs::read_to_string(v.mountpoint.join("table")).unwrap(),
        "rows"
    );
    assert_eq!(names(&store), vec!["db"]);

    // The database refuses too, even if a caller skipped the check.
    let fk = store.write(|tx| tx.execute("DELETE FROM volumes WHERE name = 'db'", []));
    assert!(fk.is_err());

    delete_container(&mut store, &a);
    assert!(matches!(
        volume::remove(&mut store, "db", false),
        Err(VolumeError::InUse { containers, .. }) if containers == vec![b.clone()]
    ));
    delete_container(&mut store, &b);
    volume::remove(&mut store, "db", false).unwrap();
    assert!(names(&store).is_empty());
    assert!(!store.volumes_dir().join("db").exists());
    assert_eq!(
        fs::read_dir(store.volumes_dir().join(".trash"))
            .unwrap()
            .count(),
        0
    );
    // -f turns "no such volume" into success, as docker volume rm -f does.
    volume::remove(&mut store, "db", true).unwrap();
    assert_eq!(
        volume::remove(&mut store, "db", false)
            .unwrap_err()
            .to_string(),
        "get db: no such volume"
    );
}

#[test]
fn prune_removes_anonymous_by_default_and_all_with_flag() {
    let (_d, mut store) = open();
    let anon = volume::create(&mut store, None, "local", map(&[]), map(&[]), true).unwrap();
    fs::write(anon.mountpoint.join("f"), vec![0u8; 1234]).unwrap();
    let used_anon = volume::create(&mut store, None, "local", map(&[]), map(&[]), true).unwrap();
    named(&mut store, "keep");
    add_container(
        &mut store,
        &"c".repeat(64),
        "exited",
        &[("/u", &used_anon.name)],
    );

    let report = volume::prune(&mut store, &|v| v.anonymous).unwrap();
    assert_eq!(report.deleted, vec![anon.name.clone()]);
    assert_eq!(report.reclaimed, 1234);
    assert!(!anon.mountpoint.exists());
    let mut want = vec![used_anon.name.clone(), "keep".to_string()];
    want.sort();
    assert_eq!(names(&store), want);

    let report = volume::prune(&mut store, &|_| true).unwrap();
    assert_eq!(report.deleted, vec!["keep"]);
    assert_eq!(names(&store), vec![used_anon.name]);
}

#[test]
fn prune_removes_only_what_select_accepts() {
    let (_d, mut store) = open();
    for (name, labels) in [
        ("v1", map(&[("env", "prod")])),
        ("v2", map(&[("env", "dev")])),
        ("v3", map(&[("other", "")])),
    ] {
        volume::create(&mut store, Some(name), "local", map(&[]), labels, false).unwrap();
    }
    let report = volume::prune(&mut store, &|v| {
        v.labels.get("env").map(String::as_str) == Some("dev")
    })
    .unwrap();
    assert_eq!(report.deleted, vec!["v2"]);
    let report = volume::prune(&mut store, &|v| !v.labels.contains_key("env")).unwrap();
    assert_eq!(report.deleted, vec!["v3"]);
    assert_eq!(names(&store), vec!["v1"]);
}

#[test]
fn crash_in_remove_before_commit_leaves_volume_whole_and_listed() {
    let (dir, mut store) = open();
    let v = named(&mut store, "precious");
    fs::write(v.mountpoint.join("data"), "x").unwrap();
    // First step of a remove (the rename to trash) without the commit.
    let trash = store.volumes_dir().join(".trash");
    fs::create_dir_all(&trash).unwrap();
    fs::rename(
        store.volumes_dir().join("precious"),
        trash.join("0123456789abcdef-precious"),
    )
    .unwrap();
    drop(store);

    let mut store = Store::open(dir.path().join("root")).unwrap();
    named(&mut store, "other"); // any write operation recovers
    assert_eq!(names(&store), vec!["other", "precious"]);
    assert_eq!(fs::read_to_string(v.mountpoint.join("data")).unwrap(), "x");
    assert_eq!(fs::read_dir(&trash).unwrap().count(), 0);
}

#[test]
fn crash_in_remove_after_commit_leaves_volume_gone() {
    let (dir, mut store) = open();
    let v = named(&mut store, "doomed");
    fs::write(v.mountpoint.join("data"), "x").unwrap();
    let trash = store.volumes_dir().join(".trash");
    fs::create_dir_all(&trash).unwrap();
    fs::rename(
        store.volumes_dir().join("doomed"),
        trash.join("0123456789abcdef-doomed"),
    )
    .unwrap();
    store
        .write(|tx| tx.execute("DELETE FROM volumes WHERE name = 'doomed'", []))
        .unwrap();
    drop(store);

    let mut store = Store::open(dir.path().join("root")).unwrap();
    volume::prune(&mut store, &|v| v.anonymous).unwrap();
    assert!(names(&store).is_empty());
    assert_eq!(fs::read_dir(&trash).unwrap().count(), 0);
    // Recreating the name gives a fresh, empty volume.
    let again = named(&mut store, "doomed");
    assert_eq!(fs::read_dir(&again.mountpoint).unwrap().count(), 0);
}

#[test]
fn an_orphan_holding_data_is_registered_again_and_an_empty_one_reused_fresh() {
    let (dir, store) = open();
    let kept = store.volumes_dir().join("kept/_data");
    fs::create_dir_all(&kept).unwrap();
    fs::write(kept.join("data"), "x").unwrap();
    // What a `volume create` killed between its rename and its commit leaves.
    fs::create_dir_all(store.volumes_dir().join("half/_data")).unwrap();
    drop(store);
    let mut store = Store::open(dir.path().join("root")).unwrap();
    let v = named(&mut store, "half");
    assert_eq!(fs::read_dir(&v.mountpoint).unwrap().count(), 0);
    // Volume data is never deleted but by `volume rm`.
    assert_eq!(names(&store), ["half", "kept"]);
    assert_eq!(fs::read_to_string(kept.join("data")).unwrap(), "x");
}

/// Unmounts at the end of a test, even a failing one.
struct Unmount(Vec<std::path::PathBuf>);
impl Drop for Unmount {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Linux.unmount(p, true);
        }
    }
}

#[test]
fn tmpfs_volume_is_mounted_on_first_acquire_and_unmounted_on_last_release() {
    let (_d, mut store) = open();
    let v = volume::create(
        &mut store,
        Some("scratch"),
        "local",
        map(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,nosuid"),
        ]),
        map(&[]),
        false,
    )
    .unwrap();
    let _guard = Unmount(vec![v.mountpoint.clone()]);
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    add_container(&mut store, &a, "running", &[("/s", "scratch")]);
    add_container(&mut store, &b, "running", &[("/s", "scratch")]);

    let path = volume::acquire(&mut store, "scratch", &a, &Linux).unwrap();
    assert_eq!(path, v.mountpoint);
    assert!(is_mountpoint(&path).unwrap());
    let stat = rustix::fs::statvfs(&path).unwrap();
    assert_eq!(stat.f_blocks * stat.f_frsize, 1 << 20);
    fs::write(path.join("shared"), "x").unwrap();
    volume::acquire(&mut store, "scratch", &b, &Linux).unwrap();
    volume::release(&mut store, "scratch", &a, &Linux).unwrap();
    assert!(is_mountpoint(&path).unwrap(), "b still holds it");
    assert!(path.join("shared").exists());
    volume::release(&mut store, "scratch", &b, &Linux).unwrap();
    assert!(!is_mountpoint(&path).unwrap());
    assert!(!path.join("shared").exists());

    // A holder whose container exited without releasing is stale.
    volume::acquire(&mut store, "scratch", &a, &Linux).unwrap();
    store
        .write(|tx| {
            tx.execute(
                "UPDATE containers SET status = 'exited' WHERE id = ?1",
                [&a],
            )
        })
        .unwrap();
    volume::acquire(&mut store, "scratch", &b, &Linux).unwrap();
    volume::release(&mut store, "scratch", &b, &Linux).unwrap();
    assert!(
        !is_mountpoint(&path).unwrap(),
        "stale holder must not pin the mount"
    );
}

#[test]
fn acquire_sequences_recorded() {
    let (_d, mut store) = open();
    let plain = named(&mut store, "plain");
    let rec = Recording::new();
    let id = "d".repeat(64);
    add_container(&mut store, &id, "running", &[("/p", "plain")]);
    assert_eq!(
        volume::acquire(&mut store, "plain", &id, &rec).unwrap(),
        plain.mountpoint
    );
    volume::release(&mut store, "plain", &id, &rec).unwrap();
    assert!(rec.calls().is_empty(), "plain volumes mount nothing");

    let bound = volume::create(
        &mut store,
        Some("bound"),
        "local",
        map(&[("type", "none"), ("device", "/srv/x"), ("o", "bind,ro")]),
        map(&[]),
        false,
    )
    .unwrap();
    volume::acquire(&mut store, "bound", &id, &rec).unwrap();
    volume::acquire(&mut store, "bound", &id, &rec).unwrap(); // same holder again
    volume::release(&mut store, "bound", &id, &rec).unwrap();
    assert_eq!(
        rec.calls(),
        vec![
            Call::Mount(Mount {
                source: "/srv/x".into(),
                target: bound.mountpoint.clone(),
                fstype: None,
                flags: MountFlags::BIND | MountFlags::RDONLY,
                data: String::new(),
            }),
            Call::Unmount {
                target: bound.mountpoint.clone(),
                detach: true
            },
        ]
    );
    // A failed mount records no holder.
    let rec = Recording::new();
    rec.fail_mounts_on(&bound.mountpoint);
    assert!(volume::acquire(&mut store, "bound", &id, &rec).is_err());
    let rec2 = Recording::new();
    volume::acquire(&mut store, "bound", &id, &rec2).unwrap();
    assert_eq!(rec2.calls().len(), 1, "mount retried on the next acquire");
}

#[test]
fn remove_unmounts_a_stale_mount_and_never_deletes_across_a_nested_one() {
    let (_d, mut store) = open();
    let v = volume::create(
        &mut store,
        Some("tmp1"),
        "local",
        map(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]),
        map(&[]),
        false,
    )
    .unwrap();
    // Mounted, no holder (as after a crash): remove undoes the mount first.
    Linux
        .mount(&Mount::tmpfs(&v.mountpoint, MountFlags::empty(), "size=1m"))
        .unwrap();
    let _guard = Unmount(vec![v.mountpoint.clone()]);
    volume::remove(&mut store, "tmp1", false).unwrap();
    assert!(!v.mountpoint.exists());

    // Something mounted deeper inside a volume (e.g. a leaked bind of a host
    // directory) is never emptied by the delete.
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("precious"), "x").unwrap();
    let v = named(&mut store, "nested");
    let inner = v.mountpoint.join("inner");
    fs::create_dir(&inner).unwrap();
    Linux
        .mount(&Mount::bind(outside.path(), &inner, false))
        .unwrap();
    let trash = store.volumes_dir().join(".trash");
    let err = volume::remove(&mut store, "nested", false).unwrap_err();
    assert!(matches!(err, VolumeError::CrossesMount { .. }), "{err}");
    assert!(outside.path().join("precious").exists());
    assert!(names(&store).is_empty(), "the volume itself is gone");
    // Once the mount is gone, the next operation finishes the job.
    let leftover = fs::read_dir(&trash)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    Linux.unmount(&leftover.join("_data/inner"), true).unwrap();
    named(&mut store, "later");
    assert_eq!(fs::read_dir(&trash).unwrap().count(), 0);
    assert!(outside.path().join("precious").exists());
}

#[test]
fn apparent_size_counts_links_once_and_never_leaves_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("data");
    let mut expected = 0u64;
    for d in 0..20 {
        let sub = top.join(format!("d{d}/nested/deeper"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..25 {
            let bytes = vec![b'x'; d * 100 + f];
            fs::write(sub.join(format!("f{f}")), &bytes).unwrap();
            expected += bytes.len() as u64;
        }
    }
    fs::create_dir(top.join("empty")).unwrap();
    fs::write(top.join("linked"), vec![0u8; 4000]).unwrap();
    fs::hard_link(top.join("linked"), top.join("d0/linked-again")).unwrap();
    expected += 4000;
    // A symlink counts as itself ("/etc" is 4 bytes), never as its target.
    std::os::unix::fs::symlink("/etc", top.join("etc-link")).unwrap();
    expected += 4;
    // A mount inside the tree is not part of it.
    let mounted = top.join("d1/mnt");
    fs::create_dir(&mounted).unwrap();
    Linux
        .mount(&Mount::from_options("tmpfs", &mounted, "tmpfs", "size=1m"))
        .unwrap();
    fs::write(mounted.join("hidden"), vec![0u8; 100_000]).unwrap();
    let size = volume::apparent_size(&top);
    Linux.unmount(&mounted, true).unwrap();
    assert_eq!(size.unwrap(), expected);
    assert!(volume::apparent_size(&top.join("etc-link")).is_err());
}
