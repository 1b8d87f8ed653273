//! Regression tests for the container-escape patterns of OCI runtime CVEs
//! that berth's own inputs touch: each is refused or made harmless by berth
//! itself, whatever the runtime's version (`berth info` warns about a
//! vulnerable runtime).

mod common;

use std::path::Path;

use common::Berth;

/// An image made from busybox by running `script` in it (then committed).
fn image_with(b: &Berth, name: &str, script: &str, changes: &[&str]) {
    let id = b.ok(&["create", "busybox", "sh", "-c", script]);
    b.ok(&["start", "-a", &id]);
    let mut args = vec!["commit"];
    for change in changes {
        args.extend(["-c", change]);
    }
    args.extend([id.as_str(), name]);
    b.ok(&args);
    b.ok(&["rm", &id]);
}

/// Whether crun is installed (the default runtime then).
fn crun_installed() -> bool {
    ["/usr/bin/crun", "/usr/local/bin/crun", "/usr/sbin/crun"]
        .iter()
        .any(|p| Path::new(p).is_file())
}

fn refused(b: &Berth, args: &[&str], needle: &str) {
    let r = b.run(args);
    assert_ne!(r.code, 0, "{args:?} was not refused: {}", r.stdout);
    assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
}

#[test]
fn cve_2024_21626_working_directories_in_process_descriptors_are_refused() {
    let b = Berth::with_busybox();
    for cwd in [
        "/proc/self/fd/7",
        "/proc/thread-self/fd/8",
        "/dev/fd/7",
        "/proc/1/cwd",
    ] {
        refused(
            &b,
            &["run", "--rm", "-w", cwd, "busybox", "pwd"],
            "CVE-2024-21626",
        );
    }
    // Through a symlink the image made: WORKDIR and -w are resolved in-root.
    image_with(
        &b,
        "escape:cwd",
        "ln -s /proc/self/fd/7 /work && ln -s ../dev/fd /tmp/fds",
        &[],
    );
    refused(
        &b,
        &["run", "--rm", "-w", "/work", "escape:cwd", "pwd"],
        "CVE-2024-21626",
    );
    refused(
        &b,
        &["run", "--rm", "-w", "/tmp/fds/7", "escape:cwd", "pwd"],
        "CVE-2024-21626",
    );
    image_with(
        &b,
        "escape:workdir",
        "ln -s /proc/self/fd/7 /work",
        &["WORKDIR /work"],
    );
    refused(
        &b,
        &["run", "--rm", "escape:workdir", "pwd"],
        "CVE-2024-21626",
    );

    // exec into a running container, through a symlink it made itself.
    let id = b.ok(&["run", "-d", "busybox", "sleep", "300"]);
    b.ok(&["exec", &id, "ln", "-s", "/proc/self/fd/5", "/tmp/w"]);
    for cwd in ["/proc/self/fd/5", "/tmp/w", "/dev/fd/5"] {
        refused(&b, &["exec", "-w", cwd, &id, "pwd"], "CVE-2024-21626");
    }
    // Ordinary directories, /proc itself included, still work.
    assert_eq!(b.ok(&["exec", "-w", "/proc", &id, "pwd"]), "/proc");
    assert_eq!(
        b.ok(&["run", "--rm", "-w", "/proc/sys", "busybox", "pwd"]),
        "/proc/sys"
    );
}

