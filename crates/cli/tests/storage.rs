//! Volumes end to end with real containers (SCENARIOS.md §3–§5): named and
//! anonymous volumes outliving containers, shared between them, refused
//! removal while used, image `VOLUME`s, copy-up, nested destinations and
//! binds. Mount options: mounts.rs; inspect against dockerd:
//! inspect_docker.rs; `system df` and prunes: disk_usage.rs.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::storage::*;
use common::Berth;
use serde_json::{json, Value};

#[test]
fn a_named_volume_outlives_every_container_that_used_it() {
    let b = Berth::with_busybox();
    assert_eq!(b.ok(&["volume", "create", "mydata"]), "mydata");
    assert!(b
        .ok(&["volume", "ls"])
        .lines()
        .any(|l| l == "local     mydata"));
    let v = &serde_json::from_str::<Value>(&b.ok(&["volume", "inspect", "mydata"])).unwrap()[0];
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(
        v["Mountpoint"],
        data_dir(&b, "mydata").to_string_lossy().as_ref()
    );

    b.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "-v",
        "mydata:/var/lib/postgresql/data",
        "busybox",
        "sh",
        "-c",
        "echo 'CREATE DATABASE shop' > /var/lib/postgresql/data/catalog; sleep 1000",
    ]);
    // The write lands in the volume's Mountpoint on the host.
    wait_for_file(&data_dir(&b, "mydata").join("catalog"));
    assert_eq!(
        mount_at(&b, "db", "/var/lib/postgresql/data"),
        json!({
            "Type": "volume",
            "Name": "mydata",
            "Source": data_dir(&b, "mydata"),
            "Destination": "/var/lib/postgresql/data",
            "Driver": "local",
            "Mode": "z",
            "RW": true,
            "Propagation": "",
        })
    );

    // Replace the container; `rm -fv` removes anonymous volumes only.
    b.ok(&["rm", "-fv", "db"]);
    assert_eq!(volume_names(&b), vec!["mydata"]);
    let out = b.ok(&[
        "run",
        "--rm",
        "-v",
        "mydata:/var/lib/postgresql/data",
        "busybox",
        "cat",
        "/var/lib/postgresql/data/catalog",
    ]);
    assert_eq!(out, "CREATE DATABASE shop");

    // `run -v NAME:/path` creates a missing volume; `--rm` keeps named volumes.
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "made-on-use:/x",
        "busybox",
        "sh",
        "-c",
        "echo kept > /x/f",
    ]);
    assert_eq!(volume_names(&b), vec!["made-on-use", "mydata"]);
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, "made-on-use").join("f")).unwrap(),
        "kept\n"
    );
}

#[test]
fn volumes_are_many_to_many_and_writes_are_shared_live() {
    let b = Berth::with_busybox();
    // One container, two volumes.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "pg",
        "-v",
        "volume1:/etc/postgresql",
        "-v",
        "volume2:/var/lib/postgresql/data",
        "busybox",
        "sleep",
        "1000",
    ]);
    b.ok(&[
        "exec",
        "pg",
        "sh",
        "-c",
        "echo conf > /etc/postgresql/pg.conf; echo rows > /var/lib/postgresql/data/table",
    ]);
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, "volume1").join("pg.conf")).unwrap(),
        "conf\n"
    );
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, "volume2").join("table")).unwrap(),
        "rows\n"
    );
    assert!(!data_dir(&b, "volume1").join("table").exists());

    // One volume, two running containers: each sees the other's writes.
    for name in ["ca", "cb"] {
        b.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "-v",
            "shared:/s",
            "busybox",
            "sleep",
            "1000",
        ]);
    }
    b.ok(&["exec", "ca", "sh", "-c", "echo from-a > /s/a.txt"]);
    assert_eq!(b.ok(&["exec", "cb", "cat", "/s/a.txt"]), "from-a");
    b.ok(&["exec", "cb", "sh", "-c", "echo from-b >> /s/a.txt"]);
    assert_eq!(b.ok(&["exec", "ca", "cat", "/s/a.txt"]), "from-a\nfrom-b");
}

