//! Docker's volume plugins: a recording plugin served by this test process
//! (call order, mount ids, every error path, crashes, restarts) and rclone
//! (`rclone serve docker` over `rclone serve webdav` on loopback) as the
//! real network storage shared by two berth roots ("two hosts").
//!
//! Every berth command here runs with `BERTH_PLUGIN_DIRS` set to a directory
//! of the test's own, so nothing reads or writes the host's plugin
//! directories (shared with dockerd); only the dockerd comparison uses
//! /run/docker/plugins, with a unique plugin name removed after.

mod common;
mod volume_plugins {
    pub mod rclone;
    pub mod recorder;
    mod remove;
}

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Berth, Run};
use serde_json::Value;
use volume_plugins::rclone::{require_rclone, webdav, Proc, RclonePlugin};
use volume_plugins::recorder::{Answer, Recorder};

const PLUGIN_DIRS: &str = "BERTH_PLUGIN_DIRS";
const PLUGIN_TIMEOUT: &str = "BERTH_PLUGIN_TIMEOUT";

/// A berth root whose commands find plugins in `plugins` only.
struct Host {
    b: Berth,
    plugins: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        Host {
            b: Berth::with_busybox(),
            plugins: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.b.command(args);
        cmd.env(PLUGIN_DIRS, self.plugins.path())
            .env(PLUGIN_TIMEOUT, "5");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("spawn berth");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}{}", r.stdout, r.stderr);
        r.stdout.trim().to_string()
    }

    /// Fails with one line on stderr; returns it.
    fn fails(&self, args: &[&str]) -> (i32, String) {
        let r = self.run(args);
        assert_ne!(r.code, 0, "berth {args:?} succeeded: {}", r.stdout);
        let err = r.stderr.trim().to_string();
        assert_eq!(
            err.lines().count(),
            1,
            "berth {args:?}: not one line: {err}"
        );
        (r.code, err)
    }

    fn names(&self) -> Vec<String> {
        let out = self.ok(&["volume", "ls", "-q"]);
        out.lines().map(str::to_string).collect()
    }

    fn inspect(&self, volume: &str) -> Value {
        let out = self.ok(&["volume", "inspect", volume]);
        serde_json::from_str::<Value>(&out).unwrap()[0].clone()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Containers go while the plugins still answer their unmounts.
        let ids = self.run(&["ps", "-aq"]).stdout;
        for id in ids.split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
    }
}

#[test]
fn recording_plugin_sees_create_mount_unmount_remove_in_order() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "rec");
    assert_eq!(h.ok(&["plugin", "ls", "-q"]), "rec");
    assert!(h.ok(&["plugin", "ls"]).contains("VolumeDriver"));

    assert_eq!(
        h.ok(&["volume", "create", "-d", "rec", "--opt", "k=v", "pv"]),
        "pv"
    );
    assert_eq!(rec.calls_of("Create")[0]["Opts"]["k"], "v");
    assert_eq!(rec.calls()[0].0, "Plugin.Activate");
    let v = h.inspect("pv");
    assert_eq!(v["Driver"], "rec");
    assert_eq!(v["Options"]["k"], "v");
    assert_eq!(v["Scope"], "global");
    assert_eq!(v["Status"]["recorded"], true);
    let data = rec.base.path().join("pv");
    assert_eq!(v["Mountpoint"], data.to_str().unwrap());

    // One container, the volume twice: two mounts, two ids, each unmounted once.
    h.ok(&[
        "run",
        "--rm",
        "-v",
        "pv:/x",
        "--mount",
        "type=volume,src=pv,dst=/y",
        "busybox",
        "sh",
        "-c",
        "echo written > /x/f && cat /y/f",
    ]);
    assert_eq!(
        std::fs::read_to_string(data.join("f")).unwrap(),
        "written\n"
    );
    let life = rec.lifecycle("pv");
    assert_eq!(life[0], "Create");
    let mounts: Vec<&String> = life.iter().filter(|c| c.starts_with("Mount ")).collect();
    let unmounts: Vec<&String> = life.iter().filter(|c| c.starts_with("Unmount ")).collect();
    assert_eq!(mounts.len(), 2, "{life:?}");
    assert_ne!(mounts[0], mounts[1], "{life:?}");
    let mut mounted: Vec<String> = mounts.iter().map(|m| m[6..].to_string()).collect();
    let mut unmounted: Vec<String> = unmounts.iter().map(|m| m[8..].to_string()).collect();
    mounted.sort();
    unmounted.sort();
    assert_eq!(mounted, unmounted, "{life:?}");
    // Every Unmount after the Mounts.
    let last_mount = life.iter().rposition(|c| c.starts_with("Mount ")).unwrap();
    let first_unmount = life.iter().position(|c| c.starts_with("Unmount ")).unwrap();
    assert!(last_mount < first_unmount, "{life:?}");

    // A stopped container's mount is unmounted at its exit, not again at rm.
    h.ok(&["run", "--name", "c1", "-v", "pv:/x", "busybox", "true"]);
    h.ok(&["rm", "c1"]);
    assert_eq!(rec.calls_of("Mount").len(), 3);
    assert_eq!(rec.calls_of("Unmount").len(), 3);

    // In use: not removed; then removed through the plugin.
    h.ok(&["create", "--name", "holder", "-v", "pv:/x", "busybox"]);
    let (_, err) = h.fails(&["volume", "rm", "pv"]);
    assert!(err.contains("volume is in use"), "{err}");
    h.ok(&["rm", "holder"]);
    h.ok(&["volume", "rm", "pv"]);
    assert_eq!(rec.lifecycle("pv").last().unwrap(), "Remove");
    assert!(!rec.has_volume("pv"));
    assert!(h.names().is_empty());
}

