//! Storage outside the container layer, end to end with real containers
//! (SCENARIOS.md §3–§6, §8): named and anonymous volumes, binds, tmpfs,
//! `--volumes-from`, read-only mounts, copy-up, `inspect` compared with what
//! dockerd prints (fixtures recorded from it, and live when it answers),
//! `system df`, prunes, and a volume on NFS.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{busybox_tar, Berth};
use serde_json::{json, Value};

// ------------------------------------------------------------------ helpers

fn inspect(b: &Berth, name: &str) -> Value {
    let text = b.ok(&["inspect", name]);
    let mut all: Value = serde_json::from_str(&text).expect("inspect prints JSON");
    all[0].take()
}

fn mounts(b: &Berth, name: &str) -> Vec<Value> {
    inspect(b, name)["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn mount_at(b: &Berth, name: &str, destination: &str) -> Value {
    mounts(b, name)
        .into_iter()
        .find(|m| m["Destination"] == destination)
        .unwrap_or_else(|| panic!("{name} has no mount at {destination}"))
}

fn data_dir(b: &Berth, volume: &str) -> PathBuf {
    b.path().join("volumes").join(volume).join("_data")
}

fn volume_names(b: &Berth) -> Vec<String> {
    let mut names: Vec<String> = b
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    names
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Waits (up to 20 s) for a file a container writes.
fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A host directory for binds, removed at the end of the test.
fn host_dir() -> tempfile::TempDir {
    let base = Path::new("/var/tmp/berth-tests");
    std::fs::create_dir_all(base).unwrap();
    tempfile::Builder::new()
        .prefix("host-")
        .tempdir_in(base)
        .unwrap()
}

/// Imports busybox plus whatever `populate` adds to the rootfs, with image
/// `changes` (`VOLUME /data`, ...), as `tag`.
fn image_with(b: &Berth, tag: &str, changes: &[&str], populate: impl FnOnce(&Path)) {
    let dir = host_dir();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(busybox_tar())
        .arg("-C")
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(status.success());
    populate(&rootfs);
    let tar = dir.path().join("image.tar");
    let status = Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let mut args = vec!["import".to_string(), "-c".into(), "CMD [\"sh\"]".into()];
    for c in changes {
        args.push("-c".into());
        args.push(c.to_string());
    }
    args.push(tar.to_string_lossy().into_owned());
    args.push(tag.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    b.ok(&args);
}

/// `/data` with content of known owners and modes, for copy-up.
fn seeded_data(rootfs: &Path) {
    use std::os::unix::fs::chown;
    let data = rootfs.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("seed.txt"), "from the image\n").unwrap();
    std::fs::write(data.join("sub/deep.txt"), "deep\n").unwrap();
    chown(data.join("seed.txt"), Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(
        data.join("seed.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    chown(&data, Some(42), Some(43)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
}

/// A container's output (stdout + stderr) and exit code.
fn run_output(b: &Berth, args: &[&str]) -> (i32, String) {
    let r = b.run(args);
    (r.code, format!("{}{}", r.stdout, r.stderr))
}

fn assert_read_only_write(b: &Berth, args: &[&str]) {
    let (code, out) = run_output(b, args);
    assert_ne!(code, 0, "{args:?} wrote to a read-only mount: {out}");
    assert!(
        out.contains("Read-only file system"),
        "{args:?} failed without 'Read-only file system': {out}"
    );
}

// ------------------------------------------------------------------ §3 volumes

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

#[test]
fn a_bind_hides_the_image_directory_and_single_files_can_be_bound() {
    let b = Berth::with_busybox();
    image_with(&b, "app", &[], |rootfs| {
        std::fs::create_dir_all(rootfs.join("app")).unwrap();
        std::fs::write(rootfs.join("app/from-image.txt"), "image\n").unwrap();
        std::fs::write(rootfs.join("etc/app.conf"), "image conf\n").unwrap();
    });
    let host = host_dir();
    std::fs::write(host.path().join("from-host.txt"), "host\n").unwrap();
    let out = b.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/app", host.path().display()),
        "app",
        "ls",
        "/app",
    ]);
    assert_eq!(out, "from-host.txt");

    let conf = host.path().join("app.conf");
    std::fs::write(&conf, "host conf\n").unwrap();
    let out = b.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/etc/app.conf:ro", conf.display()),
        "--mount",
        &format!("type=bind,src={},dst=/etc/new.conf", conf.display()),
        "app",
        "sh",
        "-c",
        "cat /etc/app.conf /etc/new.conf",
    ]);
    assert_eq!(out, "host conf\nhost conf");
}

// ------------------------------------------------------------------ §6 read-only

#[test]
fn read_only_mounts_fail_writes_and_show_rw_false() {
    let b = Berth::with_busybox();
    let host = host_dir();
    let h = host.path().display().to_string();
    b.ok(&["volume", "create", "ro-data"]);
    let specs: Vec<Vec<String>> = vec![
        vec!["-v".into(), "ro-data:/data:ro".into()],
        vec!["-v".into(), format!("{h}:/data:ro")],
        vec![
            "--mount".into(),
            "type=volume,src=ro-data,dst=/data,readonly".into(),
        ],
        vec![
            "--mount".into(),
            format!("type=bind,source={h},target=/data,readonly"),
        ],
        vec![
            "--mount".into(),
            format!("type=bind,source={h},target=/data,ro=true"),
        ],
        vec!["--mount".into(), "type=tmpfs,dst=/data,ro".into()],
    ];
    for (i, spec) in specs.iter().enumerate() {
        let name = format!("ro{i}");
        let mut args = vec!["run", "--name", &name];
        args.extend(spec.iter().map(String::as_str));
        args.extend(["busybox", "sh", "-c", "echo x > /data/f"]);
        assert_read_only_write(&b, &args);
        assert_eq!(mount_at(&b, &name, "/data")["RW"], false, "{spec:?}");
    }
    assert!(!host.path().join("f").exists());
    assert!(!data_dir(&b, "ro-data").join("f").exists());

    // The typical use: read-only configuration beside a writable volume.
    std::fs::write(host.path().join("solution.txt"), "42\n").unwrap();
    let (code, out) = run_output(
        &b,
        &[
            "run",
            "--rm",
            "--mount",
            &format!("type=bind,source={h},target=/app/config,readonly"),
            "--volume",
            "ch06-lab:/new-data",
            "busybox",
            "sh",
            "-c",
            "cat /app/config/solution.txt > /new-data/copy; rm /app/config/solution.txt",
        ],
    );
    assert_ne!(code, 0);
    assert!(out.contains("Read-only file system"), "{out}");
    assert_eq!(
        std::fs::read_to_string(data_dir(&b, "ch06-lab").join("copy")).unwrap(),
        "42\n"
    );
    assert!(host.path().join("solution.txt").exists());
}

/// Unmounts the host submount even when the test fails.
struct HostMount(PathBuf);

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn read_only_binds_are_read_only_all_the_way_down() {
    let b = Berth::with_busybox();
    let host = host_dir();
    let sub = host.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "berth-test"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(status.success());
    let _guard = HostMount(sub.clone());
    std::fs::write(sub.join("marker"), "in the submount\n").unwrap();
    let h = host.path().display().to_string();

    for spec in [
        vec!["-v".to_string(), format!("{h}:/h:ro")],
        vec![
            "--mount".into(),
            format!("type=bind,src={h},dst=/h,readonly"),
        ],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(spec.iter().map(String::as_str));
        args.extend(["busybox", "sh", "-c", "cat /h/sub/marker; touch /h/sub/new"]);
        let (code, out) = run_output(&b, &args);
        assert!(out.contains("in the submount"), "not recursive: {out}");
        assert_ne!(code, 0, "{spec:?}: the submount was writable: {out}");
        assert!(out.contains("Read-only file system"), "{out}");
    }
    // The host's own mount stays writable.
    std::fs::write(sub.join("host-write"), "ok").unwrap();
    assert!(!sub.join("new").exists());
}

// ------------------------------------------------------------------ §5 volumes-from

#[test]
fn volumes_from_gives_every_mount_and_ro_makes_them_read_only() {
    let b = Berth::with_busybox();
    let html = host_dir();
    std::fs::write(html.path().join("index.html"), "hello\n").unwrap();
    b.ok(&[
        "run",
        "-d",
        "-v",
        &format!("{}:/usr/share/nginx/html", html.path().display()),
        "-v",
        "webdata:/data",
        "--name",
        "web-volume",
        "busybox",
        "sleep",
        "1000",
    ]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "nginx-text1",
        "--volumes-from",
        "web-volume",
        "busybox",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        b.ok(&[
            "exec",
            "nginx-text1",
            "cat",
            "/usr/share/nginx/html/index.html"
        ]),
        "hello"
    );
    b.ok(&["exec", "nginx-text1", "sh", "-c", "echo shared > /data/x"]);
    assert_eq!(b.ok(&["exec", "web-volume", "cat", "/data/x"]), "shared");
    let html_mount = mount_at(&b, "nginx-text1", "/usr/share/nginx/html");
    assert_eq!(html_mount["Source"], html.path().to_string_lossy().as_ref());
    assert_eq!(html_mount["RW"], true);
    assert_eq!(mount_at(&b, "nginx-text1", "/data")["Name"], "webdata");
    assert_eq!(
        inspect(&b, "nginx-text1")["HostConfig"]["VolumesFrom"],
        json!(["web-volume"])
    );

    b.ok(&[
        "run",
        "-d",
        "--name",
        "reader",
        "--volumes-from",
        "web-volume:ro",
        "busybox",
        "sleep",
        "1000",
    ]);
    for dest in ["/usr/share/nginx/html", "/data"] {
        let r = b.run(&["exec", "reader", "touch", &format!("{dest}/new")]);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
        assert_eq!(mount_at(&b, "reader", dest)["RW"], false);
    }
    assert_eq!(b.ok(&["exec", "reader", "cat", "/data/x"]), "shared");

    let containers = b.ok(&["ps", "-aq"]);
    let r = b.fails(&["run", "--volumes-from", "no-such", "busybox", "true"]);
    assert!(r.stderr.contains("no-such"), "{}", r.stderr);
    assert_eq!(b.ok(&["ps", "-aq"]), containers);
}

// ------------------------------------------------------------------ tmpfs

#[test]
fn tmpfs_mounts_have_their_size_and_keep_nothing() {
    let b = Berth::with_busybox();
    let (code, out) = run_output(
        &b,
        &[
            "run",
            "--rm",
            "--tmpfs",
            "/t:size=1m",
            "--mount",
            "type=tmpfs,dst=/t2,tmpfs-size=1m,tmpfs-mode=1770",
            "busybox",
            "sh",
            "-c",
            "grep -E ' /t2? ' /proc/mounts; stat -c %a /t2; dd if=/dev/zero of=/t/f bs=1k count=2048",
        ],
    );
    assert_ne!(code, 0, "2 MiB fit in a 1 MiB tmpfs: {out}");
    assert!(out.contains("No space left on device"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tmpfs /t tmpfs") && l.contains("size=1024k")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tmpfs /t2 tmpfs") && l.contains("size=1024k")),
        "{out}"
    );
    assert!(lines.contains(&"1770"), "{out}");

    // Nothing reaches the writable layer or a volume, and a restart empties it.
    b.ok(&[
        "run", "-d", "--name", "scratch", "--tmpfs", "/t", "busybox", "sleep", "1000",
    ]);
    b.ok(&["exec", "scratch", "sh", "-c", "echo tmp > /t/x"]);
    let id = inspect(&b, "scratch")["Id"].as_str().unwrap().to_string();
    assert!(!b
        .path()
        .join("containers")
        .join(&id)
        .join("diff/t/x")
        .exists());
    b.ok(&["restart", "-t", "0", "scratch"]);
    assert_eq!(b.ok(&["exec", "scratch", "ls", "-A", "/t"]), "");
    assert!(volume_names(&b).is_empty());
    // `--tmpfs` shows in HostConfig.Tmpfs only, as in Docker.
    let c = inspect(&b, "scratch");
    assert_eq!(c["HostConfig"]["Tmpfs"], json!({"/t": ""}));
    assert_eq!(c["Mounts"], json!([]));
}

