//! Logging drivers as dockerd has them: json-file rotated at `max-size`
//! into `max-file` files (gzipped with `compress`), read back across the
//! rotated files; `local`; `none`, which keeps nothing and which `logs`
//! refuses; drivers berth lacks and bad options refused before anything is
//! created; the defaults of `daemon.json`. The rotation runs in dockerd too
//! when it answers, and both must keep the same lines.

mod common;

use std::path::{Path, PathBuf};

use common::{docker, dockerd_answers, Berth};

/// 300 lines of ~100 bytes as json-file entries: 30 KB of log.
const CHATTY: &str =
    "i=0; while [ $i -lt 300 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done";

/// The files of the log whose live file is `live`: (name suffix, size).
fn log_files(live: &Path) -> Vec<(String, u64)> {
    let dir = live.parent().unwrap();
    let name = live.file_name().unwrap().to_str().unwrap();
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.to_string();
            let suffix = n.strip_prefix(name)?.to_string();
            Some((suffix, e.metadata().ok()?.len()))
        })
        .collect();
    files.sort();
    files
}

fn log_path(b: &Berth, name: &str) -> PathBuf {
    PathBuf::from(b.ok(&["inspect", "-f", "{{.LogPath}}", name]))
}

#[test]
fn json_file_rotates_at_max_size_and_logs_reads_across_the_files() {
    let b = Berth::with_busybox();
    let opts = ["--log-opt", "max-size=1k", "--log-opt", "max-file=3"];
    let mut run = vec!["run", "--name", "rot"];
    run.extend(opts);
    run.extend(["busybox", "sh", "-c", CHATTY]);
    b.ok(&run);
    let files = log_files(&log_path(&b, "rot"));
    let suffixes: Vec<&str> = files.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(suffixes, ["", ".1", ".2"], "{files:?}");
    for (suffix, size) in &files {
        // A file ends at most one entry past max-size.
        assert!(*size < 1000 + 200, "{suffix}: {size} bytes");
    }
    let logs = b.ok(&["logs", "rot"]);
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"line-299-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    );
    let numbers: Vec<usize> = lines
        .iter()
        .map(|l| l.split('-').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "in order: {numbers:?}"
    );
    assert!(
        lines.len() < 40,
        "only what the 3 files hold: {}",
        lines.len()
    );
    assert_eq!(b.ok(&["logs", "--tail", "3", "rot"]).lines().count(), 3);

    if dockerd_answers() {
        let mut args = vec!["run", "--name", "berth-test-rotation"];
        args.extend(opts);
        args.extend(["busybox", "sh", "-c", CHATTY]);
        let _ = docker(&["rm", "-f", "berth-test-rotation"]);
        docker(&args).expect("docker run");
        let theirs = docker(&["logs", "berth-test-rotation"]).unwrap();
        docker(&["rm", "berth-test-rotation"]);
        assert_eq!(
            logs.lines().count(),
            theirs.lines().count(),
            "dockerd keeps:\n{theirs}"
        );
    }

    // compress: the rotated files are gzipped, and still read.
    b.ok(&[
        "run",
        "--name",
        "gz",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        "--log-opt",
        "compress=true",
        "busybox",
        "sh",
        "-c",
        CHATTY,
    ]);
    let live = log_path(&b, "gz");
    let suffixes: Vec<String> = log_files(&live).into_iter().map(|(s, _)| s).collect();
    assert_eq!(suffixes, ["", ".1.gz", ".2.gz"]);
    let rotated = std::fs::read(format!("{}.1.gz", live.display())).unwrap();
    assert_eq!(&rotated[..2], &[0x1f, 0x8b], "gzip");
    assert_eq!(b.ok(&["logs", "gz"]).lines().count(), lines.len());
}

#[test]
fn logs_follows_across_rotations() {
    let b = Berth::with_busybox();
    // A rotation every ~7 lines (70 ms), several between two looks of the
    // follower; 20 files keep ~1.4 s of output for a slow follower.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "fol",
        "--log-opt",
        "max-size=500",
        "--log-opt",
        "max-file=20",
        "busybox",
        "sh",
        "-c",
        "sleep 1; i=0; while [ $i -lt 200 ]; do echo l$i; i=$((i+1)); usleep 10000; done",
    ]);
    let logs = b.ok(&["logs", "-f", "fol"]);
    let expected: Vec<String> = (0..200).map(|i| format!("l{i}")).collect();
    assert_eq!(logs.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn none_keeps_nothing_and_local_is_read_back() {
    let b = Berth::with_busybox();
    // The output (not the command: it is in the container's config).
    let said = b.ok(&[
        "run",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo zq-$((6*7))-qz",
    ]);
    assert_eq!(said, "zq-42-qz", "an attached client still gets it");
    let r = b.fails(&["logs", "quiet"]);
    assert!(
        r.stderr
            .contains("configured logging driver does not support reading"),
        "{}",
        r.stderr
    );
    assert_eq!(log_path(&b, "quiet"), PathBuf::from(""));
    let dir = b.path();
    let found = walk(dir).into_iter().any(|p| {
        p.is_file() && std::fs::read(&p).is_ok_and(|d| d.windows(8).any(|w| w == b"zq-42-qz"))
    });
    assert!(!found, "the output was written somewhere");

    b.ok(&[
        "run",
        "--name",
        "loc",
        "--log-driver",
        "local",
        "busybox",
        "echo",
        "kept",
    ]);
    assert_eq!(b.ok(&["logs", "loc"]), "kept");
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", "loc"]),
        r#"{"Type":"local","Config":{}}"#
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn unknown_drivers_and_bad_options_are_refused_before_create() {
    let b = Berth::with_busybox();
    for (args, words) in [
        (
            &["--log-driver", "nope"][..],
            "error looking up logging plugin nope",
        ),
        (&["--log-driver", "syslog"][..], "not supported by berth"),
        (
            &["--log-opt", "colour=1"][..],
            "unknown log opt 'colour' for json-file log driver",
        ),
        (&["--log-opt", "max-size=big"][..], "invalid size: 'big'"),
        (
            &["--log-opt", "compress=true"][..],
            "compress cannot be true when max-file is less than 2 or max-size is not set",
        ),
        (
            &["--log-driver", "none", "--log-opt", "max-size=1k"][..],
            "invalid logging opts for driver none",
        ),
    ] {
        let mut cmd = vec!["create"];
        cmd.extend_from_slice(args);
        cmd.push("busybox");
        let r = b.fails(&cmd);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "", "nothing was created");
}

#[test]
fn daemon_json_gives_the_defaults() {
    let b = Berth::with_busybox();
    b.daemon_config(serde_json::json!({
        "log-driver": "json-file",
        "log-opts": {"max-size": "1k", "max-file": "2"}
    }));
    b.ok(&[
        "run",
        "--name",
        "dflt",
        "--log-opt",
        "max-file=3",
        "busybox",
        "sh",
        "-c",
        CHATTY,
    ]);
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{json .HostConfig.LogConfig.Config}}",
            "dflt"
        ]),
        r#"{"max-file":"3","max-size":"1k"}"#
    );
    let suffixes: Vec<String> = log_files(&log_path(&b, "dflt"))
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(suffixes, ["", ".1", ".2"]);
}
