//! `inspect` of mounts equal to what dockerd prints for the same flags:
//! fixtures recorded from dockerd, and compared live when it answers.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::storage::*;
use common::{busybox_tar, Berth};
use serde_json::{json, Value};

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
        // dockerd's runtime (runc): crun, berth's default where installed,
        // refuses the non-recursive bind some cases make.
        let mut full = vec![
            "--runtime".to_string(),
            "runc".to_string(),
            "create".to_string(),
        ];
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

/// `--format` prints maps, slices and structs as Go's fmt does (the docker
/// CLI's templates): `map[k:v]` with sorted keys, `[a b]`, `{v1 v2}`.
#[test]
fn format_prints_maps_and_slices_as_the_docker_cli() {
    let b = Berth::with_busybox();
    let create = [
        "create", "-l", "zeta=2", "-l", "alpha=1", "-l", "mid=x y", "busybox", "sh", "-c", "a b",
    ];
    let format = "{{.Config.Labels}} {{.Config.Cmd}} {{.HostConfig.LogConfig}}";
    let id = b.ok(&create);
    let ours = b.ok(&["inspect", "--format", format, &id]);
    assert_eq!(
        ours,
        "map[alpha:1 mid:x y zeta:2] [sh -c a b] {json-file map[]}"
    );
    if !common::dockerd_answers() {
        return;
    }
    let Some(theirs_id) = common::docker(&create) else {
        return;
    };
    let theirs_id = theirs_id.trim();
    let theirs = common::docker(&["inspect", "--format", format, theirs_id]);
    common::docker(&["rm", theirs_id]);
    assert_eq!(
        theirs.as_deref().map(str::trim),
        Some(ours.as_str()),
        "dockerd, then berth"
    );
}
