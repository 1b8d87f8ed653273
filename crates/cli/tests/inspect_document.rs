//! `inspect` of a container is dockerd's document: the same keys in Docker's
//! order at every level (people and scripts read that order) and the same
//! values, apart from ids, times, paths, addresses and the differences listed
//! in `ACCEPTED` with their reasons. Checked against a fixture recorded from
//! dockerd 20.10, and against the dockerd on this machine when it answers.

mod common;

use std::path::{Path, PathBuf};

use common::{busybox_tar, docker, dockerd_answers, Berth};
use serde_json::{json, Value};

/// One shape of container both engines get: `args` then the fixture image
/// and `cmd`; `network` is created first when not empty. Its document is
/// taken while it runs, or after it exited when `cmd` ends at once.
struct Shape {
    name: &'static str,
    network: &'static str,
    args: &'static [&'static str],
    cmd: &'static [&'static str],
}

const SLEEP: &[&str] = &["sleep", "1000"];

const SHAPES: &[Shape] = &[
    Shape {
        name: "run-detached",
        network: "",
        args: &[
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
        ],
        cmd: SLEEP,
    },
    // Attached, with a terminal, exited: the document of a stopped container.
    Shape {
        name: "run-attached-tty",
        network: "",
        args: &["run", "-t", "--name", "bid-doc"],
        cmd: &["sh", "-c", "exit 3"],
    },
    Shape {
        name: "network-none",
        network: "",
        args: &["run", "-d", "--name", "bid-doc", "--network", "none"],
        cmd: SLEEP,
    },
    Shape {
        name: "user-network",
        network: "bid-net",
        args: &[
            "run",
            "-d",
            "--name",
            "bid-doc",
            "--network",
            "bid-net",
            "--network-alias",
            "web",
        ],
        cmd: SLEEP,
    },
    Shape {
        name: "confined",
        network: "",
        args: &[
            "run",
            "-d",
            "--name",
            "bid-doc",
            "--read-only",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "MKNOD",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "--init",
            "--cgroupns",
            "private",
        ],
        cmd: SLEEP,
    },
];
const IMAGE: &str = "berth-fixture/busybox:latest";

/// Values that differ from dockerd's on purpose, and why.
const ACCEPTED: &[(&str, &str)] = &[
    // berth masks the paths Docker 28 masks: Docker 20.10's list plus
    // /proc/interrupts, /sys/devices/virtual/powercap and the CPUs'
    // thermal_throttle directories. The masked set is confinement: the
    // longer list hides more of the host, so berth keeps it.
    ("HostConfig.MaskedPaths", "Docker 28's longer masked list"),
    // Ids dockerd shows for what berth does not keep: the sandbox of a
    // container that has exited (dockerd keeps its stale id) and an endpoint
    // on the `none` network (berth makes none).
    ("NetworkSettings.SandboxID", "no sandbox after exit"),
    (
        "NetworkSettings.Networks.none.EndpointID",
        "no endpoint on none",
    ),
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
        // A user network's subnet is the engine's next free pool.
        Value::Number(_) if path.ends_with("bid-net.IPPrefixLen") => json!("<IPPrefixLen>"),
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

fn fixture(shape: &Shape) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inspect")
        .join(format!("{}.json", shape.name))
}

fn full_args(shape: &Shape) -> Vec<&'static str> {
    let mut args = shape.args.to_vec();
    args.push(IMAGE);
    args.extend(shape.cmd);
    args
}

fn dockerd_document(shape: &Shape) -> String {
    if docker(&["image", "inspect", IMAGE]).is_none() {
        let tar = busybox_tar().to_string_lossy().into_owned();
        docker(&["import", "-c", "CMD [\"sh\"]", &tar, IMAGE]).expect("docker import");
    }
    docker(&["rm", "-fv", "bid-doc"]);
    if !shape.network.is_empty() {
        docker(&["network", "rm", shape.network]);
        docker(&["network", "create", shape.network]).expect("docker network create");
    }
    // An attached run fails with the command's status: not an error here.
    let _ = std::process::Command::new("docker")
        .args(full_args(shape))
        .output()
        .expect("docker run");
    let text = docker(&["inspect", "bid-doc"]);
    docker(&["rm", "-fv", "bid-doc"]);
    docker(&["volume", "rm", "bid-vol"]);
    if !shape.network.is_empty() {
        docker(&["network", "rm", shape.network]);
    }
    let doc: Value = serde_json::from_str(&text.expect("docker inspect")).unwrap();
    let root = docker(&["info", "--format", "{{.DockerRootDir}}"]).unwrap_or_default();
    masked_text(&doc[0], root.trim())
}

fn berth_document(b: &Berth, shape: &Shape) -> String {
    if !shape.network.is_empty() {
        b.ok(&["network", "create", shape.network]);
    }
    // dockerd's runtime: berth's default is crun where it is installed.
    let mut args = vec!["--runtime".to_string(), "runc".to_string()];
    args.extend(full_args(shape).iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    b.run(&args);
    let doc: Value = serde_json::from_str(&b.ok(&["inspect", "bid-doc"])).unwrap();
    b.ok(&["rm", "-fv", "bid-doc"]);
    if !shape.network.is_empty() {
        b.ok(&["network", "rm", shape.network]);
    }
    masked_text(&doc[0], &b.path().to_string_lossy())
}

#[test]
fn inspect_is_dockerds_document_in_dockers_key_order() {
    let b = Berth::new();
    let tar = busybox_tar().to_string_lossy().into_owned();
    b.ok(&["import", "-c", "CMD [\"sh\"]", &tar, IMAGE]);
    let live = dockerd_answers();
    let mut differ = Vec::new();
    for shape in SHAPES {
        let ours = berth_document(&b, shape);
        if std::env::var_os("BERTH_RECORD_FIXTURES").is_some() {
            std::fs::create_dir_all(fixture(shape).parent().unwrap()).unwrap();
            std::fs::write(fixture(shape), dockerd_document(shape) + "\n").unwrap();
        }
        let recorded = std::fs::read_to_string(fixture(shape)).unwrap();
        if ours.trim() != recorded.trim() {
            differ.push(format!(
                "{}: berth's inspect (left) is not dockerd's recorded one (right):\n{}",
                shape.name,
                line_diff(&ours, &recorded)
            ));
        } else if live {
            let theirs = dockerd_document(shape);
            if ours != theirs {
                differ.push(format!(
                    "{}: berth's inspect (left) is not this dockerd's (right):\n{}",
                    shape.name,
                    line_diff(&ours, &theirs)
                ));
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The lines only in `a` (`-`) and only in `b` (`+`), by a longest common
/// subsequence of lines (the documents are a few hundred lines).
fn line_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && common[i + 1][j] >= common[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out.join("\n")
}