// ------------------------------------------------------------------ inspect vs dockerd

/// One run to compare: containers created first (`before`), then `args`, whose
/// container's mounts are compared. `{host}`, `{image}`, `{volimage}` are
/// replaced; named volumes are listed for cleanup in dockerd.
struct Case {
    name: &'static str,
    before: &'static [&'static str],
    args: &'static [&'static str],
    volumes: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "volume",
        before: &[],
        args: &["-v", "bst-data:/var/lib/postgresql/data", "{image}"],
        volumes: &["bst-data"],
    },
    Case {
        name: "bind",
        before: &[],
        args: &["-v", "{host}:/usr/share/nginx/html:ro", "{image}"],
        volumes: &[],
    },
    Case {
        name: "tmpfs",
        before: &[],
        args: &[
            "--tmpfs",
            "/run/t:size=1m",
            "--mount",
            "type=tmpfs,target=/t2,tmpfs-size=1048576",
            "{image}",
        ],
        volumes: &[],
    },
    Case {
        name: "mixed",
        before: &[],
        args: &[
            "-v",
            "bst-data:/data",
            "-v",
            "{host}:/srv:ro",
            "-v",
            "/anon",
            "--mount",
            "type=bind,source={host},target=/cfg,readonly",
            "--mount",
            "type=volume,source=bst-vol2,target=/v2",
            "--tmpfs",
            "/t",
            "--mount",
            "type=tmpfs,target=/t2,tmpfs-size=1m,tmpfs-mode=1770",
            "{image}",
        ],
        volumes: &["bst-data", "bst-vol2"],
    },
    Case {
        name: "options",
        before: &[],
        args: &[
            "-v",
            "bst-nc:/nc:nocopy",
            "-v",
            "{host}:/p:rprivate",
            "-v",
            "bst-z:/z:rw",
            "--mount",
            "type=volume,source=bst-nc2,target=/nc2,volume-nocopy",
            "--mount",
            "type=bind,source={host},target=/b,bind-propagation=private",
            "--mount",
            "type=volume,target=/anonm",
            "--mount",
            "type=bind,src={host}/file.txt,dst=/etc/single.txt,ro=true",
            "--mount",
            "type=bind,src={host},dst=/nr,bind-nonrecursive",
            "--mount",
            "type=volume,src=bst-lab,dst=/lab,volume-label=a=b,volume-opt=type=tmpfs,volume-opt=device=tmpfs",
            "--mount",
            "type=volume,src=bst-ro,dst=/rov,ro=true",
            "{image}",
        ],
        volumes: &["bst-nc", "bst-z", "bst-nc2", "bst-lab", "bst-ro"],
    },
    Case {
        name: "volumes-from",
        before: &[
            "--name",
            "bst-web",
            "-v",
            "{host}:/html",
            "-v",
            "bst-web:/web:ro",
            "-v",
            "/anonweb",
            "--mount",
            "type=bind,src={host},dst=/cfg,readonly",
            "{image}",
        ],
        args: &["--volumes-from", "bst-web", "{image}"],
        volumes: &["bst-web"],
    },
    Case {
        name: "volumes-from-ro",
        before: &[
            "--name",
            "bst-web",
            "-v",
            "{host}:/html",
            "-v",
            "bst-web:/web",
            "{image}",
        ],
        args: &["--volumes-from", "bst-web:ro", "{image}"],
        volumes: &["bst-web"],
    },
    Case {
        name: "image-volume",
        before: &[],
        args: &["{volimage}"],
        volumes: &[],
    },
    Case {
        name: "image-volume-named",
        before: &[],
        args: &["-v", "bst-over:/data", "{volimage}"],
        volumes: &["bst-over"],
    },
];