#[test]
fn cve_2021_30465_a_mount_destination_symlinked_out_of_the_rootfs_lands_inside_it() {
    let b = Berth::with_busybox();
    let outside = tempfile::tempdir().unwrap();
    let outside_path = outside.path().to_str().unwrap();
    // /data names a host directory by absolute path (which the image has
    // too), /up climbs out with "..".
    let script = format!(
        "mkdir -p {outside_path}/a && ln -s {outside_path}/a /data \
         && ln -s ../../../../../../../..{outside_path}/b /up"
    );
    image_with(&b, "escape:mount", &script, &[]);
    // runc 1.1 resolves the destinations in the root and creates them there;
    // crun 1.8 (the default where installed) refuses a destination whose
    // in-root target is missing ("openat2 `up`: No such file or
    // directory"): harmless too, as the check of the host directory below
    // shows.
    if crun_installed() {
        let r = b.run(&[
            "--runtime",
            "crun",
            "run",
            "--rm",
            "-v",
            "v1:/data",
            "-v",
            "v2:/up",
            "escape:mount",
            "sh",
            "-c",
            "echo in > /data/f && echo in > /up/g && cat /data/f /up/g",
        ]);
        assert!(r.code == 0 || r.stderr.contains("openat2"), "{}", r.stderr);
    }
    let out = b.ok(&[
        "--runtime",
        "runc",
        "run",
        "--rm",
        "-v",
        "v1:/data",
        "-v",
        "v2:/up",
        "escape:mount",
        "sh",
        "-c",
        "echo in > /data/f && echo in > /up/g && cat /data/f /up/g",
    ]);
    assert_eq!(out, "in\nin");
    let volume = |name: &str| b.path().join("volumes").join(name).join("_data");
    assert!(volume("v1").join("f").exists() && volume("v2").join("g").exists());
    // cp into a stopped container mounts its volumes at their destinations
    // itself: in-root too.
    let id = b.ok(&["create", "-v", "v3:/data", "escape:mount", "true"]);
    let file = outside.path().join("../berth-escape-cp-source");
    std::fs::write(&file, "copied").unwrap();
    b.ok(&["cp", file.to_str().unwrap(), &format!("{id}:/data/h")]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        std::fs::read_to_string(volume("v3").join("h")).unwrap(),
        "copied"
    );
    let leaked: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(leaked.is_empty(), "the host directory got {leaked:?}");
}

#[test]
fn cve_2025_31133_and_52565_masked_paths_and_the_console_are_what_they_claim() {
    let b = Berth::with_busybox();
    let host = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(host.path(), "host secret\n").unwrap();
    // A /dev/null that is not the null device makes runc < 1.2.8 bind it
    // over the masked paths (/proc/keys would read the host file).
    let null = format!("{}:/dev/null", host.path().display());
    refused(
        &b,
        &[
            "--runtime",
            "runc",
            "run",
            "--rm",
            "-v",
            &null,
            "busybox",
            "cat",
            "/proc/keys",
        ],
        "CVE-2025-31133",
    );
    // crun 1.8 masks with its own null device: refused or harmless.
    if crun_installed() {
        let r = b.run(&[
            "--runtime",
            "crun",
            "run",
            "--rm",
            "-v",
            &null,
            "busybox",
            "cat",
            "/proc/keys",
        ]);
        assert!(!r.stdout.contains("host secret"), "{}", r.stdout);
    }
    // /dev/console with a terminal is the container's pseudo-terminal (major
    // 136 = 0x88), whatever was mounted there.
    let console = format!("{}:/dev/console", host.path().display());
    let major = b.ok(&[
        "run",
        "--rm",
        "-t",
        "-v",
        &console,
        "busybox",
        "stat",
        "-c",
        "%t",
        "/dev/console",
    ]);
    assert_eq!(major.trim(), "88");
    // Masked paths of an ordinary container pass the check, of course.
    assert_eq!(
        b.ok(&["run", "--rm", "busybox", "sh", "-c", "wc -c < /proc/keys"]),
        "0"
    );
}

#[test]
fn a_volume_directory_swapped_for_a_symlink_is_neither_copied_into_nor_mounted() {
    let b = Berth::with_busybox();
    let elsewhere = tempfile::tempdir().unwrap();
    let id = b.ok(&["create", "-v", "vol:/etc", "busybox", "ls", "/etc"]);
    let data = b.path().join("volumes/vol/_data");
    let moved = b.path().join("volumes/vol/moved");
    std::fs::rename(&data, &moved).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &data).unwrap();
    let r = b.run(&["start", "-a", &id]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("a symlink was put in place"),
        "{}",
        r.stderr
    );
    assert!(
        std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none(),
        "the image's /etc was copied to the host"
    );
    std::fs::remove_file(&data).unwrap();
    std::fs::rename(&moved, &data).unwrap();
    let listed = b.ok(&["start", "-a", &id]);
    assert!(listed.contains("passwd"), "{listed}");
    assert!(Path::new(&data).join("passwd").exists());
}