#[test]
fn every_place_a_driver_name_goes_reaches_the_plugin() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "rec2");
    // --volume-driver: the -v volume is made by the plugin.
    h.ok(&[
        "run",
        "--rm",
        "--volume-driver",
        "rec2",
        "-v",
        "byflag:/x",
        "busybox",
        "touch",
        "/x/a",
    ]);
    assert!(rec.has_volume("byflag"));
    assert_eq!(h.inspect("byflag")["Driver"], "rec2");
    assert!(rec.base.path().join("byflag/a").exists());
    // berth's verbs on volume data work on local volumes only: the data is
    // the plugin's, not in berth's directory.
    for verb in [
        vec!["volume", "export", "-o", "/dev/null", "byflag"],
        vec!["volume", "clone", "byflag", "copy"],
        vec!["volume", "rename", "byflag", "renamed"],
    ] {
        let r = h.run(&verb);
        assert_ne!(r.code, 0, "{verb:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("belongs to the volume plugin rec2")
                && r.stderr.contains("local volumes only"),
            "{verb:?}: {}",
            r.stderr
        );
    }
    assert!(rec.has_volume("byflag"));
    // --mount volume-driver= and volume-opt=.
    h.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=bymount,dst=/x,volume-driver=rec2,volume-opt=size=1g",
        "busybox",
        "true",
    ]);
    let create = rec
        .calls_of("Create")
        .into_iter()
        .find(|c| c["Name"] == "bymount")
        .unwrap();
    assert_eq!(create["Opts"]["size"], "1g");
    // A volume the plugin has that this root never made (another host's):
    // listed, inspected and removed through the plugin.
    rec.add_volume("elsewhere");
    h.ok(&["volume", "create", "plain"]);
    let ls = h.ok(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]);
    assert_eq!(
        ls, "rec2 byflag\nrec2 bymount\nrec2 elsewhere\nlocal plain",
        "{ls}"
    );
    assert_eq!(
        h.ok(&["volume", "ls", "-q", "--filter", "driver=rec2"]),
        "byflag\nbymount\nelsewhere"
    );
    let v = h.inspect("elsewhere");
    assert_eq!(
        (v["Driver"].as_str(), v["Scope"].as_str()),
        (Some("rec2"), Some("global"))
    );
    // prune leaves plugin volumes alone (dockerd prunes local volumes only).
    h.ok(&["volume", "prune", "-af"]);
    assert_eq!(h.names(), ["byflag", "bymount", "elsewhere"]);
    // Another driver for a name this root has is a conflict.
    h.ok(&["volume", "create", "plain"]);
    let (_, err) = h.fails(&["volume", "create", "-d", "rec2", "plain"]);
    assert!(err.contains("volume name must be unique"), "{err}");
    assert_eq!(h.inspect("plain")["Driver"], "local");
    for v in ["byflag", "bymount", "elsewhere"] {
        h.ok(&["volume", "rm", v]);
        assert!(!rec.has_volume(v), "{v}");
    }
    assert_eq!(h.names(), ["plain"]);
}