const FIXTURE_IMAGE: &str = "berth-fixture/busybox:latest";
const FIXTURE_VOLUME_IMAGE: &str = "berth-fixture/volume:latest";

fn expand(args: &[&str], host: &Path) -> Vec<String> {
    args.iter()
        .map(|a| {
            a.replace("{host}", &host.to_string_lossy())
                .replace("{image}", FIXTURE_IMAGE)
                .replace("{volimage}", FIXTURE_VOLUME_IMAGE)
        })
        .collect()
}

/// Replaces 64-hex runs (anonymous volume names) with `<id>`.
fn mask_ids(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if run == 64 {
            out.push_str("<id>");
            i += 64;
        } else if run > 0 {
            out.push_str(&s[i..i + run]);
            i += run;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn normalize(v: &Value, root: &str, host: &str) -> Value {
    match v {
        Value::String(s) => {
            Value::String(mask_ids(&s.replace(root, "<root>").replace(host, "<host>")))
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| normalize(i, root, host)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalize(v, root, host)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The parts of `inspect` this comparison covers, normalized; Mounts sorted by
/// destination (dockerd lists them in map order).
fn mount_view(inspected: &Value, root: &str, host: &str) -> Value {
    let mut mounts = inspected["Mounts"].as_array().cloned().unwrap_or_default();
    mounts.sort_by(|a, b| a["Destination"].as_str().cmp(&b["Destination"].as_str()));
    let hc = &inspected["HostConfig"];
    normalize(
        &json!({
            "Mounts": mounts,
            "HostConfig": {
                "Binds": hc["Binds"],
                "Mounts": hc["Mounts"],
                "Tmpfs": hc["Tmpfs"],
                "VolumesFrom": hc["VolumesFrom"],
            },
            "Config": {"Volumes": inspected["Config"]["Volumes"]},
        }),
        root,
        host,
    )
}

/// Binds in a stable order: the 20.10 docker CLI sends them in map order.
fn sort_binds(mut view: Value) -> Value {
    if let Some(binds) = view["HostConfig"]["Binds"].as_array_mut() {
        binds.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    view
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mounts")
        .join(format!("{name}.json"))
}

fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn dockerd_answers() -> bool {
    docker(&["version", "--format", "{{.Server.Version}}"]).is_some()
}

/// The fixture images in dockerd: the same busybox tar berth imports.
fn docker_images() {
    for (tag, changes) in [
        (FIXTURE_IMAGE, vec!["CMD [\"sh\"]"]),
        (FIXTURE_VOLUME_IMAGE, vec!["CMD [\"sh\"]", "VOLUME /data"]),
    ] {
        if docker(&["image", "inspect", tag]).is_none() {
            let mut args = vec!["import".to_string()];
            for c in changes {
                args.push("-c".into());
                args.push(c.into());
            }
            args.push(busybox_tar().to_string_lossy().into_owned());
            args.push(tag.into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            docker(&args).expect("docker import of the fixture image");
        }
    }
}

/// Runs one case in dockerd and returns its normalized view.
fn docker_view(case: &Case, host: &Path) -> Value {
    let cleanup = |ids: &[String]| {
        for id in ids {
            docker(&["rm", "-fv", id]);
        }
        for v in case.volumes {
            docker(&["volume", "rm", "-f", v]);
        }
    };
    cleanup(&["bst-web".to_string()]);
    let mut ids = Vec::new();
    for args in [case.before, case.args] {
        if args.is_empty() {
            continue;
        }
        let mut full = vec!["create".to_string()];
        full.extend(expand(args, host));
        full.extend(["sleep".into(), "1000".into()]);
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        match docker(&full) {
            Some(id) => ids.push(id),
            None => {
                cleanup(&ids);
                panic!("docker {full:?} failed");
            }
        }
    }
    let text = docker(&["inspect", ids.last().unwrap()]);
    cleanup(&ids);
    let all: Value = serde_json::from_str(&text.expect("docker inspect")).unwrap();
    let root =
        docker(&["info", "--format", "{{.DockerRootDir}}"]).unwrap_or("/var/lib/docker".into());
    mount_view(&all[0], &root, &host.to_string_lossy())
}

fn berth_view(case: &Case, host: &Path) -> Value {
    let b = Berth::new();
    for (tag, changes) in [
        (FIXTURE_IMAGE, vec![]),
        (FIXTURE_VOLUME_IMAGE, vec!["VOLUME /data"]),
    ] {
        let mut args = vec!["import", "-c", "CMD [\"sh\"]"];
        for c in &changes {
            args.extend(["-c", c]);
        }
        let tar = busybox_tar().to_string_lossy().into_owned();
        args.extend([tar.as_str(), tag]);
        b.ok(&args);
    }
    let mut last = String::new();
    for args in [case.before, case.args] {
        if args.is_empty() {
            continue;
        }
        let mut full = vec!["create".to_string()];
        full.extend(expand(args, host));
        full.extend(["sleep".into(), "1000".into()]);
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        last = b.ok(&full);
    }
    mount_view(
        &inspect(&b, &last),
        &b.path().to_string_lossy(),
        &host.to_string_lossy(),
    )
}

/// `Mounts` and `HostConfig.Binds/Mounts/Tmpfs` equal dockerd's for the same
/// runs: against fixtures recorded from dockerd 20.10 with the docker 28 CLI
/// (`BERTH_RECORD_FIXTURES=1` re-records them), and against the dockerd on
/// this machine when it answers.
#[test]
fn inspect_mounts_equal_dockerds() {
    let host = host_dir();
    std::fs::write(host.path().join("file.txt"), "hi\n").unwrap();
    let record = std::env::var_os("BERTH_RECORD_FIXTURES").is_some();
    let live = dockerd_answers();
    if live {
        docker_images();
    }
    assert!(live || !record, "recording needs dockerd");
    let mut failures = Vec::new();
    for case in CASES {
        let ours = berth_view(case, host.path());
        let path = fixture_path(case.name);
        if record {
            let mut fixture = docker_view(case, host.path());
            fixture["Args"] = json!(case.args);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&fixture).unwrap() + "\n",
            )
            .unwrap();
        }
        let mut recorded: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        assert_eq!(
            recorded["Args"],
            json!(case.args),
            "{}: stale fixture",
            case.name
        );
        recorded.as_object_mut().unwrap().remove("Args");
        if ours != recorded {
            failures.push(format!(
                "{} (fixture):\n  dockerd: {recorded}\n  berth:   {ours}",
                case.name
            ));
        }
        if live && !record {
            let theirs = docker_view(case, host.path());
            if sort_binds(ours.clone()) != sort_binds(theirs.clone()) {
                failures.push(format!(
                    "{} (live):\n  dockerd: {theirs}\n  berth:   {ours}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------ system df, prune

/// Parses a go-units size ("307.2kB", "1.99MB", "0B") back to bytes.
fn parse_size(s: &str) -> f64 {
    let s = s.split(' ').next().unwrap();
    let unit_at = s.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (n, unit) = s.split_at(unit_at);
    let factor = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unit {other}"),
    };
    n.parse::<f64>().unwrap() * factor
}

fn assert_about(shown: &str, bytes: u64, what: &str) {
    let value = parse_size(shown);
    let tolerance = (bytes as f64 * 0.006).max(1.0);
    assert!(
        (value - bytes as f64).abs() <= tolerance,
        "{what}: shows {shown}, expected about {bytes} bytes"
    );
}

/// The row of a `system df` table whose first column is `first`.
fn df_row(table: &str, first: &str) -> Vec<String> {
    table
        .lines()
        .find(|l| l.starts_with(first))
        .unwrap_or_else(|| panic!("no {first} row in:\n{table}"))
        .split("   ")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// Cells of a docker table line (columns are at least 3 spaces apart).
fn columns(line: &str) -> Vec<&str> {
    line.split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Every line's cells start where the header's do (Go tabwriter alignment).
fn assert_aligned(lines: &[&str]) {
    let starts = |line: &str| -> Vec<usize> {
        columns(line)
            .iter()
            .map(|c| {
                line[..c.as_ptr() as usize - line.as_ptr() as usize]
                    .chars()
                    .count()
            })
            .collect()
    };
    let header = starts(lines[0]);
    for line in &lines[1..] {
        assert_eq!(starts(line), header, "misaligned:\n{}", lines.join("\n"));
    }
}

/// The lines of one `system df -v` section (header and rows).
fn df_section<'a>(verbose: &'a str, title: &str) -> Vec<&'a str> {
    let start = verbose
        .find(title)
        .unwrap_or_else(|| panic!("no {title} in:\n{verbose}"));
    verbose[start..]
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect()
}

fn dir_apparent_size(path: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        total += if meta.is_dir() { 0 } else { meta.len() };
    }
    total
}

#[test]
fn system_df_shows_real_sizes_and_users() {
    let b = Berth::with_busybox();
    // A second image on top of busybox: its base layer is shared.
    b.ok(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/layer.bin",
        "bs=1024",
        "count=100",
    ]);
    b.ok(&["commit", "maker", "derived:1"]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "writer",
        "-v",
        "dfvol:/data",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/data/f bs=1024 count=300; dd if=/dev/zero of=/big bs=1024 count=64; touch /done; sleep 1000",
    ]);
    b.ok(&["volume", "create", "idle"]);
    std::fs::write(data_dir(&b, "idle").join("f"), vec![7u8; 51_200]).unwrap();
    let writer = inspect(&b, "writer")["Id"].as_str().unwrap().to_string();
    wait_for_file(&b.path().join("containers").join(&writer).join("diff/done"));

    let busybox_size = inspect(&b, "busybox")["Size"].as_u64().unwrap();
    let derived_size = inspect(&b, "derived:1")["Size"].as_u64().unwrap();
    assert!(derived_size > busybox_size + 100_000);

    let table = b.ok(&["system", "df"]);
    assert_eq!(
        table.lines().next().unwrap(),
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    );
    let images = df_row(&table, "Images");
    assert_eq!(images[1..3], ["2", "1"]);
    // The shared busybox layer is counted once.
    assert_about(&images[3], derived_size, "images size");
    let containers = df_row(&table, "Containers");
    assert_eq!(containers[1..3], ["2", "1"]);
    assert!(parse_size(&containers[3]) >= 164.0 * 1024.0, "{table}");
    assert!(containers[4].ends_with("%)"), "{table}");
    assert!(parse_size(&containers[4]) >= 100.0 * 1024.0, "{table}");
    assert_eq!(
        df_row(&table, "Local Volumes"),
        ["Local Volumes", "2", "1", "358.4kB", "51.2kB (14%)"]
    );
    assert_eq!(
        df_row(&table, "Build Cache"),
        ["Build Cache", "0", "0", "0B", "0B"]
    );

    let verbose = b.ok(&["system", "df", "-v"]);
    let images = df_section(&verbose, "Images space usage:");
    assert_eq!(
        columns(images[0]),
        [
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS"
        ]
    );
    assert_aligned(&images);
    let busybox_row = df_row(&verbose, "busybox ");
    assert_eq!(busybox_row.last().unwrap(), "2", "maker and writer");
    assert_about(&busybox_row[5], busybox_size, "busybox shared size");
    assert_eq!(busybox_row[6], "0B");
    let derived_row = df_row(&verbose, "derived ");
    assert_eq!(derived_row[1], "1");
    assert_eq!(derived_row.last().unwrap(), "0");
    assert_about(
        &derived_row[6],
        derived_size - busybox_size,
        "derived unique size",
    );

    let containers = df_section(&verbose, "Containers space usage:");
    assert_eq!(
        columns(containers[0]),
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "LOCAL VOLUMES",
            "SIZE",
            "CREATED",
            "STATUS",
            "NAMES"
        ]
    );
    assert_aligned(&containers);
    let writer_row = containers.iter().find(|l| l.ends_with(" writer")).unwrap();
    let cols: Vec<&str> = writer_row
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cols[0], &writer[..12]);
    assert_eq!(cols[3], "1", "local volumes of writer: {writer_row}");
    assert!(cols[6].starts_with("Up "), "{writer_row}");

    let volumes = df_section(&verbose, "Local Volumes space usage:");
    assert_eq!(volumes[0], "VOLUME NAME   LINKS     SIZE");
    assert_eq!(
        volumes[1].split_whitespace().collect::<Vec<_>>(),
        ["dfvol", "1", "307.2kB"]
    );
    assert_eq!(
        volumes[2].split_whitespace().collect::<Vec<_>>(),
        ["idle", "0", "51.2kB"]
    );
    assert!(verbose.contains("\nBuild cache usage: 0B\n"), "{verbose}");
    assert_eq!(
        dir_apparent_size(&data_dir(&b, "dfvol")),
        307_200,
        "the volume's real content"
    );

    let formatted = b.ok(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]);
    assert_eq!(
        formatted,
        "Images=2\nContainers=2\nLocal Volumes=2\nBuild Cache=0"
    );
}

#[test]
fn container_and_system_prune_remove_only_what_is_unused() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "alive",
        "-v",
        "/anon-alive",
        "busybox",
        "sleep",
        "1000",
    ]);
    b.ok(&[
        "run",
        "--name",
        "done1",
        "--label",
        "prune=yes",
        "busybox",
        "true",
    ]);
    b.ok(&[
        "run",
        "--name",
        "done2",
        "-v",
        "/anon-done",
        "-v",
        "named:/n",
        "busybox",
        "true",
    ]);
    let done1 = inspect(&b, "done1")["Id"].as_str().unwrap().to_string();
    let done2 = inspect(&b, "done2")["Id"].as_str().unwrap().to_string();
    let anon_done = mount_at(&b, "done2", "/anon-done")["Name"]
        .as_str()
        .unwrap()
        .to_string();
    let anon_alive = mount_at(&b, "alive", "/anon-alive")["Name"]
        .as_str()
        .unwrap()
        .to_string();

    // Declining the prompt removes nothing.
    let r = b.run_with_stdin(&["container", "prune"], b"n\n");
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with(
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    ));
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 3);

    let out = b.ok(&["container", "prune", "-f", "--filter", "label=prune=yes"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>()[..3],
        ["Deleted Containers:", done1.as_str(), ""]
    );
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with("Total reclaimed space: "));
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 2);
    let r = b.fails(&["container", "prune", "-f", "--filter", "bogus=1"]);
    assert!(r.stderr.contains("Invalid filter 'bogus'"), "{}", r.stderr);

    let out = b.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(
        out.contains(&format!("Deleted Containers:\n{done2}\n\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("Deleted Volumes:\n{anon_done}\n\n")),
        "{out}"
    );
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with("Total reclaimed space: "));
    // The running container, its anonymous volume, the named volume and the
    // tagged image stay.
    assert_eq!(b.ok(&["ps", "-q"]).lines().count(), 1);
    let mut want = vec![anon_alive, "named".to_string()];
    want.sort();
    assert_eq!(volume_names(&b), want);
    assert!(b.ok(&["images", "-q"]).lines().count() == 1);
    assert_eq!(
        b.ok(&["system", "prune", "-f"]),
        "Total reclaimed space: 0B"
    );
}

