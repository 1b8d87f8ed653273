//! Mount options end to end (SCENARIOS.md §6): binds hiding image
//! directories, single-file binds, read-only mounts all the way down,
//! `--volumes-from` and tmpfs.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::storage::*;
use common::Berth;
use serde_json::json;

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
