//! Crash safety of the content store's writers that talk to the outside
//! or run containers: `pull` (from a loopback `docker-registry`) and
//! `build` crashed at each of their named points (see crash.rs for the
//! harness); then the next command works, `system check` finds nothing,
//! nothing is left (step containers, mounts, staging, layers, blobs), and
//! the same pull or build succeeds. And images damaged on disk (a layer
//! directory gone, a blob that no longer matches its digest): found by
//! `system check`, removed by `--repair`, containers kept.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::crash::{assert_clean, assert_gone_from_host, killed_at, CRASH_AT};
use common::registry::{Registry, RegistryOptions};
use common::{mounts_under, Berth, Run};

/// Where registry commands find (no) credentials and CAs: a temp dir.
struct Config {
    dir: tempfile::TempDir,
}

impl Config {
    fn new() -> Config {
        Config {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, b: &Berth, at: Option<&str>, args: &[&str]) -> Run {
        let mut cmd = b.command(args);
        cmd.env("DOCKER_CONFIG", self.dir.path().join("docker"))
            .env("BERTH_CERTS_D", self.dir.path().join("certs.d"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(at) = at {
            cmd.env(CRASH_AT, at);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, b: &Berth, args: &[&str]) -> String {
        let r = self.run(b, None, args);
        assert_eq!(r.code, 0, "berth {args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout
    }
}

/// Entries of `dir`, hidden ones (the layers' lock dir) left out.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Nothing staged is left in `tmp/` (no process of the root runs).
fn assert_no_staging(b: &Berth, at: &str) {
    let left: Vec<String> = entries(&b.path().join("tmp"))
        .into_iter()
        .filter(|n| n != "unowned")
        .collect();
    assert_eq!(left, Vec::<String>::new(), "{at}: staging left");
}

#[test]
fn pull_crashed_at_any_point_is_redone_cleanly() {
    let reg = Registry::start(RegistryOptions::default());
    let cfg = Config::new();
    let image = format!("{}/three-layers:latest", reg.host);
    // busybox plus two layers of its own, pushed to the registry.
    let src = Berth::with_busybox();
    src.ok(&["run", "--name", "ma", "busybox", "sh", "-c", "echo a > /a"]);
    src.ok(&["commit", "ma", "step-a"]);
    src.ok(&["run", "--name", "mb", "step-a", "sh", "-c", "echo b > /b"]);
    src.ok(&["commit", "mb", &image]);
    cfg.ok(&src, &["push", &image]);

    for point in ["after-blob", "after-unpack", "before-rows"] {
        let at = format!("pull:{point}");
        for next in ["pull", "repair"] {
            let dst = Berth::new();
            let r = cfg.run(&dst, Some(&at), &["pull", &image]);
            assert_eq!(r.code, -1, "{at}: pull was not killed: {}", r.stderr);
            // The next command: no image, whatever was stored.
            assert_eq!(dst.ok(&["images", "-q"]), "", "{at}");
            let kept = entries(&dst.path().join("blobs/sha256"));
            if point == "after-blob" {
                // The verified blob is kept for the next pull, and only
                // that is what `system check` finds.
                assert!(!kept.is_empty() && kept.len() < 3, "{at}: {kept:?}");
                let r = dst.run(&["system", "check"]);
                assert_eq!(r.code, 1, "{at}");
                assert!(
                    r.stdout
                        .lines()
                        .all(|l| l.contains("is referred to by nothing")),
                    "{at}: {}",
                    r.stdout
                );
            } else {
                // An unpack killed before its commit is collected at once.
                assert_eq!(kept, Vec::<String>::new(), "{at}: blobs left");
                assert_clean(&dst, &at);
            }
            assert_eq!(entries(&dst.path().join("layers")), Vec::<String>::new());
            if next == "repair" {
                let r = dst.run(&["system", "check", "--repair"]);
                assert_eq!(r.code, 0, "{at}: {}", r.stdout);
                assert_clean(&dst, &at);
                continue;
            }
            let out = cfg.ok(&dst, &["pull", &image]);
            if point == "after-blob" {
                for blob in &kept {
                    let short = &blob[..12];
                    assert!(
                        out.contains(&format!("{short}: Download complete"))
                            && !out.contains(&format!("{short}: Pulling fs layer")),
                        "{at}: the kept blob was fetched again: {out}"
                    );
                }
            }
            assert_clean(&dst, &at);
            assert_no_staging(&dst, &at);
            let r = dst.ok(&["run", "--rm", &image, "cat", "/a", "/b"]);
            assert_eq!(r, "a\nb", "{at}");
            assert_eq!(entries(&dst.path().join("layers")).len(), 3, "{at}");
        }
    }
}

/// A step container's ID, read from the root (not through berth, whose
/// next command would remove it).
fn step_containers(b: &Berth) -> Vec<String> {
    entries(&b.path().join("containers"))
}

#[test]
fn build_crashed_at_any_point_leaves_no_step_container() {
    let b = Berth::with_busybox();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("f"), "from the context\n").unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM busybox\nRUN echo one > /one\nCOPY f /f\nRUN echo two > /two && sleep 1\n",
    )
    .unwrap();
    let ctx = context.path().to_str().unwrap();
    for point in [
        "step-running",
        "before-rows",
        "after-step-commit",
        "before-tag",
    ] {
        let at = format!("build:{point}");
        killed_at(&b, &at, &["build", "-t", "built", ctx]);
        let steps = step_containers(&b);
        if point != "before-tag" {
            assert_eq!(steps.len(), 1, "{at}: {steps:?}");
        }
        // The next command finds the dead build's step container gone.
        assert_eq!(b.ok(&["ps", "-aq"]), "", "{at}");
        for id in &steps {
            assert_gone_from_host(&b, id, &at);
        }
        assert_eq!(step_containers(&b), Vec::<String>::new(), "{at}");
        assert_clean(&b, &at);
        assert_no_staging(&b, &at);
        // The same build again succeeds (from the cache where it got).
        b.ok(&["build", "-t", "built", ctx]);
        let r = b.ok(&["run", "--rm", "built", "cat", "/one", "/f", "/two"]);
        assert_eq!(r, "one\nfrom the context\ntwo", "{at}");
        assert_clean(&b, &at);
        assert_eq!(mounts_under(b.path()), Vec::<String>::new(), "{at}");
        b.ok(&["rmi", "built"]);
    }
}

/// The top layer of `image`: its directory name and its blob's digest.
fn top_layer(b: &Berth, image: &str) -> (String, String) {
    let id = b.ok(&["inspect", "-f", "{{.Id}}", image]);
    let conn = berth_store::rusqlite::Connection::open(b.path().join("berth.db")).unwrap();
    conn.query_row(
        "SELECT l.dir, l.blob_digest FROM image_layers il JOIN layers l \
         ON l.chain_id = il.chain_id WHERE il.image_id = ?1 ORDER BY il.position DESC LIMIT 1",
        [&id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn damaged_images_are_found_and_removed_by_repair_containers_kept() {
    let b = Berth::with_busybox();
    for (name, file) in [("lost", "one"), ("corrupt", "two")] {
        let line = format!("echo {file} > /{file}");
        b.ok(&["run", "--name", "maker", "busybox", "sh", "-c", &line]);
        b.ok(&["commit", "maker", name]);
        b.ok(&["rm", "maker"]);
    }
    // A container of `corrupt`, made before the damage.
    b.ok(&["create", "--name", "user", "corrupt", "cat", "/two"]);
    let (lost_dir, _) = top_layer(&b, "lost");
    let (_, corrupt_blob) = top_layer(&b, "corrupt");
    std::fs::remove_dir_all(b.path().join("layers").join(&lost_dir)).unwrap();
    let blob = b
        .path()
        .join("blobs/sha256")
        .join(corrupt_blob.strip_prefix("sha256:").unwrap());
    std::fs::write(&blob, b"not the layer any more").unwrap();

    let r = b.run(&["system", "check"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let has = |out: &str, needle: &str| out.lines().any(|l| l.contains(needle));
    assert!(has(&r.stdout, "has no directory"), "{}", r.stdout);
    assert!(
        has(
            &r.stdout,
            &format!("blob {corrupt_blob} does not match its digest")
        ),
        "{}",
        r.stdout
    );
    for name in ["lost:latest", "corrupt:latest"] {
        assert!(
            has(&r.stdout, &format!("({name}) is damaged")),
            "{name}: {}",
            r.stdout
        );
    }
    assert!(!has(&r.stdout, "busybox"), "{}", r.stdout);
    // --quick does not hash blobs.
    let r = b.run(&["system", "check", "--quick"]);
    assert!(!has(&r.stdout, "corrupt"), "{}", r.stdout);

    // Repair removes both images; the corrupt blob stays reported while
    // the container made from it uses it.
    let r = b.run(&["system", "check", "--repair"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for line in r.stdout.lines() {
        let kept = line.contains(&format!("blob {corrupt_blob}"));
        assert!(
            line.ends_with(if kept { "(not repaired)" } else { "(repaired)" }),
            "{}",
            r.stdout
        );
    }
    assert_eq!(b.ok(&["images", "--format", "{{.Repository}}"]), "busybox");
    // The container keeps its own state and still runs.
    assert_eq!(b.ok(&["start", "-a", "user"]), "two");
    b.ok(&["rm", "user"]);
    assert_clean(&b, "damaged images");
    assert!(!blob.exists());
    b.ok(&["run", "--rm", "busybox", "true"]);
}