#[test]
fn version_and_info_answer_without_a_daemon() {
    let b = Berth::with_busybox();
    b.ok(&["run", "-d", "--name", "up", "busybox", "sleep", "1000"]);
    b.ok(&["create", "--name", "idle", "busybox"]);
    let version = b.ok(&["version"]);
    assert!(version.starts_with("Client:\n Version:"), "{version}");
    assert!(version.contains("\nServer: berth\n Engine:\n"), "{version}");
    assert_eq!(
        b.ok(&["version", "--format", "{{.Server.Version}}"]),
        env!("CARGO_PKG_VERSION")
    );
    let info = b.ok(&["info"]);
    assert!(
        info.contains("\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n"),
        "{info}"
    );
    assert!(info.contains(" Storage Driver: overlay2\n"), "{info}");
    assert!(
        info.contains(&format!(" Docker Root Dir: {}", b.path().display())),
        "{info}"
    );
    assert_eq!(
        b.ok(&[
            "info",
            "--format",
            "{{.ContainersRunning}}/{{.Containers}} {{.Driver}}"
        ]),
        "1/2 overlay2"
    );
    assert_eq!(b.ok(&["system", "info", "--format", "{{.Images}}"]), "1");
}

// ------------------------------------------------------------------ §8 network storage (NFS)

