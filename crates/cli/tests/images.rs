//! `berth images|import|load|save|rmi|tag|history|image ...` end to end, as root,
//! with the real binary, real tars and (when reachable) the real dockerd.

mod common;

use std::path::Path;
use std::process::Command;

use common::{busybox_tar, Berth};

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// The store holds nothing: no image, no layer dir, no blob, no temp file.
fn assert_empty_store(b: &Berth) {
    assert_eq!(b.ok(&["images", "-q"]), "");
    for dir in ["layers", "blobs/sha256", "tmp"] {
        assert_eq!(
            names(&b.path().join(dir)),
            Vec::<String>::new(),
            "{dir} not empty"
        );
    }
}

fn assert_one_line_error(r: &common::Run, needle: &str) {
    assert_ne!(r.code, 0);
    let err = r.stderr.trim_end();
    assert!(!err.contains('\n'), "multi-line error: {err}");
    assert!(err.starts_with("Error"), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

fn inspect(b: &Berth, name: &str, template: &str) -> String {
    b.ok(&["image", "inspect", "-f", template, name])
}

#[test]
fn import_twice_shares_one_layer_and_lists_like_docker() {
    let b = Berth::new();
    let tar = busybox_tar().to_str().unwrap();
    let id1 = b.ok(&["import", "-c", "CMD [\"sh\"]", "-m", "first", tar, "bb:one"]);
    let id2 = b.ok(&["import", "--change", "ENV A=1", tar, "bb:two"]);
    assert!(id1.starts_with("sha256:") && id1.len() == 71, "{id1}");
    assert_ne!(id1, id2);
    assert_eq!(
        names(&b.path().join("layers")).len(),
        1,
        "one layer dir for both images"
    );

    let table = b.ok(&["images"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("REPOSITORY   TAG"), "{header}");
    for col in ["IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "{header}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows
        .iter()
        .any(|r| r.starts_with("bb ") && r.contains(" one ") && r.contains(&id1[7..19])));
    assert!(
        rows.iter().all(|r| r.contains("ago") && r.contains("MB")),
        "{table}"
    );

    let quiet = b.ok(&["images", "-q"]);
    assert_eq!(quiet.lines().count(), 2);
    assert!(quiet.lines().all(|l| l.len() == 12));
    let full = b.ok(&["images", "--no-trunc", "-q"]);
    assert!(full.contains(&id1) && full.contains(&id2));
    let formatted = b.ok(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
        "bb:one",
    ]);
    assert_eq!(formatted, format!("bb:one {}", &id1[7..19]));
    assert_eq!(
        b.ok(&["images", "-q", "-f", "reference=bb:t*"]),
        &id2[7..19]
    );
    assert_eq!(b.ok(&["images", "-q", "-f", "dangling=true"]), "");
    let digests = b.ok(&["images", "--digests"]);
    assert!(
        digests.lines().next().unwrap().contains("DIGEST"),
        "{digests}"
    );

    assert_eq!(
        inspect(
            &b,
            "bb:one",
            "{{json .Config.Cmd}} {{.Comment}} {{.Architecture}} {{.Os}}"
        ),
        "[\"sh\"] first amd64 linux"
    );
    assert_eq!(
        inspect(&b, "bb:two", "{{json .Config.Env}} {{.Comment}}"),
        "[\"A=1\"] Imported from -"
    );
    assert_eq!(
        inspect(&b, "bb:one", "{{index .RootFS.Layers 0}}"),
        inspect(&b, "bb:two", "{{index .RootFS.Layers 0}}")
    );

    let history = b.ok(&["history", "bb:one"]);
    let mut h = history.lines();
    assert!(h.next().unwrap().starts_with("IMAGE          CREATED"));
    let row = h.next().unwrap();
    assert!(
        row.starts_with(&id1[7..19]) && row.ends_with("first"),
        "{row}"
    );
    assert_eq!(b.ok(&["history", "-q", "--no-trunc", "bb:one"]), id1);
    let raw = b.ok(&["history", "-H=false", "--format", "{{.Size}}", "bb:one"]);
    assert!(raw.parse::<u64>().unwrap() > 1_000_000, "{raw}");

    // tag, then rmi by tag only untags while another tag remains.
    b.ok(&["tag", "bb:one", "other/name:x"]);
    assert_eq!(b.ok(&["rmi", "other/name:x"]), "Untagged: other/name:x");
    assert_eq!(
        b.ok(&["rmi", "bb:one"]),
        format!("Untagged: bb:one\nDeleted: {id1}")
    );
    let out = b.ok(&["image", "rm", &id2[7..19]]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Untagged: bb:two");
    assert_eq!(lines[1], format!("Deleted: {id2}"));
    assert!(
        lines[2].starts_with("Deleted: sha256:"),
        "the layer goes too: {out}"
    );
    assert_empty_store(&b);
}

#[test]
fn save_and_load_round_trip_preserves_identity() {
    let src = Berth::with_busybox();
    let id = inspect(&src, "busybox", "{{.Id}}");
    let layers = inspect(&src, "busybox", "{{json .RootFS.Layers}}");
    let archive = src.path().join("saved.tar");
    src.ok(&["save", "-o", archive.to_str().unwrap(), "busybox"]);

    let dst = Berth::new();
    assert_eq!(
        dst.ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: busybox:latest"
    );
    assert_eq!(inspect(&dst, "busybox:latest", "{{.Id}}"), id);
    assert_eq!(
        inspect(&dst, "busybox:latest", "{{json .RootFS.Layers}}"),
        layers
    );
    assert_eq!(inspect(&dst, "busybox", "{{json .Config.Cmd}}"), "[\"sh\"]");

    // Through stdin and stdout, and by ID (no tag recorded).
    let out = src.command(&["save", &id]).output().unwrap();
    assert!(out.status.success());
    let other = Berth::new();
    let r = other.run_with_stdin(&["load", "-q"], &out.stdout);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("Loaded image ID: {id}"));
    assert_eq!(
        other.ok(&["images", "-q", "--filter", "dangling=true"]),
        &id[7..19]
    );
    let pruned = other.ok(&["image", "prune", "-f"]);
    assert!(
        pruned.starts_with(&format!("Deleted Images:\ndeleted: {id}")),
        "{pruned}"
    );
    // docker image prune prints go-units HumanSize: 4 significant digits.
    assert!(
        pruned.contains("Total reclaimed space: 1.986MB"),
        "{pruned}"
    );
    assert_empty_store(&other);
}

#[test]
fn bad_input_fails_cleanly() {
    let b = Berth::new();
    let missing = b.run(&["import", "/nonexistent/rootfs.tar", "x"]);
    assert_one_line_error(&missing, "/nonexistent/rootfs.tar");
    assert_one_line_error(
        &b.run(&["load", "-i", "/nonexistent/image.tar"]),
        "/nonexistent/image.tar",
    );

    let tar = std::fs::read(busybox_tar()).unwrap();
    let r = b.run_with_stdin(&["import", "-", "cut"], &tar[..tar.len() / 3]);
    assert_one_line_error(&r, "");
    let r = b.run_with_stdin(&["load"], &tar);
    assert_one_line_error(&r, "neither manifest.json nor index.json");
    let saved = b.path().join("saved.tar");
    let src = Berth::with_busybox();
    src.ok(&["save", "-o", saved.to_str().unwrap(), "busybox"]);
    let bytes = std::fs::read(&saved).unwrap();
    std::fs::write(&saved, &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(
        &b.run(&["load", "-i", saved.to_str().unwrap()]),
        "invalid image archive",
    );
    let mut gz = Command::new("gzip")
        .arg("-1c")
        .arg(busybox_tar())
        .output()
        .unwrap()
        .stdout;
    let n = gz.len();
    gz[n / 2..n / 2 + 64].fill(0);
    // berth stops reading at the corruption, so hand it a file rather than a pipe.
    let corrupt = b.path().join("corrupt.tar.gz");
    std::fs::write(&corrupt, &gz).unwrap();
    assert_one_line_error(&b.run(&["import", corrupt.to_str().unwrap()]), "");
    // Refused before any input is read (so given as a file, not a pipe).
    let file = busybox_tar().to_str().unwrap();
    assert_one_line_error(&b.run(&["import", file, "Bad"]), "must be lowercase");
    assert_one_line_error(
        &b.run(&["import", "-c", "RUN x", file]),
        "run is not a valid change command",
    );
    assert_empty_store(&b);

    assert_one_line_error(&b.run(&["rmi", "nope"]), "No such image: nope:latest");
    assert_one_line_error(&b.run(&["history", "nope"]), "No such image: nope:latest");
    assert_one_line_error(&b.run(&["tag", "nope", "x"]), "No such image: nope:latest");
    assert_one_line_error(&b.run(&["image", "inspect", "nope"]), "No such image: nope");
    assert_one_line_error(&b.run(&["rmi", "a b"]), "invalid reference format");
    assert_one_line_error(
        &b.run(&["save", "-o", "/tmp/x.tar", "UPPER"]),
        "must be lowercase",
    );

    // An ambiguous prefix: import until two IDs share a first digit.
    let mut ids: Vec<String> = Vec::new();
    let clash = loop {
        let id = b
            .run_with_stdin(&["import", "-"], &tar)
            .stdout
            .trim()
            .to_string();
        let first = id[7..8].to_string();
        if ids.iter().any(|i| i[7..8] == first) {
            break first;
        }
        ids.push(id);
    };
    assert_one_line_error(
        &b.run(&["rmi", &clash]),
        "multiple images found with provided prefix",
    );
    assert_eq!(names(&b.path().join("layers")).len(), 1);
}

fn docker_reachable() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// berth's archives load and run in the real dockerd, and dockerd's load in
/// berth with the same identity. Runs whenever dockerd is reachable; with
/// BERTH_REQUIRE_DOCKER=1 an unreachable dockerd is a failure, not a skip.
#[test]
fn interoperates_with_real_docker() {
    if !docker_reachable() {
        assert!(
            std::env::var("BERTH_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "BERTH_REQUIRE_DOCKER=1 but `docker info` fails: start dockerd"
        );
        eprintln!("dockerd not reachable: interop test not run");
        return;
    }
    let tag = format!("berth-interop-{}:t", std::process::id());
    let b = Berth::new();
    b.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        "-c",
        "ENV X=1",
        busybox_tar().to_str().unwrap(),
        &tag,
    ]);
    let archive = b.path().join("out.tar");
    b.ok(&["save", "-o", archive.to_str().unwrap(), &tag]);
    let docker = |args: &[&str]| Command::new("docker").args(args).output().unwrap();
    let loaded = docker(&["load", "-i", archive.to_str().unwrap()]);
    assert!(
        loaded.status.success(),
        "docker load: {}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let cleanup = || {
        let _ = docker(&["rmi", "-f", &tag]);
    };
    let run = docker(&["run", "--rm", &tag, "/bin/busybox", "true"]);
    let d_inspect = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}} {{json .RootFS.Layers}} {{json .Config.Cmd}} {{json .Config.Env}}",
        &tag,
    ]);
    let saved = b.path().join("docker.tar");
    let d_save = docker(&["save", "-o", saved.to_str().unwrap(), &tag]);
    cleanup();
    assert!(
        run.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(d_save.status.success());
    let ours = b.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}} {{json .RootFS.Layers}} {{json .Config.Cmd}} {{json .Config.Env}}",
        &tag,
    ]);
    assert_eq!(String::from_utf8_lossy(&d_inspect.stdout).trim(), ours);

    // docker's own archive into a fresh berth root.
    let fresh = Berth::new();
    assert_eq!(
        fresh.ok(&["load", "-i", saved.to_str().unwrap()]),
        format!("Loaded image: {tag}")
    );
    assert_eq!(
        fresh.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}} {{json .RootFS.Layers}} {{json .Config.Cmd}} {{json .Config.Env}}",
            &tag
        ]),
        ours
    );
    assert_eq!(
        fresh.ok(&["image", "inspect", "-f", "{{json .Config}}", &tag]),
        b.ok(&["image", "inspect", "-f", "{{json .Config}}", &tag])
    );
}

