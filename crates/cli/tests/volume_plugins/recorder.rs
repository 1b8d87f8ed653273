//! A volume plugin written for the tests: Docker's plugin protocol served on
//! a unix socket by this test process, recording every call (method and
//! body) and answering as the test tells it to (answer, refuse with `Err`,
//! hang, or close the connection mid-call).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// How the plugin answers one method.
#[derive(Debug, Clone)]
pub enum Answer {
    Normal,
    Refuse(String),
    Hang,
    Die,
    /// Answers as [`Answer::Normal`] after this long.
    After(Duration),
}

#[derive(Default)]
struct State {
    calls: Vec<(String, Value)>,
    answers: BTreeMap<String, Answer>,
    /// Volume name -> options.
    volumes: BTreeMap<String, Value>,
}

pub struct Recorder {
    pub socket: PathBuf,
    /// Where its volumes' data is (`base/NAME`); kept across a restart.
    pub base: Arc<tempfile::TempDir>,
    state: Arc<Mutex<State>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    /// Serves at `dir/NAME.sock`.
    pub fn start(dir: &Path, name: &str) -> Recorder {
        let base = Arc::new(tempfile::tempdir().unwrap());
        Self::start_with(dir, name, Arc::new(Mutex::new(State::default())), base)
    }

    fn start_with(
        dir: &Path,
        name: &str,
        state: Arc<Mutex<State>>,
        base: Arc<tempfile::TempDir>,
    ) -> Recorder {
        let socket = dir.join(format!("{name}.sock"));
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).expect("plugin socket");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (st, b, s) = (state.clone(), base.path().to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, b) = (st.clone(), b.clone());
                std::thread::spawn(move || serve(conn, &st, &b));
            }
        });
        Recorder {
            socket,
            base,
            state,
            stop,
        }
    }

    /// Stops listening (the socket file stays: a dead plugin), then starts
    /// again on the same socket with the same volumes: a plugin restart.
    pub fn restart(self, dir: &Path, name: &str) -> Recorder {
        let (state, base) = (self.state.clone(), self.base.clone());
        drop(self);
        Self::start_with(dir, name, state, base)
    }

    /// Stops answering new connections; the socket refuses them.
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it ends and drops the listener.
        let _ = UnixStream::connect(&self.socket);
        for _ in 0..100 {
            if UnixStream::connect(&self.socket).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn answer(&self, method: &str, answer: Answer) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(method.to_string(), answer);
    }

    /// The calls so far, as `Method` (without `VolumeDriver.`) and body.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The calls of `method`.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b)
            .collect()
    }

    /// The sequence of volume calls about `volume`, without the read-only
    /// ones (Get, Path, List, Capabilities).
    pub fn lifecycle(&self, volume: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(m, b)| {
                ["Create", "Mount", "Unmount", "Remove"].contains(&m.as_str())
                    && b["Name"] == volume
            })
            .map(|(m, b)| match b["ID"].as_str() {
                Some(id) => format!("{m} {id}"),
                None => m,
            })
            .collect()
    }

    /// A volume made behind berth's back (through another host).
    pub fn add_volume(&self, name: &str) {
        std::fs::create_dir_all(self.base.path().join(name)).unwrap();
        let mut st = self.state.lock().unwrap();
        st.volumes.insert(name.to_string(), json!({}));
    }

    pub fn has_volume(&self, name: &str) -> bool {
        self.state.lock().unwrap().volumes.contains_key(name)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn serve(conn: UnixStream, state: &Mutex<State>, base: &Path) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let method = path.trim_start_matches('/').to_string();
        let short = method
            .strip_prefix("VolumeDriver.")
            .unwrap_or(&method)
            .to_string();
        let answer = {
            let mut st = state.lock().unwrap();
            st.calls.push((short.clone(), body.clone()));
            st.answers.get(&short).cloned().unwrap_or(Answer::Normal)
        };
        let reply = match answer {
            Answer::Hang => {
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            Answer::Die => return,
            Answer::Refuse(err) => json!({ "Err": err }),
            Answer::Normal => normal(&short, &body, state, base),
            Answer::After(delay) => {
                std::thread::sleep(delay);
                normal(&short, &body, state, base)
            }
        };
        let text = reply.to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if conn.write_all(head.as_bytes()).is_err() || conn.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

fn normal(method: &str, body: &Value, state: &Mutex<State>, base: &Path) -> Value {
    let name = body["Name"].as_str().unwrap_or_default().to_string();
    let dir = base.join(&name);
    let mut st = state.lock().unwrap();
    match method {
        "Plugin.Activate" => json!({"Implements": ["VolumeDriver"]}),
        "Create" => {
            std::fs::create_dir_all(&dir).unwrap();
            st.volumes.insert(name, body["Opts"].clone());
            json!({"Err": ""})
        }
        "Remove" => {
            st.volumes.remove(&name);
            let _ = std::fs::remove_dir_all(&dir);
            json!({"Err": ""})
        }
        "Mount" | "Path" => json!({"Mountpoint": dir, "Err": ""}),
        "Unmount" => json!({"Err": ""}),
        "Get" => match st.volumes.get(&name) {
            Some(opts) => json!({"Volume": {
                "Name": name, "Mountpoint": dir, "Status": {"recorded": true, "opts": opts}
            }, "Err": ""}),
            None => json!({"Err": "no such volume"}),
        },
        "List" => {
            let list: Vec<Value> = st
                .volumes
                .keys()
                .map(|n| json!({"Name": n, "Mountpoint": base.join(n)}))
                .collect();
            json!({"Volumes": list, "Err": ""})
        }
        "Capabilities" => json!({"Capabilities": {"Scope": "global"}}),
        _ => json!({"Err": format!("unknown method {method}")}),
    }
}