#[test]
fn plugin_failures_are_one_line_errors_that_leave_nothing() {
    let h = Host::new();
    let none_made = |h: &Host, name: &str| {
        assert!(h.names().is_empty(), "{:?}", h.names());
        assert!(!h.b.path().join("volumes").join(name).exists(), "{name}");
    };
    // Absent.
    let (_, err) = h.fails(&["volume", "create", "-d", "absent", "v0"]);
    assert!(
        err.contains(
            "create v0: error looking up volume plugin absent: plugin \"absent\" not found"
        ),
        "{err}"
    );
    let (code, err) = h.fails(&[
        "run",
        "--rm",
        "--volume-driver",
        "absent",
        "-v",
        "v0:/x",
        "busybox",
        "true",
    ]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("plugin \"absent\" not found"), "{err}");
    assert_eq!(h.ok(&["ps", "-aq"]), "");
    none_made(&h, "v0");

    let rec = Recorder::start(h.plugins.path(), "bad");
    // Refused: the plugin's Err, word for word.
    rec.answer("Create", Answer::Refuse("backend says no".into()));
    let (_, err) = h.fails(&["volume", "create", "-d", "bad", "v1"]);
    assert!(
        err.ends_with("create v1: VolumeDriver.Create: backend says no"),
        "{err}"
    );
    none_made(&h, "v1");
    // Hangs: the deadline.
    rec.answer("Create", Answer::Hang);
    let started = Instant::now();
    let out = h
        .command(&["volume", "create", "-d", "bad", "v1"])
        .env(PLUGIN_TIMEOUT, "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(!out.status.success());
    assert!(
        err.ends_with("VolumeDriver.Create: plugin bad did not answer within 1s"),
        "{err}"
    );
    none_made(&h, "v1");
    // Dies mid-call.
    rec.answer("Create", Answer::Die);
    let (_, err) = h.fails(&["volume", "create", "-d", "bad", "v1"]);
    assert!(
        err.contains("create v1: VolumeDriver.Create: plugin bad is not reachable"),
        "{err}"
    );
    none_made(&h, "v1");

    // Mount refused or hanging: `run` fails with 125; nothing to unmount.
    rec.answer("Create", Answer::Normal);
    h.ok(&["volume", "create", "-d", "bad", "v2"]);
    rec.answer("Mount", Answer::Refuse("cannot mount".into()));
    let (code, err) = h.fails(&["run", "--rm", "-v", "v2:/x", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("VolumeDriver.Mount: cannot mount"), "{err}");
    rec.answer("Mount", Answer::Hang);
    let (code, err) = h.fails(&["run", "--rm", "-v", "v2:/x", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("VolumeDriver.Mount: plugin bad did not answer within 5s"),
        "{err}"
    );
    assert_eq!(rec.calls_of("Unmount").len(), 0);
    assert_eq!(h.ok(&["ps", "-aq"]), "");

    // Remove refused: the volume stays; -f forgets it here (dockerd's purge).
    rec.answer("Remove", Answer::Refuse("busy".into()));
    let (_, err) = h.fails(&["volume", "rm", "v2"]);
    assert!(
        err.ends_with("remove v2: VolumeDriver.Remove: busy"),
        "{err}"
    );
    assert_eq!(h.inspect("v2")["Driver"], "bad");
    h.ok(&["volume", "rm", "-f", "v2"]);
    assert!(!h.b.path().join("volumes/v2").exists());

    // Down: listed from the store with a warning; inspect is one line.
    rec.answer("Remove", Answer::Normal);
    h.ok(&["volume", "create", "-d", "bad", "v3"]);
    rec.stop();
    let r = h.run(&["volume", "ls", "-q"]);
    assert_eq!((r.code, r.stdout.trim()), (0, "v3"), "{}", r.stderr);
    assert!(
        r.stderr.contains("plugin bad is not reachable"),
        "{}",
        r.stderr
    );
    let (_, err) = h.fails(&["volume", "inspect", "v3"]);
    assert!(err.contains("plugin bad is not reachable"), "{err}");
}

#[test]
fn a_crash_between_mount_and_start_is_unmounted_by_the_next_command() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "crashrec");
    h.ok(&["volume", "create", "-d", "crashrec", "cv"]);
    for (i, next) in [&["rm", "-f", "cc0"][..], &["system", "check", "--repair"]]
        .iter()
        .enumerate()
    {
        let name = format!("cc{i}");
        let _ = h
            .command(&[
                "run", "-d", "--name", &name, "-v", "cv:/x", "busybox", "sleep", "60",
            ])
            .env("BERTH_CRASH_AT", "start:after-volumes")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let mounts = rec.calls_of("Mount");
        assert_eq!(mounts.len(), i + 1, "{:?}", rec.lifecycle("cv"));
        assert_eq!(rec.calls_of("Unmount").len(), i);
        h.ok(next);
        let unmounts = rec.calls_of("Unmount");
        assert_eq!(unmounts.len(), i + 1, "{:?}", rec.lifecycle("cv"));
        assert_eq!(unmounts[i]["ID"], mounts[i]["ID"]);
        // Never again.
        h.ok(&["system", "check", "--repair"]);
        let _ = h.run(&["rm", "-f", &name]);
        assert_eq!(
            rec.calls_of("Unmount").len(),
            i + 1,
            "{:?}",
            rec.lifecycle("cv")
        );
    }
}

#[test]
fn a_restarted_plugin_is_activated_again() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "rs");
    h.ok(&["volume", "create", "-d", "rs", "rv"]);
    h.ok(&[
        "run", "-d", "--name", "long", "-v", "rv:/x", "busybox", "sleep", "60",
    ]);
    // The plugin goes away while the volume is mounted...
    rec.stop();
    let (code, err) = h.fails(&["run", "--rm", "-v", "rv:/x", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("plugin rs is not reachable"), "{err}");
    // ...and comes back: activated again at the next use.
    let rec = rec.restart(h.plugins.path(), "rs");
    let activations = rec.calls_of("Plugin.Activate").len();
    h.ok(&["run", "--rm", "-v", "rv:/x", "busybox", "true"]);
    assert!(rec.calls_of("Plugin.Activate").len() > activations);
    h.ok(&["rm", "-f", "long"]);
    let (mut mounted, mut unmounted): (Vec<String>, Vec<String>) = (
        rec.calls_of("Mount")
            .iter()
            .map(|c| c["ID"].to_string())
            .collect(),
        rec.calls_of("Unmount")
            .iter()
            .map(|c| c["ID"].to_string())
            .collect(),
    );
    mounted.sort();
    unmounted.sort();
    assert_eq!(mounted.len(), 2);
    assert_eq!(mounted, unmounted);
}