/// `images` filters as dockerd applies them: keys ANDed, values of one key
/// ORed (`label` values ANDed); `reference` keeps only the matching tags;
/// `before`/`since` by creation time; `dangling=true` only untagged images.
/// Every case is checked against its expected answer and, when a dockerd
/// answers, against dockerd's answer for the same imports.
#[test]
fn list_filters_combine_as_dockerd_does() {
    let suffix = berth_store::new_id()[..8].to_string();
    let repo = |n: &str| format!("bt{suffix}/{n}");
    let tar = busybox_tar().to_str().unwrap().to_string();
    let b = Berth::new();
    let dockerd = common::dockerd_answers();
    let (first, second, third) = (repo("first:1"), repo("second:1"), repo("third:1"));
    let mine = format!("LABEL bt={suffix}");
    // Three images a second apart (before/since compare creation times),
    // plus a second tag and an untagged (dangling) image.
    let imports: [(&[&str], Option<&str>); 4] = [
        (&[&mine, "LABEL tier=web"], Some(&first)),
        (&[&mine, "LABEL tier=db"], Some(&second)),
        (&[&mine], Some(&third)),
        (&[&mine, "LABEL tier=web", "LABEL spare=1"], None),
    ];
    let mut made = Vec::new();
    for (changes, tag) in imports {
        let mut args = vec!["import"];
        for c in changes {
            args.extend(["-c", c]);
        }
        args.push(&tar);
        args.extend(tag);
        b.ok(&args);
        if dockerd {
            made.push(
                common::docker(&args)
                    .expect("docker import")
                    .trim()
                    .to_string(),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let extra = repo("first:2");
    b.ok(&["tag", &first, &extra]);
    if dockerd {
        common::docker(&["tag", &first, &extra]).unwrap();
    }
    let cases: [(Vec<String>, &[&str]); 7] = [
        (
            vec!["label=tier=web".into(), "dangling=false".into()],
            &["first:1", "first:2"],
        ),
        (
            vec![
                format!("reference=bt{suffix}/first:2"),
                "label=tier=web".into(),
            ],
            &["first:2"],
        ),
        (
            vec![
                format!("reference=bt{suffix}/first"),
                format!("reference=bt{suffix}/third"),
            ],
            &["first:1", "first:2", "third:1"],
        ),
        (
            vec![format!("since={first}"), "label=tier".into()],
            &["<none>:<none>", "second:1"],
        ),
        (
            vec![format!("before={third}"), format!("since={first}")],
            &["second:1"],
        ),
        (
            vec!["dangling=true".into(), "label=spare".into()],
            &["<none>:<none>"],
        ),
        (vec!["dangling=true".into(), "label=tier=db".into()], &[]),
    ];
    let failures = common::filter_failures(
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
        &format!("label=bt={suffix}"),
        &cases,
        &format!("bt{suffix}/"),
        dockerd,
        &|args| b.ok(args),
    );
    if dockerd {
        for r in [&first, &second, &third, &extra] {
            let _ = common::docker(&["rmi", r]);
        }
        for id in &made {
            let _ = common::docker(&["rmi", id]);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
