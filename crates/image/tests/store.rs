//! The image store against real files, real tars and real overlay mounts (root).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_image::{ImageError, ImportOptions};
use berth_store::Store;
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A fresh store on a real filesystem (overlay needs xattr support, not tmpfs quirks).
fn store() -> (tempfile::TempDir, Store) {
    let base = PathBuf::from("/var/tmp/berth-image-tests");
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(base).unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// A tar from (path, contents) pairs; `None` contents make a directory.
/// A header with the fields a real tar writer always fills.
fn header() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h
}

fn tar_of(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = header();
        match data {
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                h.set_mode(0o644);
                b.append_data(&mut h, path, *d).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A `docker save`-layout archive of one image made of `layers` (blobs as given,
/// possibly compressed) whose uncompressed forms are `diff_sources`.
fn docker_archive(tag: &str, layers: &[Vec<u8>], diff_sources: &[Vec<u8>]) -> (Vec<u8>, String) {
    let diff_ids: Vec<String> = diff_sources.iter().map(|l| sha(l)).collect();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]},
        "history": diff_ids.iter().map(|_| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": "test"})).collect::<Vec<_>>(),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let id = sha(&config);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = header();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    let hex = id.trim_start_matches("sha256:");
    add(&format!("{hex}.json"), &config);
    let mut paths = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let p = format!("layer{i}/layer.tar");
        add(&p, layer);
        paths.push(p);
    }
    let manifest =
        serde_json::json!([{"Config": format!("{hex}.json"), "RepoTags": [tag], "Layers": paths}]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    (b.into_inner().unwrap(), id)
}

fn busybox_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_path_with_name("/bin/busybox", "bin/busybox")
        .unwrap();
    let mut h = header();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "bin/sh", "/bin/busybox").unwrap();
    b.into_inner().unwrap()
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .db()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// Nothing of a failed write is left: no row, no blob, no layer dir, no tmp file.
fn assert_untouched(root: &Path, store: &Store) {
    for table in ["images", "layers", "image_layers", "image_refs"] {
        assert_eq!(count(store, table), 0, "rows left in {table}");
    }
    assert_eq!(
        entries(&root.join("blobs/sha256")),
        Vec::<String>::new(),
        "blobs left"
    );
    assert_eq!(
        entries(&root.join("layers")),
        Vec::<String>::new(),
        "layer dirs left"
    );
    // This process's own staging directory is all there is, and it is empty.
    assert_eq!(
        entries(&store.tmp_dir()),
        Vec::<String>::new(),
        "tmp files left"
    );
    assert!(
        entries(&root.join("tmp"))
            .iter()
            .all(|e| e.starts_with("own-")),
        "tmp files left"
    );
}

fn import(store: &mut Store, tar: &[u8], tag: &str) -> String {
    let opts = ImportOptions {
        tag: Some(tag.into()),
        changes: vec!["CMD [\"sh\"]".into()],
        ..Default::default()
    };
    berth_image::import(store, tar, &opts).unwrap()
}

#[test]
fn same_tar_imported_twice_is_stored_once() {
    let (dir, mut store) = store();
    let tar = busybox_tar();
    let a = import(&mut store, &tar, "one:latest");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = import(&mut store, &tar, "two");
    assert_ne!(a, b, "two imports are two images (different created times)");
    assert_eq!(entries(&dir.path().join("layers")).len(), 1);
    assert_eq!(count(&store, "layers"), 1);
    assert_eq!(entries(&store.tmp_dir()), Vec::<String>::new());
    let _ = &dir;
    let one = berth_image::resolve(&store, "one").unwrap();
    let two = berth_image::resolve(&store, "docker.io/library/two:latest").unwrap();
    assert_eq!(one.layers, two.layers);
    assert!(one.layers[0].dir.join("bin/busybox").is_file());
    assert_eq!(
        one.config.config().clone().unwrap().cmd().clone().unwrap(),
        ["sh"]
    );

    // Removing one image keeps the shared layer; removing both drops it.
    let items = berth_image::remove(&mut store, "one", false).unwrap();
    assert_eq!(
        items,
        vec![
            berth_image::DeleteItem::Untagged("one:latest".into()),
            berth_image::DeleteItem::Deleted(a)
        ]
    );
    assert_eq!(entries(&dir.path().join("layers")).len(), 1);
    let items = berth_image::remove(&mut store, "two", false).unwrap();
    assert_eq!(
        items.len(),
        3,
        "untag, delete image, delete layer: {items:?}"
    );
    assert_eq!(entries(&dir.path().join("layers")).len(), 0);
    assert_eq!(entries(&dir.path().join("blobs/sha256")).len(), 0);
}

#[test]
fn whiteouts_from_load_make_correct_overlay_views() {
    let (dir, mut store) = store();
    let bottom = tar_of(&[
        ("a", Some(b"a")),
        ("keep", Some(b"k")),
        ("d/", None),
        ("d/x", Some(b"x")),
        ("d/y", Some(b"y")),
    ]);
    let top = tar_of(&[
        (".wh.a", Some(b"")),
        ("d/", None),
        ("d/.wh..wh..opq", Some(b"")),
        ("d/z", Some(b"z")),
    ]);
    // The top layer travels gzip-compressed, as registries and some tools ship them.
    let (archive, id) = docker_archive(
        "wh:test",
        &[bottom.clone(), gzip(&top)],
        &[bottom, top.clone()],
    );
    let loaded = berth_image::load(&mut store, archive.as_slice()).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["wh:test"]);
    let image = berth_image::resolve(&store, "wh:test").unwrap();
    assert_eq!(image.layers.len(), 2);

    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let lower = format!(
        "{}:{}",
        image.layers[1].dir.display(),
        image.layers[0].dir.display()
    );
    let status = Command::new("mount")
        .args([
            "-t",
            "overlay",
            "overlay",
            "-o",
            &format!("lowerdir={lower}"),
        ])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(status.success(), "overlay mount failed");
    let mut top_names = entries(&mnt);
    top_names.sort();
    let mut d_names = entries(&mnt.join("d"));
    d_names.sort();
    let keep = std::fs::read_to_string(mnt.join("keep"));
    let view = (top_names, d_names, keep.unwrap_or_default());
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    assert_eq!(view.0, ["d", "keep"]);
    assert_eq!(view.1, ["z"]);
    assert_eq!(view.2, "k");

    // save reproduces the exact diff_id bytes of the compressed layer, and a
    // fresh store loads the archive back to the same image.
    let mut saved = Vec::new();
    berth_image::save(&store, &["wh:test".to_string()], &mut saved).unwrap();
    let (_dir2, mut other) = self::store();
    let loaded = berth_image::load(&mut other, saved.as_slice()).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["wh:test"]);
    let a = berth_image::inspect(&store, "wh:test").unwrap();
    let b = berth_image::inspect(&other, "wh:test").unwrap();
    assert_eq!(a.root_fs.layers, b.root_fs.layers);
    assert_eq!(a.size, b.size);
}

