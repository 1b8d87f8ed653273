//! The walking test: every field of the Engine API's create request
//! (`Config`, all of `HostConfig` with its nested objects, the endpoint
//! settings of `NetworkingConfig`), taken from the API model itself
//! (`fields/values.rs`), is sent alone to `berth serve` with a non-default
//! value, and must be either applied (its effect read from inside the
//! container or from the kernel, `fields/table.rs`) or refused with a 4xx
//! naming it and nothing created. A field that is neither, or that the
//! table does not know, fails the walk.

mod common;
#[path = "fields/table.rs"]
mod table;
#[path = "fields/values.rs"]
mod values;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{json, Value};
use table::Expect;

pub struct Walk {
    server: Server,
    /// Bind source: `f` holds `walked-bind`; `sub/` is a tmpfs mount.
    dir: PathBuf,
    /// Whether the mount `dir` is on propagates (rslave shows it).
    walkdir_shared: bool,
    net: String,
    /// This run's /24 on the walk network (`10.230.N`).
    subnet: String,
    six: String,
    port: u16,
}

impl Walk {
    fn api(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method]);
        if !body.is_null() {
            cmd.args(["-H", "Content-Type: application/json", "-d"])
                .arg(body.to_string());
        }
        let out = cmd
            .arg("--unix-socket")
            .arg(&self.server.socket)
            .arg(format!("http://d/v1.45{path}"))
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
        )
    }

    fn berth(&self, args: &[&str]) -> String {
        let out = self.server.berth(args);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn berth_err(&self, args: &[&str]) -> String {
        let out = self.server.berth(args);
        String::from_utf8_lossy(&out.stderr).trim().to_string()
    }

    fn inspect(&self, id: &str, format: &str) -> String {
        self.berth(&["inspect", "-f", format, id])
    }

    fn poll(&self, id: &str, format: &str, want: &str) -> Result<(), String> {
        self.poll_until(id, format, |v| v.contains(want))
    }

    fn poll_until(
        &self,
        id: &str,
        format: &str,
        done: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let value = self.inspect(id, format);
            if done(&value) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{format}: {value}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.server.root.path().join("containers").join(id)
    }

    fn http_get(&self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("curl")
                .args(["-s", "--max-time", "2"])
                .arg(format!("http://127.0.0.1:{port}/"))
                .output()
                .expect("curl");
            let body = String::from_utf8_lossy(&out.stdout).into_owned();
            if body.contains("walked-port") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("127.0.0.1:{port} answered {body:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// crun keeps a `status` file in its state directory, runc a `state.json`.
    fn runtime_is_crun(&self, id: &str) -> Result<(), String> {
        let run_dir = self.server.env()[0].1.clone();
        let out = Command::new("find")
            .arg(run_dir)
            .args(["-maxdepth", "4", "-path"])
            .arg(format!("*/{id}/*"))
            .output()
            .expect("find");
        let files = String::from_utf8_lossy(&out.stdout).into_owned();
        (files.contains(&format!("{id}/status")) && !files.contains("state.json"))
            .then_some(())
            .ok_or(files)
    }

    fn fill(&self, text: &str) -> String {
        text.replace("WALKDIR", &self.dir.display().to_string())
            .replace("WALKNETPEER", "walknetpeer")
            .replace("WALKPEER", "walkpeer")
            .replace("WALKNET", &self.net)
            .replace("WALKPORT", &self.port.to_string())
            .replace("SUBNET", &self.subnet)
            .replace("SIX", &self.six)
    }

    /// What exists: containers, volumes, container directories.
    fn inventory(&self) -> (Value, Value, Vec<String>) {
        let (_, containers) = self.api("GET", "/containers/json?all=1", &Value::Null);
        let ids: Vec<Value> = containers
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["Id"].clone())
            .collect();
        let (_, volumes) = self.api("GET", "/volumes", &Value::Null);
        let mut names: Vec<Value> = volumes["Volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v["Name"].clone())
            .collect();
        names.sort_by_key(|v| v.to_string());
        let mut dirs: Vec<String> = std::fs::read_dir(self.server.root.path().join("containers"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        (json!(ids), json!(names), dirs)
    }

    fn remove(&self, id: &str) {
        self.api(
            "DELETE",
            &format!("/containers/{id}?force=1&v=1"),
            &Value::Null,
        );
    }

    /// Walks one field; `Err` says how it failed.
    fn field(&self, n: usize, field: &values::Field) -> Result<(), String> {
        let case = table::case(&field.name).ok_or("no entry in the table")?;
        let script: String = match &case.expect {
            Expect::Output(s, _)
            | Expect::Judged(s, _)
            | Expect::Running(s, _)
            | Expect::Tried(s, _) => s.to_string(),
            Expect::Scripted(s, _) => s.clone(),
            _ => "true".into(),
        };
        let mut body = json!({
            "Image": "busybox:latest",
            "Cmd": ["sh", "-c", script],
            "HostConfig": {"NetworkMode": "none"},
        });
        (case.setup)(&mut body);
        let mut at = &mut body;
        for (i, key) in field.path.iter().enumerate() {
            let last = i + 1 == field.path.len();
            at = match key.parse::<usize>() {
                Ok(index) => {
                    if !at.is_array() {
                        *at = json!([{}]);
                    }
                    &mut at[index]
                }
                Err(_) if last => &mut at[key.as_str()],
                Err(_) => {
                    if at[key.as_str()].is_null() {
                        at[key.as_str()] = json!({});
                    }
                    &mut at[key.as_str()]
                }
            };
        }
        // A nested field merges into what the setup made.
        match (at.as_object_mut(), field.value.as_object()) {
            (Some(object), Some(value)) => object.extend(value.clone()),
            _ => *at = field.value.clone(),
        }
        let body: Value = serde_json::from_str(&self.fill(&body.to_string())).unwrap();
        let before = self.inventory();
        let name = format!("walk{n}");
        let (status, created) = self.api("POST", &format!("/containers/create?name={name}"), &body);
        if let Expect::Refused(text) = case.expect {
            let message = created["message"].as_str().unwrap_or_default().to_string();
            if !(400..500).contains(&status) {
                self.remove(&name);
                return Err(format!("not refused: {status} {created} for {body}"));
            }
            if !message.to_lowercase().contains(&text.to_lowercase()) {
                return Err(format!("refused without naming {text:?}: {message}"));
            }
            let after = self.inventory();
            return (before == after)
                .then_some(())
                .ok_or(format!("refused but left {after:?} (before {before:?})"));
        }
        if status != 201 {
            return Err(format!("{status} {created} for {body}"));
        }
        let id = created["Id"].as_str().unwrap_or_default().to_string();
        let result = match case.expect {
            Expect::Unchecked(_) => Ok(()),
            Expect::Output(_, want) | Expect::Scripted(_, want) => {
                let output = self.berth(&["start", "-a", &id]);
                let want = self.fill(&want);
                (output.trim() == want)
                    .then_some(())
                    .ok_or(format!("output {output:?}, want {want:?}"))
            }
            Expect::Judged(_, check) => {
                let output = self.berth(&["start", "-a", &id]);
                check(self, &output)
            }
            Expect::Running(_, check) => {
                let out = self.server.berth(&["start", &id]);
                if out.status.success() {
                    check(self, &id)
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).into_owned())
                }
            }
            Expect::Tried(_, check) => {
                let out = self.server.berth(&["start", &id]);
                let started = if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).into_owned())
                };
                check(self, &id, started)
            }
            Expect::Refused(_) => unreachable!(),
        };
        self.remove(&id);
        result
    }
}

