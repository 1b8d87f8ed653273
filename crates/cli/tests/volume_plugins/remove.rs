//! A plugin volume's removal asks the plugin outside the store's write
//! transaction, and no container takes the volume meanwhile; its Source in
//! `inspect` and `info`'s Plugins.Volume name the plugin as dockerd's do.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::volume_plugins::recorder::{Answer, Recorder};
use crate::{Host, PLUGIN_TIMEOUT};

/// `volume rm VOLUME` (the plugin's deadline `timeout` seconds), once it
/// has asked the plugin to remove it.
fn rm_under_way(h: &Host, rec: &Recorder, volume: &str, timeout: &str) -> Child {
    let rm = h
        .command(&["volume", "rm", volume])
        .env(PLUGIN_TIMEOUT, timeout)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rec.calls_of("Remove").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(rec.calls_of("Remove").len(), 1);
    rm
}

#[test]
fn a_hung_plugin_remove_blocks_no_other_command_and_a_crash_leaves_it_listed() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "slowrm");
    h.ok(&["volume", "create", "-d", "slowrm", "hv"]);
    // dockerd: Plugins.Volume lists the plugins beside local; a plugin
    // volume's Source is the plugin's Path.
    assert_eq!(
        h.ok(&["info", "-f", "{{json .Plugins.Volume}}"]),
        r#"["local","slowrm"]"#
    );
    h.ok(&["create", "--name", "hc", "-v", "hv:/x", "busybox", "true"]);
    assert_eq!(
        h.ok(&["inspect", "-f", "{{(index .Mounts 0).Source}}", "hc"]),
        rec.base.path().join("hv").to_str().unwrap()
    );
    h.ok(&["rm", "hc"]);

    // A Remove that hangs holds no lock: other commands go on meanwhile.
    rec.answer("Remove", Answer::Hang);
    let rm = rm_under_way(&h, &rec, "hv", "6");
    let started = Instant::now();
    h.ok(&["volume", "create", "meanwhile"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?} for a hung plugin",
        started.elapsed()
    );
    let out = rm.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer within 6s"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(h.names().contains(&"hv".to_string()));

    // Killed once the plugin has removed it: still listed (never half);
    // the next rm finishes although the plugin no longer knows it.
    rec.answer("Remove", Answer::Normal);
    let _ = h
        .command(&["volume", "rm", "hv"])
        .env("BERTH_CRASH_AT", "volume-rm:after-plugin-remove")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!rec.has_volume("hv"));
    assert!(h.names().contains(&"hv".to_string()), "{:?}", h.names());
    rec.answer("Remove", Answer::Refuse("no such volume".into()));
    h.ok(&["volume", "rm", "hv"]);
    assert_eq!(h.names(), ["meanwhile"]);
    assert!(!h.b.path().join("volumes/hv").exists());
}

#[test]
fn no_container_takes_a_volume_its_plugin_is_removing() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "racerm");
    h.ok(&["volume", "create", "-d", "racerm", "rv"]);
    h.ok(&[
        "run",
        "--rm",
        "-v",
        "rv:/x",
        "busybox",
        "sh",
        "-c",
        "echo kept > /x/f",
    ]);
    rec.answer("Remove", Answer::After(Duration::from_secs(3)));
    let rm = rm_under_way(&h, &rec, "rv", "5");
    // The plugin is deleting the data: a container created now would find
    // it gone (or the removal would fail after the data went).
    let (code, err) = h.fails(&["create", "--name", "late", "-v", "rv:/x", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("volume rv is being removed"), "{err}");
    // A removal under way is no finding.
    let r = h.run(&["system", "check"]);
    assert_eq!((r.code, r.stdout.trim()), (0, ""), "{}", r.stdout);
    let out = rm.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(h.names().is_empty(), "{:?}", h.names());
    assert_eq!(h.ok(&["ps", "-aq"]), "");

    // Killed after the plugin removed it: listed, refused to containers,
    // found by `system check` and finished by its repair.
    rec.answer("Remove", Answer::Normal);
    h.ok(&["volume", "create", "-d", "racerm", "rv"]);
    let _ = h
        .command(&["volume", "rm", "rv"])
        .env("BERTH_CRASH_AT", "volume-rm:after-plugin-remove")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!rec.has_volume("rv"));
    assert_eq!(h.names(), ["rv"]);
    let (_, err) = h.fails(&["run", "--rm", "-v", "rv:/x", "busybox", "true"]);
    assert!(err.contains("volume rv is being removed"), "{err}");
    let r = h.run(&["system", "check"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    rec.answer("Remove", Answer::Refuse("no such volume".into()));
    let r = h.run(&["system", "check", "--repair"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(h.names().is_empty(), "{:?}", h.names());
    let r = h.run(&["system", "check"]);
    assert_eq!((r.code, r.stdout.trim()), (0, ""), "{}", r.stdout);
}