#[test]
fn saved_archive_loads_as_pure_oci_layout_too() {
    let (_dir, mut store) = store();
    let id = import(&mut store, &busybox_tar(), "bb:1");
    let mut saved = Vec::new();
    berth_image::save(&store, &["bb".to_string()], &mut saved).unwrap();
    // Strip the docker-save members: what remains is an OCI image layout.
    let mut oci = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(saved.as_slice());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        names.push(name.clone());
        if name == "manifest.json" || name == "repositories" {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let mut h = entry.header().clone();
        oci.append_data(&mut h, &name, data.as_slice()).unwrap();
    }
    for required in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} missing from {names:?}"
        );
    }
    let oci = oci.into_inner().unwrap();
    let (dir2, mut other) = self::store();
    let loaded = berth_image::load(&mut other, oci.as_slice()).unwrap();
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["bb:1"]);
    assert!(dir2.path().join("layers").read_dir().unwrap().count() >= 1);

    // Loading again is a no-op for content: nothing is unpacked twice.
    let again = berth_image::load(&mut other, oci.as_slice()).unwrap();
    assert_eq!(again[0].id, id);
    assert_eq!(count(&other, "layers"), 1);
}

fn assert_load_fails(archive: &[u8], what: &str) -> ImageError {
    let (dir, mut store) = store();
    let err = berth_image::load(&mut store, archive).unwrap_err();
    assert!(
        !err.to_string().contains('\n'),
        "{what}: multi-line error {err}"
    );
    assert_untouched(dir.path(), &store);
    err
}