#[test]
fn volume_rm_is_refused_for_running_and_stopped_users_and_data_stays() {
    let b = Berth::with_busybox();
    let id = b.ok(&[
        "run",
        "-d",
        "--name",
        "user",
        "-v",
        "keep:/k",
        "busybox",
        "sh",
        "-c",
        "echo precious > /k/f; sleep 1000",
    ]);
    let file = data_dir(&b, "keep").join("f");
    wait_for_file(&file);
    let creator = b.ok(&["create", "--name", "idle", "-v", "keep:/k", "busybox"]);

    for state in ["running", "stopped"] {
        let r = b.fails(&["volume", "rm", "keep"]);
        assert!(
            r.stderr.contains("volume is in use") && r.stderr.contains(&id),
            "{state} user: unclear error: {}",
            r.stderr
        );
        assert!(r.stderr.contains(&creator), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious\n");
        assert_eq!(volume_names(&b), vec!["keep"]);
        // `-f` does not override the in-use check either.
        b.fails(&["volume", "rm", "-f", "keep"]);
        b.ok(&["stop", "-t", "0", "user"]);
    }
    b.ok(&["rm", "user", "idle"]);
    assert_eq!(b.ok(&["volume", "rm", "keep"]), "keep");
    assert!(volume_names(&b).is_empty());
    assert!(!b.path().join("volumes/keep").exists());
}

#[test]
fn image_volume_paths_get_fresh_anonymous_volumes_that_rm_v_removes() {
    let b = Berth::with_busybox();
    image_with(&b, "volimg", &["VOLUME /data"], seeded_data);

    b.ok(&["run", "-d", "--name", "one", "volimg", "sleep", "1000"]);
    b.ok(&["run", "-d", "--name", "two", "volimg", "sleep", "1000"]);
    let one = mount_at(&b, "one", "/data");
    let two = mount_at(&b, "two", "/data");
    for m in [&one, &two] {
        assert_eq!(m["Type"], "volume");
        assert!(is_hex64(m["Name"].as_str().unwrap()), "{m}");
        assert_eq!(m["Mode"], "");
        assert_eq!(m["RW"], true);
        assert_eq!(m["Driver"], "local");
    }
    assert_ne!(one["Name"], two["Name"], "each container gets its own");
    let (one_vol, two_vol) = (
        one["Name"].as_str().unwrap().to_string(),
        two["Name"].as_str().unwrap().to_string(),
    );
    let labels = &serde_json::from_str::<Value>(&b.ok(&["volume", "inspect", &one_vol])).unwrap()
        [0]["Labels"];
    assert_eq!(labels["com.docker.volume.anonymous"], "");
    // Copy-up applies to anonymous volumes too.
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, &one_vol).join("seed.txt")).unwrap(),
        "from the image\n"
    );

    b.ok(&["rm", "-f", "-v", "one"]);
    assert_eq!(volume_names(&b), vec![two_vol.clone()]);
    b.ok(&["rm", "-f", "two"]);
    assert_eq!(
        volume_names(&b),
        vec![two_vol.clone()],
        "rm without -v keeps it"
    );

    // A named volume at the VOLUME path replaces the anonymous one, and
    // neither `rm -v` nor `--rm` ever removes a named volume.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "three",
        "-v",
        "named:/data",
        "volimg",
        "sleep",
        "1000",
    ]);
    assert_eq!(mount_at(&b, "three", "/data")["Name"], "named");
    assert_eq!(mounts(&b, "three").len(), 1);
    b.ok(&["rm", "-fv", "three"]);
    b.ok(&["run", "--rm", "-v", "named2:/data", "volimg", "true"]);
    let mut want = vec![two_vol.clone(), "named".into(), "named2".into()];
    want.sort();
    assert_eq!(volume_names(&b), want);

    // `run --rm` removes the anonymous volumes it made: image VOLUME and `-v /dst`.
    b.ok(&["run", "--rm", "-v", "/scratch", "volimg", "true"]);
    assert_eq!(volume_names(&b), want);
    b.ok(&[
        "run", "-d", "--name", "four", "-v", "/scratch", "busybox", "sleep", "1000",
    ]);
    let scratch = mount_at(&b, "four", "/scratch");
    assert!(is_hex64(scratch["Name"].as_str().unwrap()));
    assert_eq!(scratch["Mode"], "");
    b.ok(&["rm", "-fv", "four"]);
    assert_eq!(volume_names(&b), want);
}

