//! Network settings through the Engine API: `NetworkCreateRequest`'s IPAM,
//! options and labels shown back exactly (compared with dockerd when it
//! answers), `NetworkingConfig`'s endpoint settings and the legacy
//! `Config.MacAddress` applied (read from inside the container), an
//! undeclared network refused with nothing created, and the docker CLIs'
//! `run --ip --mac-address --link` through `berth serve`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{dockerd_socket as dockerd, json_request as request, Server};
use serde_json::{json, Value};

/// A /24 of this run's own: 10.(220+k).N.0/24.
fn prefix(k: u32) -> String {
    format!("10.{}.{}", 220 + k, std::process::id() % 250 + 1)
}

#[test]
fn network_create_is_shown_back_as_it_was_asked() {
    let server = Server::start();
    let p = prefix(1);
    let name = format!("apinet{}", std::process::id());
    let body = json!({
        "Name": name,
        "CheckDuplicate": true,
        "IPAM": {"Driver": "default", "Options": {}, "Config": [{
            "Subnet": format!("{p}.0/24"),
            "IPRange": format!("{p}.128/25"),
            "Gateway": format!("{p}.1"),
            "AuxiliaryAddresses": {"printer": format!("{p}.128")},
        }]},
        "Options": {"com.docker.network.driver.mtu": "1450"},
        "Labels": {"com.docker.compose.network": "back"},
    });
    let mut engines = vec![server.socket.clone()];
    engines.extend(dockerd().map(Path::to_path_buf));
    for socket in &engines {
        let (status, created) = request(socket, "POST", "/networks/create", &body);
        assert_eq!(status, 201, "{}: {created}", socket.display());
        let (_, n) = request(socket, "GET", &format!("/networks/{name}"), &Value::Null);
        request(socket, "DELETE", &format!("/networks/{name}"), &Value::Null);
        assert_eq!(n["IPAM"], body["IPAM"], "{}", socket.display());
        assert_eq!(n["Options"], body["Options"], "{}", socket.display());
        assert_eq!(n["Labels"], body["Labels"], "{}", socket.display());
        assert_eq!(n["EnableIPv6"], false);
    }
}

#[test]
fn endpoint_settings_of_a_create_are_applied_or_refused() {
    let server = Server::start();
    let socket = &server.socket;
    let p = prefix(2);
    let net = format!("epnet{}", std::process::id());
    server.berth_ok(&["network", "create", "--subnet", &format!("{p}.0/24"), &net]);
    // IPAMConfig, aliases and driver options of the endpoint; the container-wide
    // MacAddress of API versions before 1.44.
    let body = json!({
        "Image": "busybox",
        "Cmd": ["sleep", "60"],
        "MacAddress": "02:aa:bb:cc:dd:02",
        "HostConfig": {"NetworkMode": net},
        "NetworkingConfig": {"EndpointsConfig": {net.as_str(): {
            "IPAMConfig": {"IPv4Address": format!("{p}.50")},
            "Aliases": ["api-alias"],
            "DriverOpts": {"key1": "a"},
        }}},
    });
    let (status, created) = request(socket, "POST", "/containers/create?name=ep1", &body);
    assert_eq!(status, 201, "{created}");
    server.berth_ok(&["start", "ep1"]);
    let out = server.berth_ok(&[
        "exec",
        "ep1",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; cat /sys/class/net/eth0/address",
    ]);
    assert!(out.contains(&format!("inet {p}.50/24")), "{out}");
    assert!(out.ends_with("02:aa:bb:cc:dd:02"), "{out}");
    let out = server.berth_ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "busybox",
        "ping",
        "-c1",
        "-W5",
        "api-alias",
    ]);
    assert!(out.contains(&format!("({p}.50)")), "{out}");
    let (_, c) = request(socket, "GET", "/containers/ep1/json", &Value::Null);
    let endpoint = &c["NetworkSettings"]["Networks"][net.as_str()];
    assert_eq!(
        endpoint["IPAMConfig"],
        json!({"IPv4Address": format!("{p}.50")})
    );
    assert_eq!(endpoint["DriverOpts"], json!({"key1": "a"}));
    // `berth serve` finds the namespace in the run directory it was given.
    let id = c["Id"].as_str().unwrap();
    let netns = server.isolation.run_dir().join("netns").join(id);
    assert_eq!(c["NetworkSettings"]["SandboxKey"].as_str(), netns.to_str());
    // Refused, with nothing created: a network that does not exist (Docker
    // refuses it), a MAC address with the host's network.
    let undeclared = json!({
        "Image": "busybox",
        "HostConfig": {"NetworkMode": net},
        "NetworkingConfig": {"EndpointsConfig": {"nosuchnet": {}}},
    });
    let host_mac = json!({
        "Image": "busybox",
        "MacAddress": "02:aa:bb:cc:dd:03",
        "HostConfig": {"NetworkMode": "host"},
    });
    for (body, message) in [
        (undeclared, "network nosuchnet not found"),
        (
            host_mac,
            "conflicting options: mac-address and the network mode",
        ),
    ] {
        let (status, answer) = request(socket, "POST", "/containers/create?name=bad", &body);
        assert_eq!((status, answer["message"].as_str()), (400, Some(message)));
        assert_eq!(server.berth_ok(&["ps", "-aq", "--filter", "name=bad"]), "");
    }
    server.berth_ok(&["rm", "-f", "ep1"]);
}

#[test]
fn docker_clis_set_addresses_macs_and_links_through_berth() {
    let server = Server::start();
    let p = prefix(3);
    let net = format!("clinet{}", std::process::id());
    server.berth_ok(&["network", "create", "--subnet", &format!("{p}.0/24"), &net]);
    server.berth_ok(&[
        "run",
        "-d",
        "--name",
        "target",
        "--network",
        &net,
        "busybox",
        "sleep",
        "60",
    ]);
    for (i, docker) in common::docker_clients().iter().enumerate() {
        let out = Command::new(docker)
            .env("DOCKER_HOST", server.docker_host())
            .args(["run", "--rm", "--network", &net])
            .args(["--ip", &format!("{p}.{}", 60 + i)])
            .args(["--mac-address", &format!("02:aa:bb:cc:dd:{:02x}", 0x10 + i)])
            .args(["--link", "target:tgt", "busybox", "sh", "-c"])
            .arg("ip -o -4 addr show eth0; cat /sys/class/net/eth0/address; ping -c1 -W5 tgt")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let who = docker.display();
        assert!(
            out.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(&format!("inet {p}.{}/24", 60 + i)),
            "{who}: {text}"
        );
        assert!(
            text.contains(&format!("02:aa:bb:cc:dd:{:02x}", 0x10 + i)),
            "{who}: {text}"
        );
        assert!(text.contains(&format!("PING tgt ({p}.2)")), "{who}: {text}");
    }
    server.berth_ok(&["rm", "-f", "target"]);
}
