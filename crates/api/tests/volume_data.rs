//! berth's volume endpoints (extensions; Docker has none):
//! `/volumes/{name}/export|import|clone|rename` through a real `berth serve`,
//! with real volumes and a running container.

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;

/// (status, body bytes) of a request through curl; `upload` is sent as the
/// body, the answer is written to `save` when given.
fn http(
    socket: &Path,
    method: &str,
    path: &str,
    upload: Option<&Path>,
    save: Option<&Path>,
) -> (u16, Vec<u8>) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-w", "\n%{http_code}", "-X", method, "--unix-socket"])
        .arg(socket)
        .arg(format!("http://d/v1.41{path}"));
    if let Some(file) = upload {
        cmd.arg("-H")
            .arg("Content-Type: application/x-tar")
            .arg("--data-binary")
            .arg(format!("@{}", file.display()));
    }
    match save {
        Some(file) => cmd.arg("-o").arg(file),
        None => cmd.args(["-o", "-"]),
    };
    let out = cmd.output().expect("curl");
    let text = out.stdout;
    let split = text.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(&text[split..])
        .trim()
        .parse()
        .unwrap_or(0);
    (code, text[..split].to_vec())
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[test]
fn export_import_clone_and_rename_over_the_api() {
    let server = Server::start();
    let s = &server.socket;
    server.berth_ok(&["volume", "create", "data"]);
    server.berth_ok(&[
        "run",
        "--rm",
        "-v",
        "data:/d",
        "busybox",
        "sh",
        "-c",
        "mkdir /d/sub && echo hello > /d/sub/a && chown 7:8 /d/sub/a",
    ]);
    let dir = tempfile::tempdir().unwrap();

    for (compression, magic) in [
        ("none", &b""[..]),
        ("gzip", &[0x1f, 0x8b][..]),
        ("zstd", &[0x28, 0xb5][..]),
    ] {
        let file = dir.path().join(format!("data.{compression}"));
        let (code, body) = http(
            s,
            "GET",
            &format!("/volumes/data/export?compression={compression}"),
            None,
            Some(&file),
        );
        assert_eq!(code, 200, "{}", text(&body));
        let tar = std::fs::read(&file).unwrap();
        assert!(tar.starts_with(magic), "{compression}");
        let target = format!("from-{compression}");
        let (code, body) = http(
            s,
            "POST",
            &format!("/volumes/{target}/import"),
            Some(&file),
            None,
        );
        assert_eq!(code, 200, "{}", text(&body));
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["Created"], true);
        assert_eq!(
            server.berth_ok(&[
                "run",
                "--rm",
                "-v",
                &format!("{target}:/d"),
                "busybox",
                "stat",
                "-c",
                "%u:%g %s",
                "/d/sub/a"
            ]),
            "7:8 6"
        );
    }

    // Import refuses a non-empty volume (409) and garbage (400), changing nothing.
    let plain = dir.path().join("data.none");
    let (code, body) = http(s, "POST", "/volumes/data/import", Some(&plain), None);
    assert_eq!(code, 409, "{}", text(&body));
    assert!(text(&body).contains("not empty"));
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, vec![b'z'; 2048]).unwrap();
    let (code, body) = http(s, "POST", "/volumes/junk/import", Some(&garbage), None);
    assert_eq!(code, 400, "{}", text(&body));
    assert_eq!(http(s, "GET", "/volumes/junk", None, None).0, 404);

    // A running writer: export and clone refused (409, named) unless paused.
    server.berth_ok(&[
        "run", "-d", "--name", "writer", "-v", "data:/d", "busybox", "sleep", "1000",
    ]);
    let (code, body) = http(s, "GET", "/volumes/data/export", None, None);
    assert_eq!(code, 409, "{}", text(&body));
    assert!(text(&body).contains("[writer]"), "{}", text(&body));
    let (code, body) = http(s, "POST", "/volumes/data/clone?name=copy", None, None);
    assert_eq!(code, 409, "{}", text(&body));
    let (code, body) = http(
        s,
        "POST",
        "/volumes/data/clone?name=copy&pause=1",
        None,
        None,
    );
    assert_eq!(code, 201, "{}", text(&body));
    let made: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(made["Name"], "copy");
    let saved = dir.path().join("paused.tar");
    let (code, _) = http(s, "GET", "/volumes/data/export?pause=1", None, Some(&saved));
    assert_eq!(code, 200);
    assert!(std::fs::metadata(&saved).unwrap().len() > 1024);
    assert_eq!(
        server.berth_ok(&["inspect", "-f", "{{.State.Status}}", "writer"]),
        "running"
    );

    // Rename: refused while the writer runs, done once it is stopped.
    let (code, body) = http(s, "POST", "/volumes/data/rename?name=renamed", None, None);
    assert_eq!(code, 409, "{}", text(&body));
    assert!(text(&body).contains("[writer]"), "{}", text(&body));
    server.berth_ok(&["stop", "-t", "0", "writer"]);
    let (code, body) = http(s, "POST", "/volumes/data/rename?name=copy", None, None);
    assert_eq!(code, 409, "{}", text(&body));
    let (code, body) = http(s, "POST", "/volumes/data/rename?name=no%2Fgood", None, None);
    assert_eq!(code, 400, "{}", text(&body));
    let (code, body) = http(s, "POST", "/volumes/data/rename?name=renamed", None, None);
    assert_eq!(code, 204, "{}", text(&body));
    assert_eq!(http(s, "GET", "/volumes/data", None, None).0, 404);
    assert_eq!(
        server.berth_ok(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Name}}{{end}}",
            "writer"
        ]),
        "renamed"
    );
    // Unknown volumes: 404 everywhere.
    for (method, path) in [
        ("GET", "/volumes/nope/export"),
        ("POST", "/volumes/nope/clone?name=x1"),
        ("POST", "/volumes/nope/rename?name=x2"),
    ] {
        assert_eq!(http(s, method, path, None, None).0, 404, "{path}");
    }
}
