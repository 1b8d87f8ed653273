//! Kubernetes' remotecommand protocols (exec and attach) on a SPDY or
//! WebSocket connection: which streams to expect, and how the outcome is
//! reported on the error stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::io::{resize_events, Hangup, Out, OutSender, StreamReader, StreamWriter};
use crate::runtime::{StreamIo, StreamRuntime};
use crate::spdy::{frame, Session};

/// SPDY protocols, best first (`X-Stream-Protocol-Version`).
pub(crate) const SPDY_PROTOCOLS: [&str; 4] = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];

/// WebSocket protocols (`Sec-WebSocket-Protocol`).
pub(crate) const WS_PROTOCOLS: [&str; 5] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;

/// What to run, with the streams the CRI request asked for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) container_id: String,
    /// `None` for attach.
    pub(crate) cmd: Option<Vec<String>>,
    pub(crate) stdin: bool,
    pub(crate) stdout: bool,
    pub(crate) stderr: bool,
    pub(crate) tty: bool,
}

enum Outcome {
    Done,
    Exited(i32),
    Failed(String),
}

/// The outcome as the error stream carries it: the v4 protocols' JSON
/// `Status` (always), older ones' plain message (failures only).
fn status_message(json_status: bool, target: &Target, outcome: &Outcome) -> Option<String> {
    let status = match outcome {
        Outcome::Done | Outcome::Exited(0) => json!({"metadata": {}, "status": "Success"}),
        Outcome::Exited(code) => {
            // The exit error's text as containerd's CRI writes it.
            let cmd = target.cmd.clone().unwrap_or_default().join(" ");
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!(
                    "command terminated with non-zero exit code: error executing command [{cmd}], exit code {code}"
                ),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            })
        }
        Outcome::Failed(message) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("Internal error occurred: {message}"),
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500,
        }),
    };
    if json_status {
        return Some(status.to_string());
    }
    match outcome {
        Outcome::Done | Outcome::Exited(0) => None,
        _ => status["message"].as_str().map(String::from),
    }
}

async fn run(runtime: Arc<dyn StreamRuntime>, target: Target, io: StreamIo) -> Outcome {
    let t = target.clone();
    let result = tokio::task::spawn_blocking(move || match &t.cmd {
        Some(cmd) => runtime.exec(&t.container_id, cmd, io).map(Some),
        None => runtime.attach(&t.container_id, io).map(|()| None),
    })
    .await;
    let what = if target.cmd.is_some() {
        "error executing command in container"
    } else {
        "error attaching to container"
    };
    match result {
        Ok(Ok(Some(code))) => Outcome::Exited(code),
        Ok(Ok(None)) => Outcome::Done,
        Ok(Err(e)) => Outcome::Failed(format!("{what}: {e}")),
        Err(e) => Outcome::Failed(format!("{what}: {e}")),
    }
}

async fn finish(out: &OutSender, error_target: u32, message: Option<String>, ends: &[u32]) {
    if let Some(m) = message {
        let _ = out
            .send(Out::Data {
                target: error_target,
                data: m.into_bytes(),
            })
            .await;
    }
    for &target in ends {
        let _ = out.send(Out::Fin { target }).await;
    }
    let _ = out.send(Out::Shutdown).await;
}