/// A tmpfs mounted under the bind source, unmounted however the test ends.
struct SubMount(PathBuf);

impl Drop for SubMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn shared(path: &Path) -> bool {
    // The mount holding `path` (longest mount point prefix) has a peer group.
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let point = fields.get(4)?;
            path.starts_with(point)
                .then(|| (point.len(), l.contains(" shared:")))
        })
        .max_by_key(|(len, _)| *len)
        .is_some_and(|(_, shared)| shared)
}

#[test]
fn every_create_field_is_applied_or_refused() {
    let server = Server::start();
    let dir = server.root.path().join("walkdir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("f"), "walked-bind\n").unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(dir.join("sub"))
        .status()
        .unwrap();
    assert!(status.success());
    let _sub = SubMount(dir.join("sub"));
    std::fs::write(dir.join("sub/walked-sub"), "x").unwrap();
    // A port of this test's own, held until the container needs it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pid = std::process::id();
    let walk = Walk {
        walkdir_shared: shared(&dir),
        dir,
        net: format!("walknet{pid}"),
        subnet: format!("10.230.{}", pid % 250 + 1),
        six: format!("{:x}", pid % 0xffff),
        port,
        server,
    };
    walk.server.berth_ok(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        &format!("{}.0/24", walk.subnet),
        "--subnet",
        &format!("fd00:{}::/64", walk.six),
        &walk.net,
    ]);
    walk.server.berth_ok(&[
        "run", "-d", "--name", "walkpeer", "-v", "/peervol", "busybox", "sleep", "600",
    ]);
    walk.server.berth_ok(&[
        "run",
        "-d",
        "--name",
        "walknetpeer",
        "--network",
        &walk.net,
        "busybox",
        "sleep",
        "600",
    ]);

    let fields = values::fields();
    let mut failures = Vec::new();
    let mut refused = 0;
    for (n, field) in fields.iter().enumerate() {
        match table::case(&field.name).map(|c| c.expect) {
            Some(Expect::Refused(_)) => refused += 1,
            Some(Expect::Unchecked(why)) => eprintln!("unchecked {}: {why}", field.name),
            _ => {}
        }
        if let Err(e) = walk.field(n, field) {
            failures.push(format!("{}: {e}", field.name));
        }
    }
    walk.server.berth(&["rm", "-fv", "walkpeer", "walknetpeer"]);
    walk.server.berth(&["network", "rm", &walk.net]);
    eprintln!("{} fields walked, {refused} refused", fields.len());
    assert!(fields.len() > 100, "{} fields", fields.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
