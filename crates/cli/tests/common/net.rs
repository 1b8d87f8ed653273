//! Network test helpers: ports the test holds until berth takes them,
//! addresses, HTTP, inspect, the host's iptables rules.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Berth;

/// `berth run -d --name NAME ARGS` where ARGS publish a host port the test
/// picks itself (`{port}` in them is replaced). The test holds the port (a
/// listening socket) until the moment it hands it to berth; should another
/// process take it in that instant, the container is removed and the run is
/// retried on another port. Returns the port and the container's id.
pub fn run_on_own_port(b: &Berth, name: &str, args: &[&str]) -> (u16, String) {
    for _ in 0..5 {
        let held = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        let mut full = vec!["run", "-d", "--name", name];
        full.extend(args.iter().map(String::as_str));
        drop(held);
        let r = b.run(&full);
        if r.code == 0 {
            return (port, r.stdout.trim().to_string());
        }
        assert!(
            r.stderr.contains("port is already allocated"),
            "berth {full:?} failed: {}{}",
            r.stdout,
            r.stderr
        );
        b.ok(&["rm", "-f", name]);
    }
    panic!("five ports in a row were taken between the test and berth");
}

/// Takes `port` as soon as whoever holds it lets go (within 10 s).
pub fn hold(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(("0.0.0.0", port)) {
            Ok(l) => return l,
            Err(e) if Instant::now() > deadline => panic!("port {port} still taken: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// `berth ARGS`, which binds `port` again after the test let go of it; should
/// another process take the port in that instant, waits until it is free and
/// retries.
pub fn rebind(b: &Berth, port: u16, args: &[&str]) {
    for _ in 0..5 {
        let r = b.run(args);
        if r.code == 0 {
            return;
        }
        assert!(
            r.stderr.contains("port is already allocated"),
            "berth {args:?} failed: {}{}",
            r.stdout,
            r.stderr
        );
        drop(hold(port));
    }
    panic!("port {port} was taken five times between the test and berth");
}

/// The host port berth chose for the container's 80/tcp, from inspect.
pub fn host_port(b: &Berth, name: &str) -> u16 {
    inspect(b, name)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("a published 80/tcp")
}

/// One of the host's own non-loopback IPv4 addresses.
pub fn host_address() -> Ipv4Addr {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|cidr| cidr.split('/').next()?.parse().ok())
        .next()
        .expect("a global IPv4 address on the host")
}

/// GET / over HTTP/1.0; retries while the server is starting.
pub fn http_get(ip: Ipv4Addr, port: u16) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| -> std::io::Result<(u16, String)> {
            let mut s = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            let status = text
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("no status in {text:?}")))?;
            let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
            Ok((status, body.to_string()))
        })();
        match attempt {
            Ok(r) => return r,
            Err(e) if Instant::now() > deadline => panic!("GET {ip}:{port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

pub fn inspect(b: &Berth, name: &str) -> Value {
    let text = b.ok(&["inspect", name]);
    serde_json::from_str::<Value>(&text).unwrap()[0].clone()
}

/// berth's nftables rules as `nft list table inet berth` shows them
/// (each tagged `comment "c:<container id>"` or `"n:<bridge>"`); empty
/// when the table does not exist, `None` when `nft` is not installed
/// (berth itself needs no `nft`: it speaks netlink).
pub fn berth_rules() -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "inet", "berth"])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether berth's rules hold `text` (true without `nft`: then only
/// what the kernel does is checked).
pub fn rules_hold(text: &str) -> bool {
    berth_rules().is_none_or(|r| r.contains(text))
}

/// Whether berth's rules lack `text` (true without `nft`).
pub fn rules_lack(text: &str) -> bool {
    berth_rules().is_none_or(|r| !r.contains(text))
}

/// A container's namespace file, in its root's run directory.
pub fn netns_file(b: &Berth, id: &str) -> std::path::PathBuf {
    b.run_dir().join("netns").join(id)
}

/// A lease of `ip` on `bridge`: host-wide, whatever the root's run
/// directory, as the bridge is the host's.
pub fn lease_file(bridge: &str, ip: &str) -> std::path::PathBuf {
    Path::new("/run/berth/leases").join(bridge).join(ip)
}