/// Serves one SPDY remotecommand connection to its end.
pub(crate) async fn serve_spdy(
    mut session: Session,
    protocol: &str,
    target: Target,
    runtime: Arc<dyn StreamRuntime>,
    creation_timeout: Duration,
) {
    // Streams the client opens: error always; stderr never with a tty
    // (v2 on); resize with a tty (v3 on).
    let v1 = protocol == "channel.k8s.io";
    let resize_too = target.tty && matches!(protocol, "v4.channel.k8s.io" | "v3.channel.k8s.io");
    let mut expected = 1
        + usize::from(target.stdin)
        + usize::from(target.stdout)
        + usize::from(target.stderr && (v1 || !target.tty))
        + usize::from(resize_too);
    let mut streams: HashMap<&'static str, (u32, StreamReader)> = HashMap::new();
    let deadline = tokio::time::Instant::now() + creation_timeout;
    while expected > 0 {
        let Ok(Some(s)) = tokio::time::timeout_at(deadline, session.streams.recv()).await else {
            // Timed out or gone: kubelet gives up the same way.
            let _ = session.out.send(Out::Shutdown).await;
            return;
        };
        let kind = match frame::header(&s.headers, "streamtype") {
            Some("error") => "error",
            Some("stdin") => "stdin",
            Some("stdout") => "stdout",
            Some("stderr") => "stderr",
            Some("resize") => "resize",
            _ => continue,
        };
        if streams.insert(kind, (s.id, s.reader)).is_none() {
            expected -= 1;
        }
    }
    let out = session.out.clone();
    let writer = |kind: &str, wanted: bool| {
        streams
            .get(kind)
            .filter(|_| wanted)
            .map(|(id, _)| StreamWriter::new(out.clone(), *id))
    };
    let stdout = writer("stdout", target.stdout);
    let stderr = writer("stderr", target.stderr);
    let ids: Vec<u32> = streams.values().map(|(id, _)| *id).collect();
    let error_id = streams.get("error").map(|(id, _)| *id).unwrap_or(0);
    let stdin = streams
        .remove("stdin")
        .filter(|_| target.stdin)
        .map(|(_, r)| r);
    let resize = streams
        .remove("resize")
        .filter(|_| target.tty)
        .map(|(_, r)| resize_events(r));
    let io = StreamIo {
        stdin,
        stdout,
        stderr,
        tty: target.tty,
        resize,
        hangup: session.hangup.clone(),
    };
    let outcome = run(runtime, target.clone(), io).await;
    let json_status = protocol == "v4.channel.k8s.io";
    let message = status_message(json_status, &target, &outcome);
    finish(&session.out, error_id, message, &ids).await;
    // Keep the session (and so the client's streams) until the writer is done.
    drop(session);
}

/// Serves one WebSocket remotecommand connection to its end.
pub(crate) async fn serve_ws(
    mut readers: HashMap<u8, StreamReader>,
    out: OutSender,
    hangup: Hangup,
    protocol: &str,
    target: Target,
    runtime: Arc<dyn StreamRuntime>,
) {
    // An empty message on the lowest channel this side writes tells the
    // client the streams are ready (kubelet does the same).
    let first = if target.stdout {
        STDOUT
    } else if target.stderr {
        STDERR
    } else {
        ERROR
    };
    let _ = out
        .send(Out::Data {
            target: u32::from(first),
            data: Vec::new(),
        })
        .await;
    let stdin = readers.remove(&STDIN).filter(|_| target.stdin);
    let resize = readers
        .remove(&RESIZE)
        .filter(|_| target.tty)
        .map(resize_events);
    let io = StreamIo {
        stdin,
        stdout: target
            .stdout
            .then(|| StreamWriter::new(out.clone(), u32::from(STDOUT))),
        stderr: target
            .stderr
            .then(|| StreamWriter::new(out.clone(), u32::from(STDERR))),
        tty: target.tty,
        resize,
        hangup,
    };
    let outcome = run(runtime, target.clone(), io).await;
    let json_status = protocol.starts_with("v4.") || protocol.starts_with("v5.");
    let message = status_message(json_status, &target, &outcome);
    finish(&out, u32::from(ERROR), message, &[]).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            container_id: "c".into(),
            cmd: Some(vec!["sh".into(), "-c".into(), "exit 3".into()]),
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }

    #[test]
    fn a_non_zero_exit_is_kubernetes_status() {
        let m = status_message(true, &target(), &Outcome::Exited(3)).unwrap();
        assert_eq!(
            m,
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
        assert_eq!(
            status_message(true, &target(), &Outcome::Exited(0)).unwrap(),
            r#"{"metadata":{},"status":"Success"}"#
        );
    }

    #[test]
    fn older_protocols_report_failures_only_as_text() {
        assert_eq!(status_message(false, &target(), &Outcome::Exited(0)), None);
        assert_eq!(
            status_message(false, &target(), &Outcome::Failed("boom".into())).unwrap(),
            "Internal error occurred: boom"
        );
    }
}