/// The Engine API alike: `POST /volumes/create` with a plugin driver,
/// `HostConfig.VolumeDriver`, inspect, `GET /volumes` (with dockerd's
/// `Warnings` when a plugin fails), `DELETE`.
#[test]
fn the_engine_api_speaks_to_plugins_too() {
    let h = Host::new();
    let rec = Recorder::start(h.plugins.path(), "rec3");
    let socket = h.b.path().join("api.sock");
    let _serve = Proc(
        h.command(&["serve", "-H", &format!("unix://{}", socket.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "berth serve did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let api = |method: &str, path: &str, body: &str| -> (u16, Value) {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "-X", method, "-H"])
            .args(["Content-Type: application/json", "--data-binary", body])
            .arg("--unix-socket")
            .arg(&socket)
            .arg(format!("http://d/v1.41{path}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (
            code.parse().unwrap(),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    };
    let (code, v) = api(
        "POST",
        "/volumes/create",
        r#"{"Name":"apiv","Driver":"rec3","DriverOpts":{"a":"b"}}"#,
    );
    assert_eq!(code, 201, "{v}");
    assert_eq!(
        (v["Driver"].as_str(), v["Scope"].as_str()),
        (Some("rec3"), Some("global"))
    );
    assert_eq!(rec.calls_of("Create")[0]["Opts"]["a"], "b");
    let (code, v) = api("GET", "/volumes/apiv", "");
    assert_eq!(
        (code, &v["Status"]["recorded"]),
        (200, &Value::Bool(true)),
        "{v}"
    );
    let (code, v) = api(
        "POST",
        "/containers/create?name=apic",
        r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"VolumeDriver":"rec3","Binds":["apiv2:/x"]}}"#,
    );
    assert_eq!(code, 201, "{v}");
    assert!(rec.has_volume("apiv2"));
    let (code, v) = api("GET", "/volumes", "");
    assert_eq!((code, &v["Warnings"]), (200, &Value::Null), "{v}");
    assert_eq!(v["Volumes"].as_array().unwrap().len(), 2, "{v}");
    let (code, _) = api("DELETE", "/containers/apic", "");
    assert_eq!(code, 204);
    let (code, v) = api("DELETE", "/volumes/apiv", "");
    assert_eq!(code, 204, "{v}");
    assert!(!rec.has_volume("apiv"));
    rec.stop();
    let (code, v) = api("GET", "/volumes", "");
    assert_eq!(code, 200, "{v}");
    let warnings = v["Warnings"].as_array().expect("warnings");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("plugin rec3 is not reachable"),
        "{v}"
    );
    let (code, v) = api(
        "POST",
        "/volumes/create",
        r#"{"Name":"apiv3","Driver":"rec3"}"#,
    );
    assert_eq!(code, 503, "{v}");
    assert_eq!(api("GET", "/plugins", "").1, serde_json::json!([]));
}

#[test]
fn rclone_volume_shared_by_two_hosts_over_webdav() {
    require_rclone();
    let remote = tempfile::tempdir().unwrap();
    let (_webdav, port) = webdav(remote.path());
    let url = format!("webdav-url=http://127.0.0.1:{port}/");
    let (a, b) = (Host::new(), Host::new());
    let mut plugin_a = RclonePlugin::start(&a, "rclone");
    let _plugin_b = RclonePlugin::start(&b, "rclone");
    // `remote=:webdav:` rather than `type=webdav`: rclone 1.60 cannot
    // restore a `type=` volume from its state file after a restart.
    let create = [
        "volume",
        "create",
        "-d",
        "rclone",
        "-o",
        "remote=:webdav:",
        "-o",
        &url,
        "-o",
        "webdav-vendor=other",
        "shared",
    ];
    for h in [&a, &b] {
        assert_eq!(h.ok(&create), "shared");
        let v = h.inspect("shared");
        assert_eq!(v["Driver"], "rclone");
        assert_eq!(v["Options"]["remote"], ":webdav:");
        assert_eq!(v["Scope"], "local");
    }
    // Written in a container of host A...
    a.ok(&[
        "run",
        "--rm",
        "-v",
        "shared:/data",
        "busybox",
        "sh",
        "-c",
        "echo from-a > /data/hello",
    ]);
    assert_eq!(
        std::fs::read_to_string(remote.path().join("hello")).unwrap(),
        "from-a\n"
    );
    // ...read in a container of host B, read-only there.
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "-v",
            "shared:/data:ro",
            "busybox",
            "cat",
            "/data/hello"
        ]),
        "from-a"
    );
    let r = b.run(&[
        "run",
        "--rm",
        "-v",
        "shared:/data:ro",
        "busybox",
        "sh",
        "-c",
        "echo x > /data/nope",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    assert!(!remote.path().join("nope").exists());
    // And back: B writes, A reads.
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "shared:/data",
        "busybox",
        "sh",
        "-c",
        "echo from-b > /data/back",
    ]);
    assert_eq!(
        a.ok(&[
            "run",
            "--rm",
            "-v",
            "shared:/data",
            "busybox",
            "cat",
            "/data/back"
        ]),
        "from-b"
    );
    // A's plugin restarts: activated again, the volume still works.
    plugin_a.restart();
    assert_eq!(
        a.ok(&[
            "run",
            "--rm",
            "-v",
            "shared:/data",
            "busybox",
            "cat",
            "/data/hello"
        ]),
        "from-a"
    );
    // Removed on A: gone there, B and the remote data stay.
    a.ok(&["volume", "rm", "shared"]);
    assert!(a.names().is_empty(), "{:?}", a.names());
    assert_eq!(b.names(), ["shared"]);
    assert!(remote.path().join("hello").exists());
    b.ok(&["volume", "rm", "shared"]);
    assert!(b.names().is_empty());
    for h in [&a, &b] {
        assert!(
            common::mounts_under(h.b.path()).is_empty(),
            "{:?}",
            common::mounts_under(h.b.path())
        );
    }
}

