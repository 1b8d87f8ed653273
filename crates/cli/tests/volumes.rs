//! `berth volume ...` end to end: the real binary on a temporary state root,
//! compared with what the docker CLI prints for the same commands.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Root {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root");
        Root { _dir: dir, path }
    }

    fn run_with_input(&self, args: &[&str], input: &str) -> Out {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--root")
            .arg(&self.path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_with_input(args, "")
    }

    /// Runs and insists on success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        out.stdout
    }

    fn store(&self) -> berth_store::Store {
        berth_store::Store::open(&self.path).unwrap()
    }

    fn data(&self, name: &str) -> PathBuf {
        self.path.join("volumes").join(name).join("_data")
    }
}

fn add_container(root: &Root, id: &str, volume: &str) {
    root.store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO containers(id, name, image_id, image_ref, created_at, config, status)
                 VALUES (?1, 'c1', 'sha256:x', 'img', 't', '{}', 'exited')",
                [id],
            )?;
            tx.execute(
                "INSERT INTO container_volumes(container_id, destination, volume_name)
                 VALUES (?1, '/data', ?2)",
                [id, volume],
            )
        })
        .unwrap();
}

#[test]
fn create_ls_inspect_rm() {
    let root = Root::new();
    assert_eq!(root.ok(&["volume", "create", "data"]), "data\n");
    let anon = root.ok(&["volume", "create"]);
    let anon = anon.trim();
    assert_eq!(anon.len(), 64);
    // Idempotent, as Docker's.
    assert_eq!(
        root.ok(&["volume", "create", "--label", "x=y", "data"]),
        "data\n"
    );

    let mut names = [anon.to_string(), "data".to_string()];
    names.sort();
    assert_eq!(
        root.ok(&["volume", "ls"]),
        format!(
            "DRIVER    VOLUME NAME\nlocal     {}\nlocal     {}\n",
            names[0], names[1]
        )
    );
    assert_eq!(
        root.ok(&["volume", "ls", "-q"]),
        format!("{}\n{}\n", names[0], names[1])
    );

    let text = root.ok(&["volume", "inspect", "data"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["Name"], "data");
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Scope"], "local");
    assert_eq!(v[0]["Labels"], serde_json::Value::Null);
    assert_eq!(v[0]["Options"], serde_json::Value::Null);
    assert_eq!(v[0]["Mountpoint"], root.data("data").to_str().unwrap());
    assert!(
        text.starts_with("[\n    {\n        \"CreatedAt\": \""),
        "{text}"
    );
    assert_eq!(
        root.ok(&[
            "volume",
            "inspect",
            "--format",
            "{{.Name}} {{.Driver}} {{.Scope}}",
            "data"
        ]),
        "data local local\n"
    );
    // The top-level `inspect` finds volumes too.
    let top = root.ok(&["inspect", "--type", "volume", "data"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&top).unwrap(), v);

    let out = root.run(&["volume", "inspect", "data", "nosuch"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Error response from daemon: get nosuch: no such volume\n"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap(),
        v
    );

    std::fs::write(root.data("data").join("f"), "x").unwrap();
    let out = root.run(&["volume", "rm", "nosuch", "data"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "data\n");
    assert_eq!(
        out.stderr,
        "Error response from daemon: get nosuch: no such volume\n"
    );
    assert!(!root.path.join("volumes/data").exists());
    // -f: a missing volume is not an error (docker prints its name).
    assert_eq!(root.ok(&["volume", "rm", "-f", "nosuch"]), "nosuch\n");
    assert_eq!(root.ok(&["volume", "ls", "-q"]), format!("{anon}\n"));
}

#[test]
fn create_errors_are_dockers_and_create_nothing() {
    let root = Root::new();
    let cases: &[(&[&str], &str)] = &[
        (&["volume", "create", "a"], "create a: volume name is too short, names should be at least two alphanumeric characters"),
        (&["volume", "create", "./x"], "create ./x: \"./x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        (&["volume", "create", "-d", "nope", "v1"], "create v1: error looking up volume plugin nope: plugin \"nope\" not found"),
        (&["volume", "create", "--opt", "type=tmpfs", "t1"], "create t1: missing required option: \"device\""),
        (&["volume", "create", "--opt", "foo=bar", "bad1"], "create bad1: invalid option: \"foo\""),
    ];
    for (args, want) in cases {
        let out = root.run(args);
        assert_eq!(out.code, 1, "{args:?}");
        assert_eq!(
            out.stderr,
            format!("Error response from daemon: {want}\n"),
            "{args:?}"
        );
        assert_eq!(out.stdout, "");
    }
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn ls_filters_and_formats() {
    let root = Root::new();
    root.ok(&["volume", "create", "--label", "a=b", "--label", "c=", "web"]);
    root.ok(&["volume", "create", "--label", "a=z", "db"]);
    root.ok(&["volume", "create", "cache"]);
    add_container(&root, &"e".repeat(64), "db");

    let q = |filters: &[&str]| {
        let mut args = vec!["volume", "ls", "-q"];
        for f in filters {
            args.extend(["-f", f]);
        }
        root.ok(&args)
    };
    assert_eq!(q(&["dangling=true"]), "cache\nweb\n");
    assert_eq!(q(&["dangling=false"]), "db\n");
    assert_eq!(q(&["name=we"]), "web\n");
    assert_eq!(q(&["label=a"]), "db\nweb\n");
    assert_eq!(q(&["label=a=b"]), "web\n");
    assert_eq!(q(&["label=a=b", "label=c"]), "web\n");
    assert_eq!(q(&["label=a=c"]), "");
    assert_eq!(q(&["driver=local", "dangling=true"]), "cache\nweb\n");
    assert_eq!(q(&["name=db", "name=cache"]), "cache\ndb\n");

    let out = root.run(&["volume", "ls", "-f", "bogus=1"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Error response from daemon: Invalid filter 'bogus'\n")
    );
    let out = root.run(&["volume", "ls", "-f", "dangling=maybe"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error response from daemon: Invalid filter 'dangling=[maybe]'\n"
        )
    );

    let mp = root.data("web");
    assert_eq!(
        root.ok(&[
            "volume", "ls", "-f", "name=web", "--format",
            "table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}",
        ]),
        format!(
            "VOLUME NAME   DRIVER    SCOPE     MOUNTPOINT{pad}   LABELS    LINKS     SIZE\nweb           local     local     {mp}   a=b,c=    N/A       N/A\n",
            pad = " ".repeat(mp.to_str().unwrap().len() - "MOUNTPOINT".len()),
            mp = mp.display()
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&root.ok(&["volume", "ls", "-f", "name=web", "--format", "json"]))
            .unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "Availability": "N/A", "Driver": "local", "Group": "N/A", "Labels": "a=b,c=",
            "Links": "N/A", "Mountpoint": mp, "Name": "web", "Scope": "local",
            "Size": "N/A", "Status": "N/A"
        })
    );
}

#[test]
fn rm_of_a_volume_in_use_is_refused_and_keeps_data() {
    let root = Root::new();
    root.ok(&["volume", "create", "db"]);
    std::fs::write(root.data("db").join("table"), "rows").unwrap();
    let id = "f".repeat(64);
    add_container(&root, &id, "db");
    for args in [&["volume", "rm", "db"][..], &["volume", "rm", "-f", "db"]] {
        let out = root.run(args);
        assert_eq!(out.code, 1);
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            format!("Error response from daemon: remove db: volume is in use - [{id}]\n")
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.data("db").join("table")).unwrap(),
        "rows"
    );
    assert_eq!(
        root.ok(&["volume", "prune", "-a", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "db\n");
}

fn anonymous(root: &Root) -> String {
    let mut store = root.store();
    berth_volume::create(
        &mut store,
        None,
        "local",
        Default::default(),
        Default::default(),
        true,
    )
    .unwrap()
    .name
}

#[test]
fn prune_default_all_filters_and_confirmation() {
    let root = Root::new();
    let anon = anonymous(&root);
    std::fs::write(root.data(&anon).join("f"), vec![0u8; 1234]).unwrap();
    root.ok(&["volume", "create", "--label", "keep=1", "named1"]);
    root.ok(&["volume", "create", "named2"]);

    // Declined: nothing happens.
    let out = root.run_with_input(&["volume", "prune"], "n\n");
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(root.ok(&["volume", "ls", "-q"]).lines().count(), 3);

    // Default: anonymous volumes only.
    let out = root.run_with_input(&["volume", "prune"], "y\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.ends_with(&format!(
        "[y/N] Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 1.234kB\n"
    )));
    assert!(!Path::new(&root.data(&anon)).exists());
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "named1\nnamed2\n");
    assert_eq!(
        root.ok(&["volume", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );

    // -a with a label filter.
    assert_eq!(
        root.ok(&["volume", "prune", "-a", "-f", "--filter", "label!=keep"]),
        "Deleted Volumes:\nnamed2\n\nTotal reclaimed space: 0B\n"
    );
    let out = root.run_with_input(&["volume", "prune", "-a"], "y\n");
    assert!(out.stdout.starts_with(
        "WARNING! This will remove all local volumes not used by at least one container.\n"
    ));
    assert!(out
        .stdout
        .ends_with("Deleted Volumes:\nnamed1\n\nTotal reclaimed space: 0B\n"));
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "");

    let out = root.run(&["volume", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Error response from daemon: Invalid filter 'until'\n")
    );
}

/// Filters as dockerd applies them: keys ANDed, values of one key ORed
/// (`label` values ANDed), `name` a regular expression. Each case is checked
/// against its expected answer and, when a dockerd answers, against dockerd's
/// answer for the same volumes.
#[test]
fn ls_filters_combine_as_dockerd_does() {
    // Digits only: a hex suffix could contain a name the cases filter on
    // ("db", "cache"...) and match where it must not.
    let digits: String = berth_store::new_id()
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let suffix = format!("-{digits}");
    let name = |n: &str| format!("bt{n}{suffix}");
    let (web, db, cache) = (name("web"), name("db"), name("cache"));
    let tag = format!("bt={suffix}");
    let volumes: [(&str, &[&str]); 3] = [(&web, &["a=b", "c="]), (&db, &["a=z"]), (&cache, &[])];
    let root = Root::new();
    let dockerd = common::dockerd_answers();
    for (v, labels) in volumes {
        let mut args = vec!["volume", "create", "--label", &tag];
        for l in labels {
            args.extend(["--label", l]);
        }
        args.push(v);
        root.ok(&args);
        if dockerd {
            common::docker(&args).expect("docker volume create");
        }
    }
    add_container(&root, &"e".repeat(64), &db);
    let container = format!("btc{suffix}");
    let db_mount = format!("{db}:/data");
    if dockerd {
        common::docker(&[
            "create",
            "--name",
            &container,
            "-v",
            &db_mount,
            "busybox:latest",
            "true",
        ])
        .expect("docker create (busybox:latest must be in dockerd)");
    }
    let failures = common::filter_failures(
        &["volume", "ls", "-q"],
        &format!("label={tag}"),
        &common::cases(&[
            (&["dangling=true", "label=a"], &["btweb"]),
            (&["dangling=false", "name=db"], &["btdb"]),
            (&["name=web", "name=cache"], &["btcache", "btweb"]),
            (&["driver=local", "label=a=b", "label=c"], &["btweb"]),
            (&["name=^bt(web|db)", "dangling=1"], &["btweb"]),
            (&["label=a", "label=c", "name=db"], &[]),
        ]),
        &suffix,
        dockerd,
        &|args| root.ok(args),
    );
    if dockerd {
        let _ = common::docker(&["rm", &container]);
        let _ = common::docker(&["volume", "rm", &web, &db, &cache]);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
