//! Published ports as berth's own nftables rules (table `inet berth`, set
//! over netlink by the monitor, no netavark nor iptables process): present
//! while the container runs, gone after `rm` and after a killed monitor's
//! next command; and what they do, seen from the host and from containers.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};

use common::net::*;
use common::Berth;

#[test]
fn published_ports_are_rules_while_running_and_gone_after_rm() {
    let b = Berth::with_busybox();
    let (port, id) = run_on_own_port(
        &b,
        "web",
        &[
            "-p",
            "127.0.0.1:{port}:80",
            "-p",
            "127.0.0.1:{port}:53/udp",
            "busybox",
            "sh",
            "-c",
            "echo served > /tmp/index.html; httpd -f -p 80 -h /tmp",
        ],
    );
    assert_eq!(
        http_get(Ipv4Addr::LOCALHOST, port),
        (200, "served\n".into())
    );
    let ip = b.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"]);
    assert!(rules_hold(&format!(
        "ip daddr 127.0.0.1 tcp dport {port} dnat ip to {ip}:80"
    )));
    // busybox has no UDP server: the rule is what can be seen.
    assert!(rules_hold(&format!(
        "ip daddr 127.0.0.1 udp dport {port} dnat ip to {ip}:53"
    )));
    assert!(rules_hold(&format!("comment \"c:{id}\"")));
    // From another container, by the container's address on the bridge.
    let fetched = b.ok(&[
        "run",
        "--rm",
        "busybox",
        "wget",
        "-qO-",
        &format!("http://{ip}/"),
    ]);
    assert_eq!(fetched, "served");
    b.ok(&["rm", "-f", "web"]);
    assert!(rules_lack(&format!("c:{id}")));
    // No rule sends the port elsewhere any more: a server of the test's
    // own on it gets the connection.
    let held = hold(port);
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut accepted, _) = held.accept().unwrap();
    client.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    accepted.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"x");
}

/// A container reaches a port published by another one on the host's own
/// address (hairpin: translated back onto the bridge, masqueraded).
#[test]
fn a_container_reaches_a_published_port_on_the_hosts_address() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "80",
        "busybox",
        "sh",
        "-c",
        "echo hairpin > /tmp/index.html; httpd -f -p 80 -h /tmp",
    ]);
    let port = host_port(&b, "web");
    let id = b.ok(&["inspect", "-f", "{{.Id}}", "web"]);
    assert!(rules_hold(&format!("tcp dport {port} ")));
    let url = format!("http://{}:{port}/", host_address());
    assert_eq!(http_get(host_address(), port).0, 200);
    let fetched = b.ok(&["run", "--rm", "busybox", "wget", "-qO-", &url]);
    assert_eq!(fetched, "hairpin");
    b.ok(&["rm", "-f", "web"]);
    assert!(rules_lack(&format!("c:{id}")));
}
