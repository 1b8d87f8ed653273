//! `search` against a registry's v1 search API on loopback (a small
//! server of the test's own): the berth CLI, and each docker CLI through
//! `berth serve`, print what the docker CLI prints through dockerd;
//! filters and limits apply; a registry without the API is dockerd's error.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{docker_clients, Server};

/// A v1 search API: three repositories, whatever the query.
const SERVER: &str = r#"
import http.server, json, sys
RESULTS = [
    {"name": "team/app", "description": "The team's application, built nightly from the main branch of its repository", "star_count": 7, "is_official": False, "is_automated": True},
    {"name": "app", "description": "Official app", "star_count": 120, "is_official": True, "is_automated": False},
    {"name": "other/app-tools", "description": "Tools", "star_count": 1, "is_official": False, "is_automated": False},
]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if sys.argv[1] == "no-search-api" or not self.path.startswith("/v1/search"):
            self.send_response(404); self.end_headers(); return
        body = json.dumps({"num_results": len(RESULTS), "query": "app", "results": RESULTS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct SearchApi {
    child: Child,
    host: String,
}

impl SearchApi {
    fn start(mode: &str) -> SearchApi {
        let mut child = Command::new("python3")
            .args(["-c", SERVER, mode])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        SearchApi {
            child,
            host: format!("127.0.0.1:{}", line.trim()),
        }
    }
}

impl Drop for SearchApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docker(cli: &Path, host: &str, args: &[&str]) -> Output {
    Command::new(cli)
        .env("DOCKER_HOST", host)
        .args(args)
        .output()
        .expect("docker")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn search_asks_the_registry_named_and_prints_dockers_columns() {
    let api = SearchApi::start("search");
    let server = Server::start();
    let term = format!("{}/app", api.host);

    let out = server.berth(&["search", &term]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NAME              DESCRIPTION                                     STARS     OFFICIAL\n\
         team/app          The team's application, built nightly from t…   7         \n\
         app               Official app                                    120       [OK]\n\
         other/app-tools   Tools                                           1         \n"
    );
    let out = server.berth(&[
        "search",
        "--filter",
        "is-official=true",
        "--format",
        "{{.Name}}",
        &term,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "app\n",
        "{}",
        text(&out)
    );
    let out = server.berth(&[
        "search",
        "-f",
        "stars=5",
        "--format",
        "{{.Name}} {{.StarCount}}",
        &term,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "team/app 7\napp 120\n",
        "{}",
        text(&out)
    );
    let out = server.berth(&["search", "-f", "colour=red", &term]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("invalid filter 'colour'"),
        "{}",
        text(&out)
    );

    // Each docker CLI through berth serve, and through dockerd when one
    // answers: the same output.
    let dockerd = docker(
        Path::new("docker"),
        "unix:///var/run/docker.sock",
        &["version"],
    )
    .status
    .success();
    for cli in docker_clients() {
        for args in [
            vec!["search", &term],
            vec!["search", "--no-trunc", "--filter", "stars=5", &term],
        ] {
            let ours = docker(&cli, &server.docker_host(), &args);
            assert!(ours.status.success(), "{}: {}", cli.display(), text(&ours));
            assert!(
                String::from_utf8_lossy(&ours.stdout).contains("team/app"),
                "{}",
                text(&ours)
            );
            if dockerd {
                let theirs = docker(&cli, "unix:///var/run/docker.sock", &args);
                assert_eq!(text(&ours), text(&theirs), "{} {args:?}", cli.display());
            }
        }
    }

    // A registry without the v1 search API (docker-registry's v2 only):
    // dockerd's error, and nothing printed.
    let missing = SearchApi::start("no-search-api");
    let term = format!("{}/app", missing.host);
    let out = server.berth(&["search", &term]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error response from daemon: Unexpected status code 404"
    );
    if dockerd {
        let theirs = docker(
            Path::new("docker"),
            "unix:///var/run/docker.sock",
            &["search", &term],
        );
        let ours = docker(
            Path::new("docker"),
            &server.docker_host(),
            &["search", &term],
        );
        assert_eq!(text(&ours), text(&theirs));
    }
}
