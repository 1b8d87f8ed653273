//! `berth events`: the store's event log, replayed with `--since`/`--until`
//! and followed live, whichever process acted.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Berth;

#[test]
fn events_are_replayed_filtered_and_followed() {
    let b = Berth::with_busybox();
    let id = b.ok(&["create", "--name", "ev1", "-l", "k=v", "busybox", "true"]);
    let past = b.ok(&["events", "--since", "1m", "--until", "0s"]);
    // `--since 0` is the log's beginning, as in Docker's CLI.
    assert_eq!(b.ok(&["events", "--since", "0", "--until", "0s"]), past);
    let line = past
        .lines()
        .find(|l| l.contains(" container create "))
        .unwrap_or_else(|| panic!("no create event in {past:?}"));
    assert!(
        line.ends_with(&format!(
            "container create {id} (image=busybox, k=v, name=ev1)"
        )),
        "{line}"
    );
    let json = b.ok(&[
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--filter",
        "container=ev1",
        "--filter",
        "event=create",
        "--format",
        "{{json .}}",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(v["status"], "create");
    assert_eq!(v["Type"], "container");
    assert_eq!(v["Actor"]["Attributes"]["name"], "ev1");
    assert!(v["timeNano"].as_i64().unwrap() > 0);
    // The busybox image of the test root was imported and tagged.
    let images = b.ok(&[
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert!(
        images.lines().any(|l| l == "tag busybox:latest"),
        "{images:?}"
    );
    assert!(
        images.lines().any(|l| l.starts_with("import sha256:")),
        "{images:?}"
    );
    assert_eq!(
        b.ok(&[
            "events",
            "--since",
            "1m",
            "--until",
            "0s",
            "--filter",
            "container=other"
        ]),
        ""
    );

    // Followed live: another process's create shows up.
    let mut follower = b
        .command(&["events", "--filter", "event=create"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The follower starts from "now": give it a moment to open the log.
    std::thread::sleep(Duration::from_millis(300));
    let id2 = b.ok(&["create", "--name", "ev2", "busybox", "true"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
            if seen.iter().any(|l| l.contains(&id2)) {
                break;
            }
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(seen.iter().any(|l| l.contains(&id2)), "followed: {seen:?}");
    assert!(
        !seen.iter().any(|l| l.contains(&id)),
        "old events replayed: {seen:?}"
    );
}

/// The events of volume, network and image lifecycles, each appended by the
/// operation itself: the same actions, in the same order, as dockerd's.
#[test]
fn volumes_networks_and_images_report_dockers_events() {
    let b = Berth::with_busybox();
    let tar = common::busybox_tar().to_string_lossy().into_owned();
    // An image of its own (its id is not shared with other tests' images).
    let import = [
        "import",
        "-c",
        "LABEL events-test=1",
        tar.as_str(),
        "evimg:1",
    ];
    let steps: &[&[&str]] = &[
        &["volume", "create", "evvol"],
        &["network", "create", "evnet"],
        &["create", "--name", "evc", "busybox", "true"],
        &["network", "connect", "evnet", "evc"],
        &["network", "disconnect", "evnet", "evc"],
        &["rm", "evc"],
        &import,
        &["rmi", "evimg:1"],
        &["network", "rm", "evnet"],
        &["volume", "rm", "evvol"],
    ];
    // A volume's event names it in Actor.ID, the others in the name attribute.
    let format = "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}";
    // Different keys are ANDed by Docker, so only types are filtered here;
    // lines about other objects (dockerd is shared) are left out below.
    let filters = [
        "--filter",
        "type=volume",
        "--filter",
        "type=network",
        "--filter",
        "type=image",
    ];
    let ours_only = |text: &str, image: &str| {
        text.lines()
            .filter_map(|l| {
                let words: Vec<&str> = l.split(' ').collect();
                let named = words[2..]
                    .iter()
                    .find(|w| ["evvol", "evnet", "evimg:1"].contains(w));
                let name = match named {
                    Some(name) => *name,
                    None if words[2..].contains(&image) => "<image>",
                    None => return None,
                };
                Some(format!("{} {} {name}", words[0], words[1]))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let start = now();
    let mut image = String::new();
    for step in steps {
        let out = b.ok(step);
        if step[0] == "import" {
            image = out.trim().to_string();
        }
    }
    let mut args = vec![
        "events", "--since", &start, "--until", "0s", "--format", format,
    ];
    args.extend(filters);
    let ours = ours_only(&b.ok(&args), &image);
    let expected = "volume create evvol\nnetwork create evnet\nnetwork disconnect evnet\n\
                    image tag evimg:1\nimage import <image>\nimage untag <image>\nimage delete <image>\n\
                    network destroy evnet\nvolume destroy evvol";
    assert_eq!(ours, expected);
    if common::dockerd_answers() {
        common::docker(&["rm", "-f", "evc"]);
        common::docker(&["network", "rm", "evnet"]);
        common::docker(&["volume", "rm", "evvol"]);
        let start = now();
        let mut image = String::new();
        for step in steps {
            let out = common::docker(step).unwrap_or_else(|| panic!("docker {step:?}"));
            if step[0] == "import" {
                image = out.trim().to_string();
            }
        }
        let until = now();
        let mut args = vec![
            "events", "--since", &start, "--until", &until, "--format", format,
        ];
        args.extend(filters);
        let theirs = ours_only(&common::docker(&args).unwrap_or_default(), &image);
        assert_eq!(ours, theirs, "berth (left) and dockerd (right)");
    }
}

/// Now, as `--since`/`--until` take it (Unix seconds with nanoseconds).
fn now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}