#[test]
fn bad_archives_leave_nothing_behind() {
    let layer = tar_of(&[("f", Some(b"data"))]);
    let (good, _) = docker_archive(
        "x:1",
        std::slice::from_ref(&layer),
        std::slice::from_ref(&layer),
    );

    let truncated = &good[..good.len() / 2];
    let err = assert_load_fails(truncated, "truncated");
    assert!(err.is_invalid_argument(), "{err}");

    let mut corrupt = gzip(&good);
    let n = corrupt.len();
    corrupt[n / 2..n / 2 + 16].fill(0xff);
    assert_load_fails(&corrupt, "corrupt gzip");

    // Layer bytes that do not hash to the config's diff_id.
    let other = tar_of(&[("f", Some(b"evil"))]);
    let (mismatch, _) = docker_archive("x:1", &[other], std::slice::from_ref(&layer));
    let err = assert_load_fails(&mismatch, "diff_id mismatch");
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");

    // A layer entry escaping its root.
    let mut evil = tar::Builder::new(Vec::new());
    let mut h = header();
    h.set_size(4);
    h.set_mode(0o644);
    let name = b"../escape";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    evil.append(&h, &b"evil"[..]).unwrap();
    let evil = evil.into_inner().unwrap();
    let (escape, _) = docker_archive(
        "x:1",
        std::slice::from_ref(&evil),
        std::slice::from_ref(&evil),
    );
    assert_load_fails(&escape, "escaping entry");

    assert_load_fails(b"", "empty input");
    assert_load_fails(&tar_of(&[("hello", Some(b"x"))]), "no manifest");

    // OCI layout whose blob does not match its digest.
    let (dir, mut store) = store();
    import(&mut store, &busybox_tar(), "bb:1");
    let mut saved = Vec::new();
    berth_image::save(&store, &["bb:1".to_string()], &mut saved).unwrap();
    drop((dir, store));
    let mut tampered = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(saved.as_slice());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name == "manifest.json" {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if data.len() > 100_000 {
            let last = data.len() - 2000;
            data[last] ^= 0xff;
        }
        let mut h = entry.header().clone();
        tampered
            .append_data(&mut h, &name, data.as_slice())
            .unwrap();
    }
    let err = assert_load_fails(&tampered.into_inner().unwrap(), "blob digest mismatch");
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
}

#[test]
fn import_of_bad_input_leaves_nothing_behind() {
    let (dir, mut store) = store();
    let good = busybox_tar();
    for (input, what) in [
        (good[..good.len() / 3].to_vec(), "truncated"),
        (
            {
                let mut g = gzip(&good);
                let n = g.len();
                g[n / 2..n / 2 + 64].fill(0);
                g
            },
            "corrupt gzip",
        ),
    ] {
        let err = berth_image::import(&mut store, input.as_slice(), &ImportOptions::default())
            .unwrap_err();
        assert!(!err.to_string().contains('\n'), "{what}: {err}");
        assert_untouched(dir.path(), &store);
    }
    let bad_tag = ImportOptions {
        tag: Some("Bad".into()),
        ..Default::default()
    };
    let err = berth_image::import(&mut store, good.as_slice(), &bad_tag).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid reference format: repository name (library/Bad) must be lowercase"
    );
    let bad_change = ImportOptions {
        changes: vec!["FROM x".into()],
        ..Default::default()
    };
    let err = berth_image::import(&mut store, good.as_slice(), &bad_change).unwrap_err();
    assert_eq!(err.to_string(), "from is not a valid change command");
    assert_untouched(dir.path(), &store);
}

#[test]
fn resolution_prefixes_digests_and_errors() {
    let (_dir, mut store) = store();
    let tar = busybox_tar();
    let mut ids = Vec::new();
    // Enough images that two share a first hex digit.
    for i in 0..20 {
        ids.push(import(&mut store, &tar, &format!("img{i}")));
    }
    let id = &ids[0];
    let hex = id.trim_start_matches("sha256:");
    for form in [
        id.clone(),
        hex.to_string(),
        hex[..12].to_string(),
        format!("sha256:{}", &hex[..8]),
    ] {
        assert_eq!(
            &berth_image::resolve_id(&store, &form).unwrap(),
            id,
            "{form}"
        );
    }
    assert_eq!(
        &berth_image::resolve_id(&store, &format!("img0@{id}")).unwrap(),
        id
    );
    let first = hex.chars().next().unwrap().to_string();
    let clash = ids
        .iter()
        .filter(|i| i.trim_start_matches("sha256:").starts_with(&first))
        .count();
    if clash > 1 {
        let err = berth_image::resolve_id(&store, &first).unwrap_err();
        assert!(matches!(err, ImageError::Ambiguous { .. }), "{err}");
    }
    let err = berth_image::resolve(&store, "nope").unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), "No such image: nope:latest");
    let err = berth_image::resolve(&store, "a b").unwrap_err();
    assert_eq!(err.to_string(), "invalid reference format");
    assert!(!err.is_not_found());
}

