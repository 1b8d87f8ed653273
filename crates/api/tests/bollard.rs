//! The bollard client against `berth serve`: containers, exec, attach,
//! archives, images, volumes, events, errors and version negotiation.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, DownloadFromContainerOptions, EventsOptions,
    ListContainersOptions, ListImagesOptions, ListVolumesOptions, LogsOptions,
    RemoveContainerOptions, RemoveVolumeOptions, UploadToContainerOptions, WaitContainerOptions,
};
use bollard::{Docker, API_DEFAULT_VERSION};
use common::Server;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

fn connect(server: &Server) -> Docker {
    Docker::connect_with_unix(server.socket.to_str().unwrap(), 60, API_DEFAULT_VERSION)
        .expect("connect")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn body(image: &str, cmd: &[&str]) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

async fn create(docker: &Docker, name: Option<&str>, config: ContainerCreateBody) -> String {
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: name.map(String::from),
                ..Default::default()
            }),
            config,
        )
        .await
        .expect("create")
        .id
}

async fn output_of(
    mut s: impl futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
) -> (String, String) {
    let (mut out, mut err) = (String::new(), String::new());
    while let Some(item) = s.next().await {
        match item.expect("stream") {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                out.push_str(&String::from_utf8_lossy(&message))
            }
            LogOutput::StdErr { message } => err.push_str(&String::from_utf8_lossy(&message)),
            LogOutput::StdIn { .. } => {}
        }
    }
    (out, err)
}

fn status_of(e: &bollard::errors::Error) -> (u16, String) {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => (*status_code, message.clone()),
        other => panic!("not a server error: {other:?}"),
    }
}

#[test]
fn version_negotiation_and_ping() {
    let server = Server::start();
    runtime().block_on(async {
        // bollard's default /v1.53/ is above ours: served as ours.
        let docker = connect(&server);
        let v = docker.version().await.unwrap();
        assert_eq!(v.api_version.as_deref(), Some("1.45"));
        assert_eq!(v.min_api_version.as_deref(), Some("1.24"));
        docker.ping().await.unwrap();
        let docker = docker.negotiate_version().await.unwrap();
        assert_eq!(docker.client_version().to_string(), "1.45");
        let info = docker.info().await.unwrap();
        assert_eq!(info.images, Some(1));
    });
    // Old versioned paths and HEAD /_ping, as raw HTTP.
    let head = raw_http(
        &server,
        "HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("api-version: 1.45"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("ostype: linux"),
        "{head}"
    );
    let old = raw_http(
        &server,
        "GET /v1.12/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(old.starts_with("HTTP/1.1 400"), "{old}");
    assert!(
        old.contains("Minimum supported API version is 1.24"),
        "{old}"
    );
    let images = raw_http(
        &server,
        "GET /v1.41/images/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        images.contains("\"VirtualSize\""),
        "legacy field for 1.41: {images}"
    );
    let images = raw_http(
        &server,
        "GET /v1.45/images/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(!images.contains("\"VirtualSize\""), "{images}");
}

