//! A plugin volume's removal asks the plugin outside the store's write
//! transaction; its Source in `inspect` and `info`'s Plugins.Volume name
//! the plugin as dockerd's do.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::volume_plugins::recorder::{Answer, Recorder};
use crate::{Host, PLUGIN_TIMEOUT};

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
    let rm = h
        .command(&["volume", "rm", "hv"])
        .env(PLUGIN_TIMEOUT, "6")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rec.calls_of("Remove").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(rec.calls_of("Remove").len(), 1);
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