fn add_container(store: &mut Store, id: &str, image_id: &str, status: &str) {
    let chains: Vec<String> = berth_image::resolve(store, image_id)
        .unwrap()
        .layers
        .iter()
        .map(|l| l.chain_id.clone())
        .collect();
    store
        .write(|tx| -> Result<(), berth_store::rusqlite::Error> {
            tx.execute(
                "INSERT INTO containers (id, name, image_id, image_ref, created_at, config, status) \
                 VALUES (?1, ?1, ?2, 'x', '2024-01-01T00:00:00Z', '{}', ?3)",
                [id, image_id, status],
            )?;
            for (i, c) in chains.iter().enumerate() {
                tx.execute(
                    "INSERT INTO container_layers (container_id, position, chain_id) VALUES (?1, ?2, ?3)",
                    berth_store::rusqlite::params![id, i as i64, c],
                )?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn rmi_follows_dockers_conflict_rules() {
    let (dir, mut store) = store();
    let id = import(&mut store, &busybox_tar(), "bb:1");
    let short = &id[7..19];
    let cid = "c".repeat(64);
    add_container(&mut store, &cid, &id, "exited");

    let err = berth_image::remove(&mut store, "bb:1", false).unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to remove repository reference \"bb:1\" (must force) - container cccccccccccc is using its referenced image {short}")
    );
    let err = berth_image::remove(&mut store, short, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (must be forced) - image is being used by stopped container cccccccccccc")
    );
    // A second tag: removing one tag only untags.
    berth_image::tag(&mut store, "bb:1", "bb:2").unwrap();
    let items = berth_image::remove(&mut store, "bb:2", false).unwrap();
    assert_eq!(
        items,
        vec![berth_image::DeleteItem::Untagged("bb:2".into())]
    );

    store
        .write(|tx| tx.execute("UPDATE containers SET status = 'running'", []))
        .unwrap();
    let err = berth_image::remove(&mut store, short, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (cannot be forced) - image is being used by running container cccccccccccc")
    );
    store
        .write(|tx| tx.execute("UPDATE containers SET status = 'exited'", []))
        .unwrap();
    // Forced: the image goes, the container keeps its layers.
    let items = berth_image::remove(&mut store, short, true).unwrap();
    assert_eq!(
        items,
        vec![
            berth_image::DeleteItem::Untagged("bb:1".into()),
            berth_image::DeleteItem::Deleted(id.clone())
        ]
    );
    assert_eq!(entries(&dir.path().join("layers")).len(), 1);
    store
        .write(|tx| tx.execute("DELETE FROM containers", []))
        .unwrap();
    berth_image::gc_layers(&mut store).unwrap();
    assert_eq!(entries(&dir.path().join("layers")).len(), 0);
    assert_eq!(entries(&dir.path().join("blobs/sha256")).len(), 0);
}

#[test]
fn prune_removes_dangling_then_all_unused() {
    let (_dir, mut store) = store();
    let tar = busybox_tar();
    let dangling =
        berth_image::import(&mut store, tar.as_slice(), &ImportOptions::default()).unwrap();
    let tagged = import(&mut store, &tar, "keep");
    let (items, reclaimed) = berth_image::prune(&mut store, false, &|_, _| Ok(true)).unwrap();
    assert_eq!(items, vec![berth_image::DeleteItem::Deleted(dangling)]);
    assert_eq!(reclaimed, 0, "the layer is still used by the tagged image");
    let (items, reclaimed) = berth_image::prune(&mut store, true, &|_, _| Ok(true)).unwrap();
    assert_eq!(
        items[0],
        berth_image::DeleteItem::Untagged("keep:latest".into())
    );
    assert_eq!(items[1], berth_image::DeleteItem::Deleted(tagged));
    assert!(
        reclaimed > 1_000_000,
        "busybox layer reclaimed: {reclaimed}"
    );
}

#[test]
fn commit_stacks_a_layer_on_its_parent() {
    let (dir, mut store) = store();
    let id = import(&mut store, &busybox_tar(), "base");
    let parent = berth_image::resolve(&store, &id).unwrap();
    let upper = dir.path().join("upper");
    std::fs::create_dir_all(upper.join("etc")).unwrap();
    std::fs::write(upper.join("etc/hello"), "hi").unwrap();
    let config = berth_image::ContainerConfig {
        cmd: Some(vec!["sh".into()]),
        env: Some(vec!["A=1".into()]),
        ..Default::default()
    };
    let container = berth_image::CommitContainer {
        id: &"d".repeat(64),
        config: &config,
        ids: None,
    };
    let new = berth_image::commit(
        &mut store,
        &parent,
        &upper,
        &["ENV B=2".into()],
        "msg",
        "me",
        Some(container),
        Some("child:1"),
    )
    .unwrap();
    let child = berth_image::resolve(&store, "child:1").unwrap();
    assert_eq!(child.id, new);
    assert_eq!(child.layers.len(), 2);
    assert_eq!(child.layers[0], parent.layers[0]);
    assert_eq!(
        std::fs::read_to_string(child.layers[1].dir.join("etc/hello")).unwrap(),
        "hi"
    );
    let c = child.config.config().clone().unwrap();
    assert_eq!(c.env().clone().unwrap(), ["A=1", "B=2"]);
    let inspect = berth_image::inspect(&store, "child:1").unwrap();
    assert_eq!(
        (inspect.comment.as_str(), inspect.author.as_str()),
        ("msg", "me")
    );
    assert_eq!(inspect.container, "d".repeat(64));
    assert_eq!(berth_image::history(&store, "child:1").unwrap().len(), 2);
}