fn raw_http(server: &Server, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn container_lifecycle_logs_and_errors() {
    let server = Server::start();
    runtime().block_on(async {
        let docker = connect(&server);
        let mut config = body("busybox", &["sh", "-c", "echo out; echo err >&2; exit 3"]);
        config.labels = Some(HashMap::from([("suite".to_string(), "bollard".to_string())]));
        let id = create(&docker, Some("first"), config).await;
        // The wait is sent before the start, as docker run does.
        let mut wait = docker.wait_container(
            &id,
            Some(WaitContainerOptions {
                condition: "next-exit".into(),
            }),
        );
        docker.start_container(&id, None).await.unwrap();
        let code = match wait.next().await.unwrap() {
            Ok(r) => r.status_code,
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => code,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(code, 3);
        let inspect = docker.inspect_container(&id, None).await.unwrap();
        assert_eq!(inspect.state.unwrap().exit_code, Some(3));
        assert_eq!(inspect.name.as_deref(), Some("/first"));
        let logs = docker.logs(
            &id,
            Some(LogsOptions {
                stdout: true,
                stderr: true,
                ..Default::default()
            }),
        );
        assert_eq!(output_of(logs).await, ("out\n".into(), "err\n".into()));

        // List with bollard's list-style filters.
        let listed = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(HashMap::from([("label".to_string(), vec!["suite=bollard".to_string()])])),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].names.as_ref().unwrap()[0], "/first");
        assert!(listed[0].status.as_ref().unwrap().starts_with("Exited (3)"));
        let none = docker.list_containers(None).await.unwrap();
        assert!(none.is_empty(), "only running ones by default");

        // Errors: 404, 409 name in use, 400 bad parameter — with berth's text.
        let e = docker.inspect_container("nope", None).await.unwrap_err();
        assert_eq!(status_of(&e), (404, "No such container: nope".into()));
        let e = docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some("first".into()),
                    ..Default::default()
                }),
                body("busybox", &["true"]),
            )
            .await
            .unwrap_err();
        assert_eq!(status_of(&e).0, 409);
        assert!(status_of(&e).1.contains("is already in use"));
        let e = docker
            .create_container(None::<CreateContainerOptions>, body("no-such-image", &["true"]))
            .await
            .unwrap_err();
        assert_eq!(status_of(&e).0, 404);
        let mut bad = body("busybox", &["true"]);
        bad.working_dir = Some("relative".into());
        let e = docker
            .create_container(None::<CreateContainerOptions>, bad)
            .await
            .unwrap_err();
        assert_eq!(status_of(&e).0, 400);

        // Running: 304 on a second start, stop, restart, kill, pause.
        let id = create(&docker, Some("sleeper"), body("busybox", &["sleep", "1000"])).await;
        docker.start_container(&id, None).await.unwrap();
        let raw = raw_http(&server, &format!("POST /containers/{id}/start HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        assert!(raw.starts_with("HTTP/1.1 304"), "{raw}");
        docker.pause_container(&id).await.unwrap();
        let state = docker.inspect_container(&id, None).await.unwrap().state.unwrap();
        assert_eq!(state.paused, Some(true));
        docker.unpause_container(&id).await.unwrap();
        let e = docker.remove_container(&id, None).await.unwrap_err();
        assert_eq!(status_of(&e).0, 409);
        docker.kill_container(&id, None).await.unwrap();
        let state = docker.inspect_container(&id, None).await.unwrap().state.unwrap();
        assert_eq!(state.running, Some(false));
        assert_eq!(state.exit_code, Some(137));
        docker
            .remove_container(
                &id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
        let e = docker.inspect_container(&id, None).await.unwrap_err();
        assert_eq!(status_of(&e).0, 404);
    });
}

