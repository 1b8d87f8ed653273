//! `berth cri`: the Kubernetes CRI (runtime.v1) on a unix socket, for
//! kubelet (`--container-runtime-endpoint unix:///run/berth/cri.sock`),
//! crictl and critest. The server is berth-cri; this is only its flags.

use anyhow::Result;
use clap::Args;

use crate::Ctx;

#[derive(Args, Debug)]
pub struct CriArgs {
    /// The socket to serve on (unix:///ABSOLUTE/PATH)
    #[arg(long, value_name = "ENDPOINT", default_value = berth_cri::DEFAULT_LISTEN)]
    listen: String,
    /// The image of pods' infra containers (pulled when missing); its
    /// command must wait until it is stopped
    #[arg(long, value_name = "IMAGE", default_value = berth_cri::DEFAULT_PAUSE_IMAGE)]
    pause_image: String,
    /// Where the streaming server (exec, attach, port-forward) listens;
    /// port 0 picks a free one
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    stream_address: std::net::SocketAddr,
    #[command(flatten)]
    log: super::server_log::LogArgs,
}

pub fn cri(ctx: &Ctx, args: CriArgs) -> Result<i32> {
    // A root refused as a whole exits as every command does (125).
    ctx.engine()?;
    super::server_log::init(&args.log);
    berth_cri::serve(berth_cri::ServeOptions {
        config: ctx.config(),
        listen: args.listen,
        pause_image: args.pause_image,
        streaming: Some(berth_cri::StreamConfig {
            listen: args.stream_address,
            ..berth_cri::StreamConfig::default()
        }),
    })?;
    Ok(0)
}