/// dockerd beside berth, each with its own rclone plugin on the same WebDAV
/// remote: a file a dockerd container writes is read by a berth container,
/// and `volume inspect` shows the same plugin volume the same way. dockerd's
/// plugin directory is the host's /run/docker/plugins: the plugin there has
/// a name of this test's own and goes at the end.
#[test]
fn rclone_volume_side_by_side_with_dockerd() {
    if !common::dockerd_answers() {
        eprintln!("skipped: no dockerd answers");
        return;
    }
    require_rclone();
    let remote = tempfile::tempdir().unwrap();
    let (_webdav, port) = webdav(remote.path());
    let url = format!("webdav-url=http://127.0.0.1:{port}/");
    let name = format!("berthtest{}", std::process::id());
    let volume = format!("{name}-vol");
    let docker_dir = Path::new("/run/docker/plugins");
    std::fs::create_dir_all(docker_dir).unwrap();
    let _docker_plugin = RclonePlugin::start_in(docker_dir, &name);
    let h = Host::new();
    let _berth_plugin = RclonePlugin::start(&h, &name);
    let opts = [
        "-o",
        "remote=:webdav:",
        "-o",
        &url,
        "-o",
        "webdav-vendor=other",
    ];
    let mut create = vec!["volume", "create", "-d", &name];
    create.extend(opts);
    create.push(&volume);
    struct DockerVolume<'a>(&'a str);
    impl Drop for DockerVolume<'_> {
        fn drop(&mut self) {
            let _ = common::docker(&["volume", "rm", "-f", self.0]);
        }
    }
    assert!(common::docker(&create).is_some(), "docker volume create");
    let _cleanup = DockerVolume(&volume);
    h.ok(&create);
    let mount = format!("{volume}:/data");
    assert!(common::docker(&[
        "run",
        "--rm",
        "-v",
        &mount,
        "busybox",
        "sh",
        "-c",
        "echo from-dockerd > /data/d",
    ])
    .is_some());
    assert_eq!(
        h.ok(&[
            "run",
            "--rm",
            "-v",
            &format!("{mount}:ro"),
            "busybox",
            "cat",
            "/data/d"
        ]),
        "from-dockerd"
    );
    let theirs: Value =
        serde_json::from_str(&common::docker(&["volume", "inspect", &volume]).unwrap()).unwrap();
    let (ours, theirs) = (h.inspect(&volume), theirs[0].clone());
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&theirs), "{ours}\n{theirs}");
    for field in ["Driver", "Name", "Options", "Scope", "Status", "Labels"] {
        assert_eq!(ours[field], theirs[field], "{field}: {ours}\n{theirs}");
    }
    let line = format!("{name} {volume}");
    let ls = common::docker(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]).unwrap();
    assert!(ls.lines().any(|l| l == line), "{ls}");
    let ls = h.ok(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]);
    assert_eq!(ls, line);
    h.ok(&["volume", "rm", &volume]);
    assert!(common::docker(&["volume", "rm", &volume]).is_some());
}