#[test]
fn attach_before_start_exec_and_archives() {
    let server = Server::start();
    runtime().block_on(async {
        let docker = connect(&server);
        // Attach (hijacked, with stdin) before the start, as `docker run -i`.
        let mut config = body(
            "busybox",
            &["sh", "-c", "read line; echo got:$line; echo bye >&2"],
        );
        config.open_stdin = Some(true);
        config.stdin_once = Some(true);
        let id = create(&docker, None, config).await;
        let mut attached = docker
            .attach_container(
                &id,
                Some(AttachContainerOptions {
                    stdin: true,
                    stdout: true,
                    stderr: true,
                    stream: true,
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
        docker.start_container(&id, None).await.unwrap();
        attached.input.write_all(b"hello\n").await.unwrap();
        attached.input.flush().await.unwrap();
        let (out, err) = tokio::time::timeout(Duration::from_secs(20), output_of(attached.output))
            .await
            .expect("attach stream ends with the container");
        assert_eq!(out, "got:hello\n");
        assert_eq!(err, "bye\n");

        // exec with output, exit code in inspect.
        let id = create(&docker, Some("box"), body("busybox", &["sleep", "1000"])).await;
        docker.start_container(&id, None).await.unwrap();
        let exec = docker
            .create_exec(
                &id,
                ExecConfig {
                    cmd: Some(vec![
                        "sh".into(),
                        "-c".into(),
                        "echo $GREETING; pwd; exit 9".into(),
                    ]),
                    env: Some(vec!["GREETING=hi-exec".into()]),
                    working_dir: Some("/tmp".into()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        match docker
            .start_exec(&exec.id, None::<StartExecOptions>)
            .await
            .unwrap()
        {
            StartExecResults::Attached { output, .. } => {
                assert_eq!(output_of(output).await.0, "hi-exec\n/tmp\n");
            }
            StartExecResults::Detached => panic!("attached exec expected"),
        }
        let inspected = docker.inspect_exec(&exec.id).await.unwrap();
        assert_eq!(inspected.exit_code, Some(9));
        assert_eq!(inspected.running, Some(false));
        let container = docker.inspect_container(&id, None).await.unwrap();
        assert_eq!(container.exec_ids, Some(vec![exec.id.clone()]));
        let e = docker.inspect_exec("0123456789abcdef").await.unwrap_err();
        assert_eq!(status_of(&e).0, 404);

        // Archives: upload a tar, read it back through exec and download.
        let mut tar = Vec::new();
        {
            let mut builder = TarBuilder::new(&mut tar);
            builder.file("hello.txt", b"from bollard\n");
            builder.finish();
        }
        docker
            .upload_to_container(
                &id,
                Some(UploadToContainerOptions {
                    path: "/tmp".into(),
                    ..Default::default()
                }),
                bollard::body_full(tar.into()),
            )
            .await
            .unwrap();
        let mut chunks = docker.download_from_container(
            &id,
            Some(DownloadFromContainerOptions {
                path: "/tmp/hello.txt".into(),
            }),
        );
        let mut downloaded = Vec::new();
        while let Some(c) = chunks.next().await {
            downloaded.extend_from_slice(&c.unwrap());
        }
        let text = String::from_utf8_lossy(&downloaded);
        assert!(
            text.contains("hello.txt") && text.contains("from bollard"),
            "{text}"
        );
        let info = docker
            .get_container_archive_info(
                &id,
                Some(bollard::query_parameters::ContainerArchiveInfoOptions {
                    path: "/tmp/hello.txt".into(),
                }),
            )
            .await
            .unwrap();
        assert_eq!(info.size, 13);
        assert_eq!(info.name, "hello.txt");
        let changes = docker
            .container_changes(&id)
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(
            changes.iter().any(|c| c.path == "/tmp/hello.txt"),
            "{changes:?}"
        );
        let top = docker
            .top_processes(&id, None::<bollard::query_parameters::TopOptions>)
            .await
            .unwrap();
        assert!(top
            .processes
            .unwrap()
            .iter()
            .any(|p| p.join(" ").contains("sleep 1000")));
    });
}

/// A minimal tar writer for one regular file (ustar headers by hand would be
/// a parser of our own; this only fills the fields tar readers need).
struct TarBuilder<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> TarBuilder<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        TarBuilder { out }
    }

    fn file(&mut self, name: &str, data: &[u8]) {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[108..115].copy_from_slice(b"0000000");
        header[116..123].copy_from_slice(b"0000000");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| *b as u32).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        self.out.extend_from_slice(&header);
        self.out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.out.extend(std::iter::repeat_n(0u8, pad));
    }

    fn finish(&mut self) {
        self.out.extend(std::iter::repeat_n(0u8, 1024));
    }
}

#[test]
fn images_volumes_and_events() {
    let server = Server::start();
    runtime().block_on(async {
        let docker = connect(&server);
        let images = docker.list_images(None::<ListImagesOptions>).await.unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].repo_tags, vec!["busybox:latest".to_string()]);
        let inspected = docker.inspect_image("busybox").await.unwrap();
        assert_eq!(inspected.id.as_deref(), Some(images[0].id.as_str()));
        docker
            .tag_image(
                "busybox",
                Some(bollard::query_parameters::TagImageOptions {
                    repo: Some("copy".into()),
                    tag: Some("1".into()),
                }),
            )
            .await
            .unwrap();
        let filtered = docker
            .list_images(Some(ListImagesOptions {
                filters: Some(HashMap::from([(
                    "reference".to_string(),
                    vec!["cop*".to_string()],
                )])),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(filtered.len(), 1);
        let deleted = docker
            .remove_image(
                "copy:1",
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
            .unwrap();
        assert_eq!(deleted[0].untagged.as_deref(), Some("copy:1"));
        let history = docker.image_history("busybox").await.unwrap();
        assert!(!history.is_empty());
        let e = docker.inspect_image("nope:1").await.unwrap_err();
        assert_eq!(status_of(&e).0, 404);

        // Volumes: create with labels, filter, in-use conflict, prune.
        let v = docker
            .create_volume(VolumeCreateRequest {
                name: Some("data".into()),
                labels: Some(HashMap::from([("k".to_string(), "v".to_string())])),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            v.mountpoint,
            server
                .root
                .path()
                .join("volumes/data/_data")
                .to_string_lossy()
        );
        let listed = docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(HashMap::from([(
                    "label".to_string(),
                    vec!["k=v".to_string()],
                )])),
            }))
            .await
            .unwrap();
        assert_eq!(listed.volumes.unwrap().len(), 1);

        // Events: start, die and destroy of what this server does.
        // bollard sends the request when the stream is first polled: poll it
        // from a task and give the subscription a moment to reach the server.
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let subscriber = docker.clone();
        tokio::spawn(async move {
            let mut stream = subscriber.events(Some(EventsOptions {
                filters: Some(HashMap::from([(
                    "type".to_string(),
                    vec!["container".to_string()],
                )])),
                ..Default::default()
            }));
            while let Some(e) = stream.next().await {
                if tx.send(e).is_err() {
                    break;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut config = body("busybox", &["sh", "-c", "echo x > /data/f"]);
        config.host_config = Some(HostConfig {
            binds: Some(vec!["data:/data".into()]),
            ..Default::default()
        });
        let id = create(&docker, None, config).await;
        docker.start_container(&id, None).await.unwrap();
        let mut actions = Vec::new();
        while actions.len() < 3 {
            let e = tokio::time::timeout(Duration::from_secs(20), events.recv())
                .await
                .expect("events arrive")
                .unwrap()
                .unwrap();
            assert_eq!(e.actor.as_ref().unwrap().id.as_deref(), Some(id.as_str()));
            actions.push(e.action.unwrap());
        }
        assert_eq!(actions, ["create", "start", "die"]);
        // system df: a container's SizeRootFs is its writable layer plus its
        // image, as the CLI's `ps -s` "virtual" size.
        let df = raw_http(&server, "GET /v1.45/system/df HTTP/1.0\r\n\r\n");
        let usage: serde_json::Value =
            serde_json::from_str(&df[df.find("\r\n\r\n").unwrap() + 4..]).unwrap();
        let row = usage["Containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["Id"] == id.as_str())
            .unwrap();
        let image_size = inspected.size.unwrap() as u64;
        assert!(image_size > 0);
        assert_eq!(
            row["SizeRootFs"].as_u64().unwrap(),
            row["SizeRw"].as_u64().unwrap() + image_size,
            "{row}"
        );
        let e = docker
            .remove_volume("data", None::<RemoveVolumeOptions>)
            .await
            .unwrap_err();
        assert_eq!(status_of(&e).0, 409);
        assert!(status_of(&e).1.contains("volume is in use"));
        assert_eq!(
            std::fs::read_to_string(server.root.path().join("volumes/data/_data/f")).unwrap(),
            "x\n"
        );
        docker.remove_container(&id, None).await.unwrap();
        let e = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(e.action.as_deref(), Some("destroy"));
        docker
            .remove_volume("data", None::<RemoveVolumeOptions>)
            .await
            .unwrap();
        let e = docker.inspect_volume("data").await.unwrap_err();
        assert_eq!(status_of(&e), (404, "get data: no such volume".into()));
    });
}

#[test]
fn server_socket_signals_and_restarts() {
    let mut server = Server::start();
    assert_eq!(server.socket_mode(), 0o660);
    let id = server.berth_ok(&["run", "-d", "busybox", "sleep", "1000"]);
    // Killing the server loses nothing: the container runs on, a new server sees it.
    assert!(server.terminate(), "SIGTERM exits cleanly");
    assert!(!server.socket.exists(), "the socket is removed on SIGTERM");
    server.spawn();
    runtime().block_on(async {
        let docker = connect(&server);
        let state = docker
            .inspect_container(&id, None)
            .await
            .unwrap()
            .state
            .unwrap();
        assert_eq!(state.running, Some(true));
        // Several clients at once: a blocking wait does not stop the others.
        let waiter = docker.clone();
        let wid = id.clone();
        let wait = tokio::spawn(async move {
            waiter
                .wait_container(&wid, None::<WaitContainerOptions>)
                .next()
                .await
        });
        for _ in 0..5 {
            docker.ping().await.unwrap();
        }
        docker
            .stop_container(
                &id,
                Some(bollard::query_parameters::StopContainerOptions {
                    t: Some(1),
                    signal: None,
                }),
            )
            .await
            .unwrap();
        let waited = tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("wait returns after the stop")
            .unwrap()
            .unwrap();
        let code = match waited {
            Ok(r) => r.status_code,
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => code,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            code, 137,
            "sleep ignores SIGTERM as pid 1: killed after the timeout"
        );
    });
}

#[test]
fn tcp_listener_answers_and_warns() {
    use std::io::{BufRead, Read, Write};
    let mut server = Server::start();
    // One server per root: the unix socket's one goes first.
    assert!(server.terminate());
    // The test picks the port: it holds it until `berth serve` starts, and
    // should another process take it in that instant, tries another one.
    // The warning is printed once the listener is bound, so what answers
    // after it is berth's.
    let (mut child, port, warning) = (0..5)
        .find_map(|_| {
            let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = held.local_addr().unwrap().port();
            drop(held);
            let mut child = std::process::Command::new(common::berth_bin())
                .arg("--root")
                .arg(server.root.path())
                .envs(server.env())
                .args(["serve", "-H", &format!("tcp://127.0.0.1:{port}")])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut first = String::new();
            std::io::BufReader::new(child.stderr.as_mut().unwrap())
                .read_line(&mut first)
                .unwrap();
            // The server's log line (`berth serve`'s log, at warn).
            if first.contains(" WARN ") && first.contains("without encryption") {
                return Some((child, port, first));
            }
            let status = child.wait().unwrap();
            assert!(
                !status.success() && first.contains("Address already in use"),
                "berth serve on port {port}: {status}: {first}"
            );
            None
        })
        .expect("five ports in a row were taken between the test and berth serve");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("OK"),
        "{text}"
    );
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    assert!(
        warning.contains("without encryption or authentication"),
        "{warning}"
    );
}

/// Regression: docker-py's `containers.run(remove=True)` follows the logs,
/// waits, removes the container and only then reads the stream.
#[test]
fn followed_logs_outlive_the_container() {
    use std::io::{Read, Write};
    let server = Server::start();
    runtime().block_on(async {
        let docker = connect(&server);
        for _ in 0..5 {
            let id = create(&docker, None, body("busybox", &["echo", "hello world"])).await;
            docker.start_container(&id, None).await.unwrap();
            let mut s = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
            write!(
                s,
                "GET /containers/{id}/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                s.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            let mut wait = docker.wait_container(&id, None::<WaitContainerOptions>);
            let _ = wait.next().await;
            docker.remove_container(&id, None).await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).unwrap();
            assert!(
                String::from_utf8_lossy(&rest).contains("hello world"),
                "{}",
                String::from_utf8_lossy(&rest)
            );
        }
    });
}
