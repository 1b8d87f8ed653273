//! `berth build`: real Dockerfiles, real RUN containers, real layers; the
//! resulting config compared with what dockerd's classic builder makes of the
//! same Dockerfile on the same busybox base (live when dockerd answers, and
//! against a recorded copy of its answer always).

mod common;

use std::process::Command;

use common::Berth;
use serde_json::Value;

/// Every instruction, three stages, `COPY --from`, ONBUILD triggers, globs,
/// `--chown`, ADD of a tar, ARG substitutions with defaults.
const EVERYTHING: &str = r#"# A multi-stage Dockerfile using every instruction.
ARG BASE=busybox:latest
ARG GREETING
FROM ${BASE} AS build
ARG GREETING=hello
ENV BUILD_DIR=/build
WORKDIR $BUILD_DIR
COPY src/ ./src/
RUN echo "$GREETING from build" > out.txt \
 # a comment inside a continuation
 && cat src/*.txt >> out.txt

FROM ${BASE} AS triggers
ONBUILD ENV TRIGGERED=yes
ONBUILD LABEL triggered.by=onbuild

FROM triggers
MAINTAINER berth tests
SHELL ["/bin/sh", "-c"]
ARG VERSION=1.0
ENV APP_HOME=/app \
    APP_VERSION=${VERSION} \
    FALLBACK=${UNSET:-fallback} \
    PRESENT=${VERSION:+set}
LABEL org.example.version="${APP_VERSION}" "org.example.name"=demo
COPY --from=build /build/out.txt $APP_HOME/out.txt
COPY --chown=nobody:nobody files/*.conf /etc/app/
ADD archive.tar /opt/
RUN ["/bin/sh", "-c", "test -f /opt/inside/a.txt && echo 'appuser:x:1000:1000::/app:/bin/sh' >> /etc/passwd"]
VOLUME /data /logs
EXPOSE 80 443/udp 8000-8001
USER appuser
WORKDIR /app
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD test -f /app/out.txt
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/out.txt"]
"#;

/// `docker image inspect -f '{{json .Config}}'` of EVERYTHING built by dockerd
/// 20.10.24 (DOCKER_BUILDKIT=0) with `--build-arg VERSION=2.0 --label from.cli=yes`.
const DOCKER_CONFIG: &str = r#"{"User":"appuser","ExposedPorts":{"443/udp":{},"80/tcp":{},"8000/tcp":{},"8001/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TRIGGERED=yes","APP_HOME=/app","APP_VERSION=2.0","FALLBACK=fallback","PRESENT=set"],"Entrypoint":["/bin/sh","-c"],"Cmd":["cat /app/out.txt"],"Volumes":{"/data":{},"/logs":{}},"WorkingDir":"/app","Labels":{"from.cli":"yes","org.example.name":"demo","org.example.version":"2.0","triggered.by":"onbuild"},"StopSignal":"SIGQUIT","Healthcheck":{"Test":["CMD-SHELL","test -f /app/out.txt"],"Interval":5000000000,"Timeout":2000000000,"Retries":3},"Shell":["/bin/sh","-c"]}"#;

const COMPARED: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "Volumes",
    "User",
    "WorkingDir",
    "ExposedPorts",
    "Labels",
    "StopSignal",
    "Healthcheck",
    "Shell",
    "OnBuild",
];

fn everything_context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::create_dir_all(p.join("files")).unwrap();
    std::fs::write(p.join("src/one.txt"), "src one\n").unwrap();
    std::fs::write(p.join("files/app.conf"), "listen 80\n").unwrap();
    std::fs::write(p.join("files/notes.txt"), "not a conf\n").unwrap();
    std::fs::write(p.join("secret.key"), "secret\n").unwrap();
    std::fs::write(p.join(".dockerignore"), "secret.key\n").unwrap();
    std::fs::write(p.join("Dockerfile"), EVERYTHING).unwrap();
    let tarsrc = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tarsrc.path().join("inside")).unwrap();
    std::fs::write(tarsrc.path().join("inside/a.txt"), "a\n").unwrap();
    let status = Command::new("tar")
        .arg("-C")
        .arg(tarsrc.path())
        .arg("-cf")
        .arg(p.join("archive.tar"))
        .arg("inside")
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn compared(config: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in COMPARED {
        let v = config.get(*key).cloned().unwrap_or(Value::Null);
        // Docker omits empty fields; berth prints them as null.
        out.insert(key.to_string(), v);
    }
    Value::Object(out)
}

fn config_of(b: &Berth, image: &str) -> Value {
    serde_json::from_str(&b.ok(&["image", "inspect", image, "--format", "{{json .Config}}"]))
        .unwrap()
}

fn docker_image_ids() -> std::collections::BTreeSet<String> {
    let out = Command::new("docker")
        .args(["images", "-aq", "--no-trunc"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn docker_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn multi_stage_build_config_equals_dockers() {
    let b = Berth::with_busybox();
    let ctx = everything_context();
    let ctx_path = ctx.path().to_str().unwrap();
    let out = b.ok(&[
        "build",
        "--build-arg",
        "VERSION=2.0",
        "--label",
        "from.cli=yes",
        "-t",
        "everything:1",
        ctx_path,
    ]);
    assert!(out.contains("Step 1/30 : ARG BASE=busybox:latest"), "{out}");
    assert!(out.contains("# Executing 2 build triggers"), "{out}");
    assert!(out.contains("Successfully tagged everything:1"), "{out}");
    let ours = compared(&config_of(&b, "everything:1"));
    let recorded = compared(&serde_json::from_str(DOCKER_CONFIG).unwrap());
    assert_eq!(ours, recorded);

    // What the steps wrote.
    let run = b.ok(&["run", "--rm", "everything:1"]);
    assert_eq!(run, "hello from build\nsrc one");
    let files = b.ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        "everything:1",
        "-c",
        "stat -c '%U %n' /etc/app/*; cat /opt/inside/a.txt; id -un; pwd",
    ]);
    assert_eq!(files, "nobody /etc/app/app.conf\na\nappuser\n/app");

    if docker_answers() {
        let tag = "berth-build-test-busybox:latest";
        let status = Command::new("docker")
            .args(["import", "-c", "CMD [\"sh\"]"])
            .arg(common::busybox_tar())
            .arg(tag)
            .output()
            .unwrap();
        assert!(status.status.success());
        let before = docker_image_ids();
        let built = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args([
                "build",
                "-q",
                "--build-arg",
                &format!("BASE={tag}"),
                "--build-arg",
                "VERSION=2.0",
                "--label",
                "from.cli=yes",
                ctx_path,
            ])
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let id = String::from_utf8_lossy(&built.stdout).trim().to_string();
        let inspect = Command::new("docker")
            .args(["image", "inspect", "-f", "{{json .Config}}", &id])
            .output()
            .unwrap();
        let live: Value = serde_json::from_slice(&inspect.stdout).unwrap();
        // The other stages' images are left dangling by dockerd: remove
        // every image this build made, then the base.
        let _ = Command::new("docker").args(["rmi", &id]).output();
        for made in docker_image_ids().difference(&before) {
            let _ = Command::new("docker").args(["rmi", made]).output();
        }
        let _ = Command::new("docker").args(["rmi", tag]).output();
        assert_eq!(ours, compared(&live), "dockerd's build differs");
    }
}

#[test]
fn rebuild_uses_the_cache_for_every_step() {
    let b = Berth::with_busybox();
    let ctx = everything_context();
    let ctx_path = ctx.path().to_str().unwrap();
    let first = b.ok(&["build", "-q", ctx_path]);
    assert!(first.starts_with("sha256:"), "{first}");
    let second = b.run(&["build", ctx_path]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    // Every step but the FROMs and the meta ARGs (which make no image) hit.
    let steps = second.stdout.matches("Step ").count();
    let hits = second.stdout.matches(" ---> Using cache").count();
    assert_eq!(steps, 29);
    // 29 steps less 2 meta ARGs and 3 FROMs, plus the 2 ONBUILD trigger steps.
    assert_eq!(hits, 29 - 2 - 3 + 2, "{}", second.stdout);
    assert!(!second.stdout.contains("Running in"), "{}", second.stdout);
    let id = &first["sha256:".len()..first.len()][..12];
    assert!(second.stdout.contains(&format!("Successfully built {id}")));

    // A changed file invalidates its COPY and everything after it.
    std::fs::write(ctx.path().join("files/app.conf"), "listen 8080\n").unwrap();
    let third = b.ok(&["build", ctx_path]);
    let after_copy = third.split("COPY --chown").nth(1).unwrap();
    assert!(!after_copy.contains("Using cache"), "{third}");

    // --no-cache rebuilds everything.
    let fresh = b.ok(&["build", "--no-cache", ctx_path]);
    assert!(!fresh.contains("Using cache"));
}

fn context_with(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

#[test]
fn failing_run_shows_output_and_code_and_leaves_nothing() {
    let b = Berth::with_busybox();
    let ctx = context_with("FROM busybox\nRUN echo before-failing\nRUN echo oops && exit 3\n");
    let r = b.run(&["build", "-t", "broken:1", ctx.path().to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("oops"), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("The command '/bin/sh -c echo oops && exit 3' returned a non-zero code: 3"),
        "{}",
        r.stderr
    );
    assert!(b.fails(&["image", "inspect", "broken:1"]).code != 0);
    assert_eq!(b.ok(&["ps", "-aq"]), "");

    let ctx = context_with("FROM busybox\nRUN false\n");
    let r = b.run(&["build", "-q", ctx.path().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r
        .stderr
        .contains("The command '/bin/sh -c false' returned a non-zero code: 1"));
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn bad_input_is_a_clear_error() {
    let b = Berth::with_busybox();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "FROM busybox\n\nFROBNICATE x\n",
            &[],
            "dockerfile parse error line 3: unknown instruction: FROBNICATE",
        ),
        (
            "FROM busybox\nCOPY ../outside /x\n",
            &[],
            "forbidden path outside the build context: ../outside",
        ),
        (
            "FROM busybox\nCOPY missing.txt /x\n",
            &[],
            "file not found in build context or excluded by .dockerignore: stat missing.txt",
        ),
        (
            "FROM busybox AS one\nRUN true\n",
            &["--target", "nosuch"],
            "failed to reach build target nosuch in Dockerfile",
        ),
        (
            "ARG TAG\nFROM busybox:${TAG}\n",
            &[],
            "build arg TAG has no value",
        ),
        (
            "FROM busybox\nCOPY --from=nosuchstage /x /y\n",
            &[],
            "invalid from flag value nosuchstage",
        ),
        (
            "FROM busybox\nCOPY a b /notadir\n",
            &[],
            "the destination must be a directory and end with a /",
        ),
    ];
    for (dockerfile, flags, message) in cases {
        let ctx = context_with(dockerfile);
        std::fs::write(ctx.path().join("a"), "a").unwrap();
        std::fs::write(ctx.path().join("b"), "b").unwrap();
        let mut args = vec!["build"];
        args.extend_from_slice(flags);
        args.push(ctx.path().to_str().unwrap());
        let r = b.run(&args);
        assert_eq!(r.code, 1, "{dockerfile}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(message), "{dockerfile}: {}", r.stderr);
        assert_eq!(b.ok(&["ps", "-aq"]), "", "{dockerfile}");
    }
}

#[test]
fn dockerignore_stdin_and_quiet() {
    let b = Berth::with_busybox();
    let ctx = context_with("FROM busybox\nCOPY . /ctx/\nCMD [\"ls\", \"/ctx\"]\n");
    let p = ctx.path();
    std::fs::create_dir_all(p.join("keep/drop")).unwrap();
    std::fs::write(p.join("keep/drop/x"), "x").unwrap();
    std::fs::write(p.join("keep/y"), "y").unwrap();
    std::fs::write(p.join("notes.md"), "n").unwrap();
    std::fs::write(p.join("README.md"), "r").unwrap();
    std::fs::write(p.join(".dockerignore"), "*.md\n!README.md\nkeep/drop\n").unwrap();
    let id = b.ok(&["build", "-q", "-t", "ignored", p.to_str().unwrap()]);
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let listing = b.ok(&[
        "run",
        "--rm",
        "ignored",
        "sh",
        "-c",
        "cd /ctx && find . | sort",
    ]);
    assert_eq!(
        listing,
        ".\n./.dockerignore\n./Dockerfile\n./README.md\n./keep\n./keep/y"
    );

    // A Dockerfile on stdin: no context.
    let r = b.run_with_stdin(
        &["build", "-t", "fromstdin", "-"],
        b"FROM busybox\nENV FROM_STDIN=1\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let env = b.ok(&[
        "image",
        "inspect",
        "fromstdin",
        "--format",
        "{{json .Config.Env}}",
    ]);
    assert!(env.contains("FROM_STDIN=1"), "{env}");

    // -f names a Dockerfile elsewhere.
    let other = tempfile::tempdir().unwrap();
    let file = other.path().join("Custom.dockerfile");
    std::fs::write(&file, "FROM busybox\nLABEL custom=yes\n").unwrap();
    b.ok(&[
        "build",
        "-f",
        file.to_str().unwrap(),
        "-t",
        "custom",
        p.to_str().unwrap(),
    ]);
    let labels = b.ok(&[
        "image",
        "inspect",
        "custom",
        "--format",
        "{{json .Config.Labels}}",
    ]);
    assert_eq!(labels, r#"{"custom":"yes"}"#);
}

#[test]
fn intermediate_images_are_hidden_and_removed_with_the_image() {
    let b = Berth::with_busybox();
    let ctx = context_with("FROM busybox\nENV A=1\nRUN echo x > /x\nCMD [\"cat\", \"/x\"]\n");
    b.ok(&["build", "-t", "layered", ctx.path().to_str().unwrap()]);
    let images = b.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut names: Vec<&str> = images.lines().collect();
    names.sort();
    assert_eq!(names, vec!["busybox:latest", "layered:latest"]);
    assert_eq!(b.ok(&["run", "--rm", "layered"]), "x");
    let removed = b.ok(&["rmi", "layered"]);
    // The image and its three intermediate parents.
    assert!(
        removed.matches("Deleted: sha256:").count() >= 4,
        "{removed}"
    );
    let images = b.ok(&["images", "-q"]);
    assert_eq!(images.lines().count(), 1, "{images}");
}

#[test]
fn scratch_stage_with_copy() {
    let b = Berth::with_busybox();
    let ctx = context_with(
        "FROM busybox AS tools\nRUN mkdir -p /out && echo built > /out/file\n\
         FROM scratch\nCOPY --from=tools /out/file /file\nCOPY --from=tools /bin/busybox /bin/sh\n\
         CMD [\"/bin/sh\", \"-c\", \"read l < /file; echo $l\"]\n",
    );
    b.ok(&["build", "-t", "tiny", ctx.path().to_str().unwrap()]);
    assert_eq!(b.ok(&["run", "--rm", "tiny"]), "built");
    let layers = b.ok(&[
        "image",
        "inspect",
        "tiny",
        "--format",
        "{{len .RootFS.Layers}}",
    ]);
    assert_eq!(layers, "2");
}

/// The files of the last layer of image archive `archive` (`save`'s):
/// `A = B` for two names of one inode (a hard link and its target, in
/// name order, whichever the walk met first), `NAME` for any other file.
fn last_layer_files(archive: &std::path::Path) -> Vec<String> {
    let read = |name: &str| -> Vec<u8> {
        let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().to_string_lossy() == name {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
                return data;
            }
        }
        panic!("{name} not in {}", archive.display());
    };
    let manifest: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    let layer = read(layers.last().unwrap().as_str().unwrap());
    let (mut files, mut links) = (Vec::new(), Vec::new());
    for entry in tar::Archive::new(layer.as_slice()).entries().unwrap() {
        let entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Regular => files.push(name),
            tar::EntryType::Link => {
                let target = entry.link_name().unwrap().unwrap();
                let target = target.to_string_lossy().into_owned();
                links.push([name.clone().min(target.clone()), name.max(target)]);
            }
            _ => {}
        }
    }
    files.retain(|f| !links.iter().flatten().any(|l| l == f));
    files.extend(links.iter().map(|[a, b]| format!("{a} = {b}")));
    files.sort();
    files
}

/// COPY keeps hard links, as Docker's does: two names of one inode in the
/// context are one inode in the image (a tar hard link in the layer, one
/// inode with two links in the container).
#[test]
fn copy_keeps_hard_links() {
    let b = Berth::with_busybox();
    let ctx = context_with("FROM busybox\nCOPY d/ /d/\n");
    let dir = ctx.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a"), "shared\n").unwrap();
    std::fs::hard_link(dir.join("a"), dir.join("b")).unwrap();
    std::fs::write(dir.join("c"), "alone\n").unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile.scratch"),
        "FROM scratch\nCOPY d/ /d/\n",
    )
    .unwrap();
    let ctx_path = ctx.path().to_str().unwrap();
    b.ok(&["build", "-t", "links", ctx_path]);
    let stat = b.ok(&[
        "run", "--rm", "links", "stat", "-c", "%h %i", "/d/a", "/d/b", "/d/c",
    ]);
    let stat: Vec<(&str, &str)> = stat.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert_eq!(stat[0].0, "2", "{stat:?}");
    assert_eq!(stat[0], stat[1], "a and b are one inode: {stat:?}");
    assert_eq!(stat[2].0, "1", "{stat:?}");
    let expected = ["d/a = d/b", "d/c"];
    let saved = b.path().join("links.tar");
    let scratch = ctx.path().join("Dockerfile.scratch");
    let scratch = scratch.to_str().unwrap();
    b.ok(&["build", "-f", scratch, "-t", "links-scratch", ctx_path]);
    b.ok(&["save", "-o", saved.to_str().unwrap(), "links-scratch"]);
    assert_eq!(last_layer_files(&saved), expected);

    if docker_answers() {
        let built = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-f", scratch, ctx_path])
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let id = String::from_utf8_lossy(&built.stdout).trim().to_string();
        let theirs = b.path().join("docker-links.tar");
        let saved = Command::new("docker")
            .args(["save", "-o"])
            .arg(&theirs)
            .arg(&id)
            .status()
            .unwrap();
        let _ = Command::new("docker").args(["rmi", &id]).output();
        assert!(saved.success());
        assert_eq!(last_layer_files(&theirs), expected, "dockerd's layer");
    }
}
