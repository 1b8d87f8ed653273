//! A StreamRuntime whose "containers" are host processes, for the tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;

use berth_cri_stream::{Config, PortStream, RuntimeError, Server, StreamIo, StreamRuntime};

pub struct HostRuntime;

fn copy_to(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
    })
}

impl StreamRuntime for HostRuntime {
    /// `cmd` runs on the host; the container id is ignored. `["show-size"]`
    /// prints the first terminal size the client reports.
    fn exec(&self, _container: &str, cmd: &[String], io: StreamIo) -> Result<i32, RuntimeError> {
        if cmd == ["show-size"] {
            let size = io.resize.ok_or("no resize stream")?.recv()?;
            write!(
                io.stdout.ok_or("no stdout")?,
                "{}x{}",
                size.width,
                size.height
            )?;
            return Ok(0);
        }
        let mut child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdin(if io.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(from), Some(to)) = (io.stdin, child.stdin.take()) {
            // Not joined: the client may keep stdin open after the exit.
            copy_to(from, to);
        }
        let mut outs = Vec::new();
        if let (Some(w), Some(r)) = (io.stdout, child.stdout.take()) {
            outs.push(copy_to(r, w));
        }
        if let (Some(w), Some(r)) = (io.stderr, child.stderr.take()) {
            outs.push(copy_to(r, w));
        }
        let status = child.wait()?;
        for t in outs {
            let _ = t.join();
        }
        Ok(status.code().unwrap_or(128))
    }

    /// The "container" echoes its stdin.
    fn attach(&self, container: &str, io: StreamIo) -> Result<(), RuntimeError> {
        if container == "gone" {
            return Err("container gone is not running".into());
        }
        let (Some(mut stdin), Some(mut stdout)) = (io.stdin, io.stdout) else {
            return Err("attach needs stdin and stdout".into());
        };
        std::io::copy(&mut stdin, &mut stdout)?;
        Ok(())
    }

    /// Forwards to the host's loopback.
    fn port_forward(
        &self,
        _sandbox: &str,
        port: u16,
        stream: PortStream,
    ) -> Result<(), RuntimeError> {
        let conn = TcpStream::connect(("127.0.0.1", port))?;
        let back = conn.try_clone()?;
        let up = std::thread::spawn(move || {
            let mut reader = stream.reader;
            let mut conn = conn;
            let _ = std::io::copy(&mut reader, &mut conn);
            let _ = conn.shutdown(std::net::Shutdown::Write);
        });
        let mut writer = stream.writer;
        let mut back = back;
        std::io::copy(&mut back, &mut writer)?;
        drop(writer);
        let _ = up.join();
        Ok(())
    }
}

pub async fn server() -> Server {
    Server::start(Config::default(), Arc::new(HostRuntime))
        .await
        .unwrap()
}
