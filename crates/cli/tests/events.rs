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
    let line = past
        .lines()
        .find(|l| l.contains(" container create "))
        .unwrap_or_else(|| panic!("no create event in {past:?}"));
    assert!(
        line.ends_with(&format!("container create {id} (image=busybox, k=v, name=ev1)")),
        "{line}"
    );
    let json = b.ok(&[
        "events", "--since", "1m", "--until", "0s", "--filter", "container=ev1",
        "--filter", "event=create", "--format", "{{json .}}",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(v["status"], "create");
    assert_eq!(v["Type"], "container");
    assert_eq!(v["Actor"]["Attributes"]["name"], "ev1");
    assert!(v["timeNano"].as_i64().unwrap() > 0);
    assert_eq!(
        b.ok(&["events", "--since", "1m", "--until", "0s", "--filter", "type=image"]),
        ""
    );
    assert_eq!(
        b.ok(&["events", "--since", "1m", "--until", "0s", "--filter", "container=other"]),
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
    assert!(!seen.iter().any(|l| l.contains(&id)), "old events replayed: {seen:?}");
}