#[test]
fn copy_up_fills_an_empty_volume_with_the_images_files_once() {
    let b = Berth::with_busybox();
    image_with(&b, "seeded", &[], seeded_data);

    b.ok(&["run", "--rm", "-v", "cu:/data", "seeded", "true"]);
    let data = data_dir(&b, "cu");
    let seed = std::fs::metadata(data.join("seed.txt")).unwrap();
    assert_eq!((seed.uid(), seed.gid()), (1234, 5678));
    assert_eq!(seed.mode() & 0o7777, 0o640);
    let top = std::fs::metadata(&data).unwrap();
    assert_eq!((top.uid(), top.gid()), (42, 43));
    assert_eq!(top.mode() & 0o7777, 0o750);
    assert_eq!(
        std::fs::read_to_string(data.join("sub/deep.txt")).unwrap(),
        "deep\n"
    );

    // A volume that is no longer empty is never filled again.
    std::fs::write(data.join("seed.txt"), "changed\n").unwrap();
    std::fs::remove_file(data.join("sub/deep.txt")).unwrap();
    let out = b.ok(&[
        "run",
        "--rm",
        "-v",
        "cu:/data",
        "seeded",
        "cat",
        "/data/seed.txt",
    ]);
    assert_eq!(out, "changed");
    assert!(!data.join("sub/deep.txt").exists());

    // nocopy, both spellings: the volume stays empty and hides the image's files.
    b.ok(&["run", "--rm", "-v", "nc1:/data:nocopy", "seeded", "true"]);
    b.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=nc2,dst=/data,volume-nocopy",
        "seeded",
        "true",
    ]);
    for v in ["nc1", "nc2"] {
        assert_eq!(
            std::fs::read_dir(data_dir(&b, v)).unwrap().count(),
            0,
            "{v} was filled"
        );
    }
    let out = b.ok(&[
        "run",
        "--rm",
        "-v",
        "nc1:/data:nocopy",
        "seeded",
        "ls",
        "-A",
        "/data",
    ]);
    assert_eq!(out, "");

    // Never for binds: an empty host directory stays empty.
    let host = host_dir();
    b.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/data", host.path().display()),
        "seeded",
        "true",
    ]);
    assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 0);
}

