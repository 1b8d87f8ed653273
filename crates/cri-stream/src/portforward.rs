//! Kubernetes' port-forward protocol on SPDY (`portforward.k8s.io`): the
//! client opens a data and an error stream per forwarded connection, both
//! naming the port and a request id; a failure is written as text on the
//! error stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::io::{Out, OutSender, StreamWriter};
use crate::runtime::{PortStream, StreamRuntime};
use crate::spdy::{frame, IncomingStream, Session};

pub(crate) const PROTOCOL: &str = "portforward.k8s.io";

#[derive(Default)]
struct Pair {
    data: Option<IncomingStream>,
    error: Option<IncomingStream>,
    since: Option<Instant>,
}

/// The pair a stream belongs to: its request id, or for clients that send
/// none, kubelet's guess from the stream ids (error = n, data = n + 2).
fn pair_key(s: &IncomingStream, is_data: bool) -> String {
    match frame::header(&s.headers, "requestid") {
        Some(id) if !id.is_empty() => id.to_string(),
        _ if is_data => s.id.saturating_sub(2).to_string(),
        _ => s.id.to_string(),
    }
}

/// Serves one SPDY port-forward connection until the client closes it.
pub(crate) async fn serve_spdy(
    mut session: Session,
    pod_sandbox_id: String,
    runtime: Arc<dyn StreamRuntime>,
    creation_timeout: Duration,
) {
    let mut pending: HashMap<String, Pair> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            s = session.streams.recv() => {
                let Some(s) = s else { break };
                let is_data = match frame::header(&s.headers, "streamtype") {
                    Some("data") => true,
                    Some("error") => false,
                    _ => continue,
                };
                let key = pair_key(&s, is_data);
                let pair = pending.entry(key.clone()).or_default();
                pair.since.get_or_insert_with(Instant::now);
                if is_data { pair.data = Some(s) } else { pair.error = Some(s) }
                if pair.data.is_some() && pair.error.is_some() {
                    let Pair { data: Some(data), error: Some(error), .. } =
                        pending.remove(&key).unwrap_or_default() else { continue };
                    tokio::spawn(forward(
                        data,
                        error,
                        session.out.clone(),
                        pod_sandbox_id.clone(),
                        runtime.clone(),
                    ));
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let late: Vec<String> = pending
                    .iter()
                    .filter(|(_, p)| p.since.is_some_and(|t| now - t > creation_timeout))
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in late {
                    if let Some(Pair { error: Some(e), .. }) = pending.remove(&key) {
                        let msg = format!("(request={key}) timed out waiting for streams");
                        fail(&session.out, e.id, msg).await;
                    }
                }
            }
        }
    }
    let _ = session.out.send(Out::Shutdown).await;
}

async fn fail(out: &OutSender, error_id: u32, message: String) {
    let _ = out
        .send(Out::Data {
            target: error_id,
            data: message.into_bytes(),
        })
        .await;
    let _ = out.send(Out::Fin { target: error_id }).await;
}

async fn forward(
    data: IncomingStream,
    error: IncomingStream,
    out: OutSender,
    pod_sandbox_id: String,
    runtime: Arc<dyn StreamRuntime>,
) {
    let port_text = frame::header(&data.headers, "port")
        .unwrap_or("")
        .to_string();
    let Ok(port) = port_text.parse::<u16>() else {
        let msg = format!("error parsing port {port_text:?}: not a port number");
        fail(&out, error.id, msg).await;
        let _ = out.send(Out::Fin { target: data.id }).await;
        return;
    };
    let stream = PortStream {
        reader: data.reader,
        writer: StreamWriter::new(out.clone(), data.id),
    };
    let sandbox = pod_sandbox_id.clone();
    let result =
        tokio::task::spawn_blocking(move || runtime.port_forward(&sandbox, port, stream)).await;
    let err = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(e) = err {
        // kubelet's text; CRI has no pod uid here.
        let msg = format!("error forwarding port {port} to pod {pod_sandbox_id}, uid : {e}");
        let _ = out
            .send(Out::Data {
                target: error.id,
                data: msg.into_bytes(),
            })
            .await;
    }
    let _ = out.send(Out::Fin { target: error.id }).await;
    let _ = out.send(Out::Fin { target: data.id }).await;
}