fn kernel_has_filesystem(name: &str) -> bool {
    std::fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().last() == Some(name))
}

/// What the test started of the NFS server, undone on drop (also on failure).
struct NfsServer {
    export: tempfile::TempDir,
    started_rpcbind: bool,
    started_nfsd: bool,
}

impl NfsServer {
    /// Exports a fresh directory to 127.0.0.1 only, starting rpcbind and the
    /// kernel server (Debian's nfs-kernel-server) if they are not running.
    fn start() -> NfsServer {
        let export = host_dir();
        let running = |what: &str| {
            Command::new("pgrep")
                .args(["-x", what])
                .status()
                .is_ok_and(|s| s.success())
        };
        let mut server = NfsServer {
            export,
            started_rpcbind: false,
            started_nfsd: false,
        };
        if !running("rpcbind") {
            sh("/etc/init.d/rpcbind start");
            server.started_rpcbind = true;
        }
        sh(&format!(
            "exportfs -o rw,no_root_squash,no_subtree_check,insecure,fsid={} 127.0.0.1:{}",
            std::process::id(),
            server.export.path().display()
        ));
        if !running("nfsd") {
            sh("/etc/init.d/nfs-kernel-server start && rpc.nfsd 2");
            server.started_nfsd = true;
        }
        server
    }
}

