//! `inspect` of a container is dockerd's document: the same keys in Docker's
//! order at every level (people and scripts read that order) and the same
//! values, apart from ids, times, paths, addresses and the differences listed
//! in `ACCEPTED` with their reasons. Checked against a fixture recorded from
//! dockerd 20.10, and against the dockerd on this machine when it answers.

mod common;

use std::path::{Path, PathBuf};

use common::{busybox_tar, docker, dockerd_answers, Berth};
use serde_json::{json, Value};

/// The run both engines get (then `sleep 1000` on the fixture image).
const ARGS: &[&str] = &[
    "run",
    "-d",
    "--name",
    "bid-doc",
    "-v",
    "bid-vol:/data",
    "-v",
    "/tmp:/h:ro",
    "-p",
    "127.0.0.1::80",
    "-e",
    "A=b",
    "-l",
    "x=y",
    "--tmpfs",
    "/run/t:size=1m",
    "--restart",
    "on-failure:2",
];
const IMAGE: &str = "berth-fixture/busybox:latest";

/// Values that differ from dockerd's on purpose, and why.
const ACCEPTED: &[(&str, &str)] = &[
    // berth writes the image's (or Docker's default) PATH into Config.Env;
    // dockerd adds the default PATH in the runtime spec only.
    ("Config.Env", "default PATH recorded in Config.Env"),
    // berth does not record which streams a detached run attached.
    ("Config.AttachStdout", "attach flags not recorded"),
    ("Config.AttachStderr", "attach flags not recorded"),
    // The 20.10 docker CLI sends "default"; berth's CLI names the network.
    ("HostConfig.NetworkMode", "berth's CLI sends bridge"),
    // dockerd uses the host's cgroup namespace on a cgroup v1 host; berth
    // gives every container its own.
    ("HostConfig.CgroupnsMode", "private cgroup namespace"),
    // berth masks the current (Docker 25+) list, which is longer.
    ("HostConfig.MaskedPaths", "Docker 25's masked paths"),
];

fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// One value, with what varies between runs and engines replaced.
fn mask(path: &str, v: &Value, root: &str) -> Value {
    if ACCEPTED.iter().any(|(p, _)| *p == path) {
        return json!("<accepted>");
    }
    match v {
        Value::String(s) => {
            let key = path.rsplit('.').next().unwrap_or("");
            let s = s.replace(root, "<root>");
            let masked = if is_hex(&s, 64) || is_hex(s.trim_start_matches("sha256:"), 64) {
                "<id>".to_string()
            } else if is_hex(&s, 12) {
                "<id12>".to_string()
            } else if key.ends_with("At") || key == "Created" {
                "<time>".to_string()
            } else if key.ends_with("Dir") || ["SandboxKey", "SandboxID", "HostPort"].contains(&key)
            {
                format!("<{key}>")
            } else if ["IPAddress", "Gateway", "MacAddress"].contains(&key) && !s.is_empty() {
                format!("<{key}>")
            } else {
                // Per-container paths: <root>/containers/<id>/...
                s.split('/')
                    .map(|part| match part.get(..64) {
                        Some(id) if is_hex(id, 64) => format!("<id>{}", &part[64..]),
                        _ => part.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            };
            Value::String(masked)
        }
        Value::Number(_) if path.ends_with(".Pid") => json!("<pid>"),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| mask(&format!("{path}[]"), i, root))
                .collect(),
        ),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let p = p.replace("[].", ".");
                out.insert(k.clone(), mask(&p, v, root));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The document as text: equal text means equal keys in equal order. Binds
/// and Mounts sorted: the 20.10 docker CLI and dockerd list them in Go's
/// random map order.
fn masked_text(doc: &Value, root: &str) -> String {
    let mut doc = doc.clone();
    let by = |key: &'static str| move |a: &Value, b: &Value| a[key].as_str().cmp(&b[key].as_str());
    if let Some(binds) = doc["HostConfig"]["Binds"].as_array_mut() {
        binds.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    if let Some(mounts) = doc["Mounts"].as_array_mut() {
        mounts.sort_by(by("Destination"));
    }
    serde_json::to_string_pretty(&mask("", &doc, root)).unwrap()
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inspect/run-detached.json")
}

fn dockerd_document() -> String {
    if docker(&["image", "inspect", IMAGE]).is_none() {
        let tar = busybox_tar().to_string_lossy().into_owned();
        docker(&["import", "-c", "CMD [\"sh\"]", &tar, IMAGE]).expect("docker import");
    }
    docker(&["rm", "-fv", "bid-doc"]);
    let mut args = ARGS.to_vec();
    args.extend([IMAGE, "sleep", "1000"]);
    let id = docker(&args).expect("docker run").trim().to_string();
    let text = docker(&["inspect", &id]);
    docker(&["rm", "-fv", &id]);
    docker(&["volume", "rm", "bid-vol"]);
    let doc: Value = serde_json::from_str(&text.expect("docker inspect")).unwrap();
    let root = docker(&["info", "--format", "{{.DockerRootDir}}"]).unwrap_or_default();
    masked_text(&doc[0], root.trim())
}

#[test]
fn inspect_is_dockerds_document_in_dockers_key_order() {
    let b = Berth::new();
    let tar = busybox_tar().to_string_lossy().into_owned();
    b.ok(&["import", "-c", "CMD [\"sh\"]", &tar, IMAGE]);
    let mut args = ARGS.to_vec();
    args.extend([IMAGE, "sleep", "1000"]);
    let id = b.ok(&args);
    let doc: Value = serde_json::from_str(&b.ok(&["inspect", &id])).unwrap();
    let ours = masked_text(&doc[0], &b.path().to_string_lossy());
    b.ok(&["rm", "-fv", &id]);

    if std::env::var_os("BERTH_RECORD_FIXTURES").is_some() {
        std::fs::create_dir_all(fixture().parent().unwrap()).unwrap();
        std::fs::write(fixture(), dockerd_document() + "\n").unwrap();
    }
    let recorded = std::fs::read_to_string(fixture()).unwrap();
    assert_eq!(
        ours.trim(),
        recorded.trim(),
        "berth's inspect (left) is not dockerd's recorded one (right)"
    );
    if dockerd_answers() {
        assert_eq!(
            ours,
            dockerd_document(),
            "berth's inspect (left) is not this dockerd's (right)"
        );
    }
}