/// Regression: the image-VOLUME copy-up CVEs came from following a symlink in
/// the image out of the rootfs. Links are copied as links; writes through them
/// inside the container stay inside it; nothing on the host is touched.
#[test]
fn copy_up_never_follows_a_symlink_out_of_the_rootfs() {
    let b = Berth::with_busybox();
    let marker = format!("berth-escape-{}", std::process::id());
    image_with(&b, "evil", &["VOLUME /data", "VOLUME /linked"], |rootfs| {
        let data = rootfs.join("data");
        std::fs::create_dir(&data).unwrap();
        std::os::unix::fs::symlink("/etc", data.join("link")).unwrap();
        std::os::unix::fs::symlink("../../../../../../../../etc", data.join("up")).unwrap();
        // The volume's own mount point is a link to /etc: resolved in the
        // container's root, it is the image's /etc, never the host's.
        std::os::unix::fs::symlink("/etc", rootfs.join("linked")).unwrap();
    });
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();

    b.ok(&[
        "run",
        "--rm",
        "-v",
        "evil-data:/data",
        "-v",
        "evil-linked:/linked",
        "evil",
        "sh",
        "-c",
        &format!("echo pwned > /data/link/{marker}; echo pwned > /data/up/{marker}.up"),
    ]);
    let data = data_dir(&b, "evil-data");
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("/etc")
    );
    assert!(std::fs::symlink_metadata(data.join("up"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!Path::new("/etc").join(&marker).exists());
    assert!(!Path::new("/etc").join(format!("{marker}.up")).exists());
    // What /linked got is the image's /etc (two users), not the host's.
    let linked = data_dir(&b, "evil-linked");
    let copied = std::fs::read_to_string(linked.join("passwd")).unwrap();
    assert_eq!(copied.lines().count(), 2, "{copied}");
    assert_ne!(copied, host_passwd);
    // Host-side walks (size, removal) do not follow the links either.
    let df = b.ok(&["system", "df", "-v"]);
    assert!(df.contains("evil-data"), "{df}");
    b.ok(&["volume", "rm", "evil-data", "evil-linked"]);
    assert_eq!(std::fs::read_to_string("/etc/passwd").unwrap(), host_passwd);
    assert!(Path::new("/etc/hostname").exists() || Path::new("/etc/os-release").exists());
}

#[test]
fn nested_destinations_are_mounted_parents_first() {
    let b = Berth::with_busybox();
    let host = host_dir();
    // Given children first: berth must still mount /n before /n/inner.
    b.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/n/inner/bind", host.path().display()),
        "-v",
        "inner:/n/inner",
        "-v",
        "outer:/n",
        "busybox",
        "sh",
        "-c",
        "echo o > /n/o.txt; echo i > /n/inner/i.txt; echo b > /n/inner/bind/b.txt",
    ]);
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, "outer").join("o.txt")).unwrap(),
        "o\n"
    );
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, "inner").join("i.txt")).unwrap(),
        "i\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("b.txt")).unwrap(),
        "b\n"
    );
    assert!(!data_dir(&b, "outer").join("inner/i.txt").exists());
    assert!(!data_dir(&b, "inner").join("bind/b.txt").exists());
}

// ------------------------------------------------------------------ §4 binds

#[test]
fn binds_work_both_ways_and_create_no_volume() {
    let b = Berth::with_busybox();
    let host = host_dir();
    let h = host.path().display().to_string();
    let before = volume_names(&b);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "web1",
        "-v",
        &format!("{h}:/usr/share/nginx/html"),
        "busybox",
        "sleep",
        "1000",
    ]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "web2",
        "--mount",
        &format!("type=bind,source={h},target=/srv"),
        "busybox",
        "sleep",
        "1000",
    ]);
    // Before the file exists neither container has it.
    assert_ne!(
        b.run(&["exec", "web1", "cat", "/usr/share/nginx/html/index.html"])
            .code,
        0
    );
    std::fs::write(host.path().join("index.html"), "hello\n").unwrap();
    assert_eq!(
        b.ok(&["exec", "web1", "cat", "/usr/share/nginx/html/index.html"]),
        "hello"
    );
    assert_eq!(b.ok(&["exec", "web2", "cat", "/srv/index.html"]), "hello");
    b.ok(&[
        "exec",
        "web2",
        "sh",
        "-c",
        "echo made-inside > /srv/out.txt",
    ]);
    assert_eq!(
        std::fs::read_to_string(host.path().join("out.txt")).unwrap(),
        "made-inside\n"
    );
    assert_eq!(volume_names(&b), before, "a bind creates no volume");
    assert_eq!(
        mount_at(&b, "web2", "/srv"),
        json!({"Type": "bind", "Source": h, "Destination": "/srv", "Mode": "",
               "RW": true, "Propagation": "rprivate"})
    );

    // `-v` creates a missing host directory; `--mount` refuses it, creating nothing.
    let missing = host.path().join("new/deep");
    b.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/d", missing.display()),
        "busybox",
        "true",
    ]);
    assert!(missing.is_dir());
    let containers = b.ok(&["ps", "-aq"]);
    let r = b.fails(&[
        "run",
        "--mount",
        &format!("type=bind,source={h}/absent,target=/d"),
        "busybox",
        "true",
    ]);
    assert!(
        r.stderr.contains("bind source path does not exist"),
        "{}",
        r.stderr
    );
    assert_eq!(b.ok(&["ps", "-aq"]), containers);
    assert!(!host.path().join("absent").exists());
}
