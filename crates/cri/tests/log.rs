//! `berth cri` logs as `berth serve` does: with `--debug` one line per call
//! (method, status code, duration), and every failed call at warn (a
//! refusal) or error (berth failed) with the message its client got; JSON
//! lines with `--log-format json`.

mod common;

use berth_cri::api;
use common::*;
use serde_json::Value;
use tonic::Code;

/// The log's JSON lines about `method`, once at least `n` are there.
fn lines_of(server: &Server, method: &str, n: usize) -> Vec<Value> {
    let mut found = Vec::new();
    eventually(&format!("{n} log lines for {method}"), || {
        let log = std::fs::read_to_string(server.log_path()).unwrap_or_default();
        found = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .filter(|v| v["method"] == method)
            .collect();
        found.len() >= n
    });
    found
}

fn at_level<'a>(lines: &'a [Value], level: &str) -> &'a Value {
    lines
        .iter()
        .find(|v| v["level"] == level)
        .unwrap_or_else(|| panic!("no {level} line in {lines:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_at_debug_and_failures_with_their_message() {
    let server = Server::start_with(&["--debug", "--log-format", "json"]);
    let mut c = server.client().await;

    c.runtime
        .version(api::VersionRequest::default())
        .await
        .expect("Version");
    let lines = lines_of(&server, "/runtime.v1.RuntimeService/Version", 1);
    let line = at_level(&lines, "DEBUG");
    assert_eq!(line["code"], "Ok", "{line}");
    assert!(line["duration_ms"].as_f64().is_some(), "{line}");

    // A refusal: the client's mistake, at warn, with the status it got.
    let status = c
        .runtime
        .container_status(api::ContainerStatusRequest {
            container_id: "no-such-container".into(),
            verbose: false,
        })
        .await
        .expect_err("ContainerStatus of nothing");
    assert_eq!(status.code(), Code::NotFound);
    let lines = lines_of(&server, "/runtime.v1.RuntimeService/ContainerStatus", 2);
    let warn = at_level(&lines, "WARN");
    assert_eq!(warn["code"], "NotFound", "{warn}");
    let message = warn["message"].as_str().unwrap();
    assert!(
        message.contains(status.message()) && message.contains("no-such-container"),
        "{message:?} vs the client's {:?}",
        status.message()
    );
    assert_eq!(at_level(&lines, "DEBUG")["code"], "NotFound");

    // A pull from a registry that is not there: the error's causes as the
    // client got them, at the level its code calls for.
    let status = c
        .images
        .pull_image(api::PullImageRequest {
            image: Some(api::ImageSpec {
                image: "127.0.0.1:1/nothing:here".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("a pull from port 1");
    let lines = lines_of(&server, "/runtime.v1.ImageService/PullImage", 2);
    let level = match status.code() {
        Code::Internal | Code::Unknown | Code::Unavailable | Code::DataLoss => "ERROR",
        _ => "WARN",
    };
    let line = at_level(&lines, level);
    let message = line["message"].as_str().unwrap();
    assert!(
        !status.message().is_empty() && message.contains(status.message()),
        "{message:?} vs the client's {:?}",
        status.message()
    );
    assert!(message.contains("127.0.0.1:1"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_default_level_only_failures() {
    let server = Server::start();
    let mut c = server.client().await;
    c.runtime
        .version(api::VersionRequest::default())
        .await
        .expect("Version");
    c.runtime
        .container_status(api::ContainerStatusRequest {
            container_id: "no-such-container".into(),
            verbose: false,
        })
        .await
        .expect_err("ContainerStatus of nothing");
    let mut log = String::new();
    eventually("the failed call's line", || {
        log = std::fs::read_to_string(server.log_path()).unwrap_or_default();
        log.contains("ContainerStatus returned error")
    });
    assert!(log.contains("WARN"), "{log}");
    assert!(!log.contains("RuntimeService/Version"), "{log}");
}