impl Drop for NfsServer {
    fn drop(&mut self) {
        let _ = Command::new("exportfs")
            .arg("-u")
            .arg(format!("127.0.0.1:{}", self.export.path().display()))
            .status();
        if self.started_nfsd {
            let _ = Command::new("/etc/init.d/nfs-kernel-server")
                .arg("stop")
                .status();
        }
        if self.started_rpcbind {
            let _ = Command::new("/etc/init.d/rpcbind").arg("stop").status();
        }
    }
}

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mounted_at(path: &Path) -> bool {
    common::mounts_under(path)
        .iter()
        .any(|m| Path::new(m) == path)
}

/// §8 / issue 4 §5: the local driver's NFS options mount real network storage,
/// on first use, and unmount it after the last user stops. On a kernel built
/// without NFS (CONFIG_NETWORK_FILESYSTEMS unset, as on the project's VMs)
/// the same run must fail with Docker's clear error and leave nothing mounted.
#[test]
fn an_nfs_volume_mounts_real_network_storage() {
    let b = Berth::with_busybox();
    let kernel_nfs = kernel_has_filesystem("nfs") && kernel_has_filesystem("nfsd");
    let server = kernel_nfs.then(NfsServer::start);
    let export = server.as_ref().map_or_else(
        || PathBuf::from("/export/path"),
        |s| s.export.path().to_path_buf(),
    );
    assert_eq!(
        b.ok(&[
            "volume",
            "create",
            "--driver",
            "local",
            "--opt",
            "type=nfs",
            "--opt",
            "o=addr=127.0.0.1,rw",
            "--opt",
            &format!("device=:{}", export.display()),
            "nfsvol",
        ]),
        "nfsvol"
    );
    let data = data_dir(&b, "nfsvol");
    assert!(!mounted_at(&data), "mounted before first use");

    if kernel_nfs {
        b.ok(&[
            "run",
            "-d",
            "--name",
            "n1",
            "-v",
            "nfsvol:/mnt",
            "busybox",
            "sleep",
            "1000",
        ]);
        b.ok(&[
            "run",
            "-d",
            "--name",
            "n2",
            "-v",
            "nfsvol:/mnt",
            "busybox",
            "sleep",
            "1000",
        ]);
        b.ok(&["exec", "n1", "sh", "-c", "echo over-nfs > /mnt/written"]);
        assert_eq!(
            std::fs::read_to_string(export.join("written")).unwrap(),
            "over-nfs\n"
        );
        assert_eq!(b.ok(&["exec", "n2", "cat", "/mnt/written"]), "over-nfs");
        assert!(mounted_at(&data));
        b.ok(&["stop", "-t", "0", "n1"]);
        assert!(mounted_at(&data), "unmounted while n2 still uses it");
        b.ok(&["stop", "-t", "0", "n2"]);
        assert!(
            !mounted_at(&data),
            "still mounted after the last user stopped"
        );
        b.ok(&["rm", "n1", "n2"]);
        b.ok(&["volume", "rm", "nfsvol"]);
        // Removing the volume never deletes the data on the server.
        assert!(export.join("written").exists());
    } else {
        eprintln!(
            "note: this kernel has no NFS client/server (CONFIG_NETWORK_FILESYSTEMS unset); \
             checking the failure path"
        );
        let r = b.run(&[
            "run",
            "--name",
            "n1",
            "-v",
            "nfsvol:/mnt",
            "busybox",
            "true",
        ]);
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "error while mounting volume '{}': failed to mount local volume: mount :{}:{}, data: addr=127.0.0.1,rw",
                data.display(),
                export.display(),
                data.display()
            )) && r.stderr.contains("No such device"),
            "{}",
            r.stderr
        );
        assert!(!mounted_at(&data));
        b.ok(&["rm", "n1"]);
        b.ok(&["volume", "rm", "nfsvol"]);
    }
    drop(server);
}
