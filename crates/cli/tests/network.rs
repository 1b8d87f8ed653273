//! Networks and published ports, end to end as root: real namespaces, veths,
//! berth's nftables rules and TCP connections.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Command;

use common::net::*;
use common::Berth;
use serde_json::Value;

/// Seed 000's scene: two web servers on two published ports serve one
/// bind-mounted folder; 404 before index.html exists, its content after, at
/// 127.0.0.1 and at the host's other address.
#[test]
fn two_published_servers_share_a_bind_mounted_folder() {
    let b = Berth::with_busybox();
    let site = tempfile::tempdir().unwrap();
    let bind = format!("{}:/www", site.path().display());
    // Host ports of berth's choosing: none another test could take first.
    for i in 0..2 {
        b.ok(&[
            "run",
            "-d",
            "--name",
            &format!("web{i}"),
            "-p",
            "80",
            "-v",
            &bind,
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ]);
    }
    let ports = [host_port(&b, "web0"), host_port(&b, "web1")];
    assert_ne!(ports[0], ports[1]);
    let other = host_address();
    for port in ports {
        assert_eq!(http_get(Ipv4Addr::LOCALHOST, port).0, 404);
        assert_eq!(http_get(other, port).0, 404);
    }
    std::fs::write(site.path().join("index.html"), "hello from berth\n").unwrap();
    for port in ports {
        assert_eq!(
            http_get(Ipv4Addr::LOCALHOST, port),
            (200, "hello from berth\n".into())
        );
        assert_eq!(http_get(other, port), (200, "hello from berth\n".into()));
    }
    assert_eq!(
        b.ok(&["port", "web0"]),
        format!("80/tcp -> 0.0.0.0:{}", ports[0])
    );
    assert_eq!(
        b.ok(&["port", "web1", "80"]),
        format!("0.0.0.0:{}", ports[1])
    );
    assert_eq!(
        b.ok(&["ps", "--filter", "name=web0", "--format", "{{.Ports}}"]),
        format!("0.0.0.0:{}->80/tcp", ports[0])
    );
    let missing = b.fails(&["port", "web0", "81"]);
    assert!(
        missing
            .stderr
            .contains("No public port '81/tcp' published for web0"),
        "{}",
        missing.stderr
    );
}

#[test]
fn random_host_ports_are_recorded_and_served() {
    let b = Berth::with_busybox();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "random\n").unwrap();
    let bind = format!("{}:/www", site.path().display());
    b.ok(&[
        "run", "-d", "--name", "rnd", "-p", "80", "-P", "--expose", "81", "-v", &bind, "busybox",
        "httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    let port: u16 = b
        .ok(&["port", "rnd", "80/tcp"])
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    assert_eq!(
        http_get(Ipv4Addr::LOCALHOST, port),
        (200, "random\n".into())
    );
    let ports = &inspect(&b, "rnd")["NetworkSettings"]["Ports"];
    assert_eq!(ports["80/tcp"][0]["HostPort"], port.to_string());
    assert!(
        ports["81/tcp"][0]["HostPort"]
            .as_str()
            .is_some_and(|p| p != "0"),
        "{ports}"
    );
}

#[test]
fn a_taken_host_port_fails_the_start_and_leaves_nothing() {
    let b = Berth::with_busybox();
    let held = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let r = b.run(&[
        "run",
        "-d",
        "--name",
        "late",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "30",
    ]);
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "Bind for 0.0.0.0:{port} failed: port is already allocated"
        )),
        "{}",
        r.stderr
    );
    let id = b.ok(&["inspect", "--format", "{{.Id}}", "late"]);
    assert!(!netns_file(&b, &id).exists());
    assert!(rules_lack(&format!("dport {port} ")));
    drop(held);

    // Between two containers of berth, the second one is refused too (the
    // first takes a port of berth's choosing, the second asks for it).
    b.ok(&[
        "run", "-d", "--name", "first", "-p", "80", "busybox", "sleep", "30",
    ]);
    let port = host_port(&b, "first");
    let r = b.run(&[
        "run",
        "-d",
        "--name",
        "second",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "30",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("port is already allocated"),
        "{}",
        r.stderr
    );
    let bridge: Value = serde_json::from_str(&b.ok(&["network", "inspect", "bridge"])).unwrap();
    let second = b.ok(&["inspect", "--format", "{{.Id}}", "second"]);
    let containers = bridge[0]["Containers"].as_object().unwrap();
    assert!(!containers.contains_key(&second));
    assert!(!netns_file(&b, &second).exists());
}

#[test]
fn inspect_shows_network_settings_in_dockers_shape() {
    let b = Berth::with_busybox();
    let (port, _) = run_on_own_port(
        &b,
        "shape",
        &["-p", "127.0.0.1:{port}:80/tcp", "busybox", "sleep", "30"],
    );
    let c = inspect(&b, "shape");
    let ns = &c["NetworkSettings"];
    let ip: Ipv4Addr = ns["IPAddress"].as_str().unwrap().parse().unwrap();
    assert!(ip
        .to_string()
        .starts_with(&format!("{}.", b.subnet_prefix())));
    assert_eq!(ns["IPPrefixLen"], 16);
    assert_eq!(ns["Gateway"], format!("{}.0.1", b.subnet_prefix()));
    let o = ip.octets();
    assert_eq!(
        ns["MacAddress"],
        format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
    );
    assert_eq!(ns["Ports"]["80/tcp"][0]["HostIp"], "127.0.0.1");
    assert_eq!(ns["Ports"]["80/tcp"][0]["HostPort"], port.to_string());
    let bridge = &ns["Networks"]["bridge"];
    for key in [
        "IPAddress",
        "Gateway",
        "MacAddress",
        "NetworkID",
        "EndpointID",
    ] {
        assert!(
            bridge[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {bridge}"
        );
    }
    assert_eq!(bridge["IPAddress"], ns["IPAddress"]);
    assert!(bridge.get("Aliases").is_some());
    let network_id = b.ok(&["network", "inspect", "--format", "{{.Id}}", "bridge"]);
    assert_eq!(bridge["NetworkID"], network_id);
    assert_eq!(
        c["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
        port.to_string()
    );
    // The address is the container's own.
    let inside = b.ok(&["exec", "shape", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(inside.contains(&format!("{ip}/16")), "{inside}");
    let hosts = b.ok(&["exec", "shape", "cat", "/etc/hosts"]);
    assert!(
        hosts.contains(&format!("{ip}\t{}", &c["Id"].as_str().unwrap()[..12])),
        "{hosts}"
    );
    // Stopped: the network stays, the address goes.
    b.ok(&["stop", "-t", "0", "shape"]);
    let stopped = inspect(&b, "shape");
    assert_eq!(stopped["NetworkSettings"]["IPAddress"], "");
    assert_eq!(
        stopped["NetworkSettings"]["Networks"]["bridge"]["NetworkID"],
        network_id
    );
}

#[test]
fn network_ls_and_inspect_follow_docker() {
    let b = Berth::with_busybox();
    let ls = b.ok(&["network", "ls"]);
    let mut lines = ls.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(header, ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    for (name, driver) in [("bridge", "bridge"), ("host", "host"), ("none", "null")] {
        assert!(
            rows.iter()
                .any(|r| r[1] == name && r[2] == driver && r[3] == "local" && r[0].len() == 12),
            "{ls}"
        );
    }
    let net = format!("bt{}", std::process::id());
    let id = b.ok(&[
        "network",
        "create",
        "--subnet",
        "10.126.0.0/16",
        "--label",
        "k=v",
        &net,
    ]);
    assert_eq!(id.len(), 64);
    let dup = b.fails(&["network", "create", &net]);
    assert!(
        dup.stderr
            .contains(&format!("network with name {net} already exists")),
        "{}",
        dup.stderr
    );
    b.ok(&[
        "run",
        "-d",
        "--name",
        "member",
        "--network",
        &net,
        "busybox",
        "sleep",
        "30",
    ]);
    let v: Value = serde_json::from_str(&b.ok(&["network", "inspect", &net])).unwrap();
    let n = &v[0];
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "10.126.0.0/16");
    // As dockerd: with a subnet given, a gateway not asked for is not shown.
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], Value::Null);
    assert_eq!(n["Labels"]["k"], "v");
    let member_id = b.ok(&["inspect", "--format", "{{.Id}}", "member"]);
    let entry = &n["Containers"][&member_id];
    assert_eq!(entry["Name"], "member");
    assert_eq!(entry["IPv4Address"], "10.126.0.2/16");
    let busy = b.fails(&["network", "rm", &net]);
    assert!(
        busy.stderr.contains("has active endpoints"),
        "{}",
        busy.stderr
    );
    let builtin = b.fails(&["network", "rm", "bridge"]);
    assert!(builtin
        .stderr
        .contains("bridge is a pre-defined network and cannot be removed"));
    b.ok(&["rm", "-f", "member"]);
    assert_eq!(
        b.ok(&["network", "prune", "-f"]),
        format!("Deleted Networks:\n{net}")
    );
    let gone = b.fails(&["run", "--rm", "--network", &net, "busybox", "true"]);
    assert!(
        gone.stderr.contains(&format!("network {net} not found")),
        "{}",
        gone.stderr
    );
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    let b = Berth::with_busybox();
    let net = format!("dns{}", std::process::id());
    b.ok(&["network", "create", &net]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        &net,
        "--network-alias",
        "web",
        "busybox",
        "sh",
        "-c",
        "echo named > /tmp/index.html && httpd -f -p 80 -h /tmp",
    ]);
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "busybox",
        "sh",
        "-c",
        "ping -c1 -W5 srv >/dev/null && wget -qO- http://srv/ && wget -qO- http://web/",
    ]);
    assert_eq!(out, "named\nnamed");
    // connect: a container on the default bridge joins the network too.
    b.ok(&["run", "-d", "--name", "late", "busybox", "sleep", "60"]);
    b.ok(&["network", "connect", "--alias", "latecomer", &net, "late"]);
    let out = b.ok(&["exec", "late", "wget", "-qO-", "http://web/"]);
    assert_eq!(out, "named");
    let out = b.ok(&["exec", "srv", "ping", "-c1", "-W5", "latecomer"]);
    assert!(out.contains("1 packets received"), "{out}");
    b.ok(&["network", "disconnect", &net, "late"]);
    let ifaces = b.ok(&["exec", "late", "cat", "/proc/net/dev"]);
    assert!(!ifaces.contains("eth1"), "{ifaces}");
    b.ok(&["rm", "-f", "srv", "late"]);
    b.ok(&["network", "rm", &net]);
}

#[test]
fn network_none_has_only_loopback_and_host_shares_the_hosts() {
    let b = Berth::with_busybox();
    let dev = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/proc/net/dev",
    ]);
    let names: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"]);
    let lo = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "link",
        "show",
        "lo",
    ]);
    assert!(lo.contains("UP"), "{lo}");
    // An interface of the test's own (not the host's count of them, which
    // other tests change meanwhile): the host's network shows it, a bridge
    // network's does not.
    let link = HostLink::add();
    let sees_link = |network: &str| {
        let dev = b.ok(&[
            "run",
            "--rm",
            "--network",
            network,
            "busybox",
            "cat",
            "/proc/net/dev",
        ]);
        dev.lines()
            .any(|l| l.split(':').next().map(str::trim) == Some(link.0.as_str()))
    };
    assert!(sees_link("host"));
    assert!(!sees_link("bridge"));
    drop(link);
    // container:NAME joins the other container's namespace, and has its
    // hostname and resolv.conf (as dockerd gives them).
    b.ok(&[
        "run",
        "-d",
        "--name",
        "owner",
        "-h",
        "ownerhost",
        "--dns",
        "10.9.8.7",
        "busybox",
        "sleep",
        "30",
    ]);
    let names = b.ok(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname; grep nameserver /etc/resolv.conf",
    ]);
    assert_eq!(names, "ownerhost\nownerhost\nnameserver 10.9.8.7");
    let a = b.ok(&["exec", "owner", "cat", "/sys/class/net/eth0/address"]);
    let joined = b.ok(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "cat",
        "/sys/class/net/eth0/address",
    ]);
    assert_eq!(a, joined);
}

/// A veth pair on the host, named for this test process; deleted on drop.
struct HostLink(String);

impl HostLink {
    fn add() -> HostLink {
        let link = HostLink(format!("btl{}", std::process::id()));
        let peer = format!("{}p", link.0);
        let st = Command::new("ip")
            .args([
                "link", "add", &link.0, "type", "veth", "peer", "name", &peer,
            ])
            .status()
            .unwrap();
        assert!(st.success(), "ip link add {} type veth", link.0);
        link
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// A server outside (in a namespace of the test's, reached through the host's
/// routing) sees the host's address, not the container's: masquerading works.
#[test]
fn a_container_reaches_an_outside_server_through_nat() {
    let b = Berth::with_busybox();
    let tag = format!("bt{}", std::process::id() % 100000);
    let ns = format!("{tag}-out");
    let sh = |cmd: &str| {
        let st = Command::new("sh").args(["-c", cmd]).status().unwrap();
        assert!(st.success(), "{cmd}");
    };
    sh(&format!(
        "ip netns add {ns} && ip link add {tag}a type veth peer name {tag}b && ip link set {tag}b netns {ns} \
         && ip addr add 198.51.100.1/24 dev {tag}a && ip link set {tag}a up \
         && ip -n {ns} addr add 198.51.100.2/24 dev {tag}b && ip -n {ns} link set {tag}b up && ip -n {ns} link set lo up"
    ));
    let mut server = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-c"])
        .arg(
            "import socket\ns=socket.socket()\ns.bind(('198.51.100.2',8080))\ns.listen()\n\
             print('listening',flush=True)\nc,a=s.accept()\nc.sendall(a[0].encode())\nc.close()",
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Not a fixed pause: the server says when it listens.
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready, "listening\n");
    let seen = b.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "nc -w 5 198.51.100.2 8080 </dev/null",
    ]);
    let _ = Command::new("sh")
        .args(["-c", &format!("ip netns del {ns}; ip link del {tag}a")])
        .status();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(seen.code, 0, "{}", seen.stderr);
    assert_eq!(seen.stdout.trim(), "198.51.100.1");
}

/// After `rm -f` of 50 containers publishing ports: no namespace, veth,
/// lease, rule or listening port is left.
#[test]
fn removing_fifty_published_containers_leaves_nothing() {
    let b = Berth::with_busybox();
    let net = format!("fifty{}", std::process::id());
    let bridge = format!("bf{}", std::process::id());
    b.ok(&[
        "network",
        "create",
        "--subnet",
        "10.125.0.0/16",
        "-o",
        &format!("com.docker.network.bridge.name={bridge}"),
        &net,
    ]);
    let mut ids = Vec::new();
    let mut ports = Vec::new();
    let mut ips = Vec::new();
    for i in 0..50 {
        let id = b.ok(&[
            "run",
            "-d",
            "--network",
            &net,
            "-p",
            "80",
            "--name",
            &format!("p{i}"),
            "busybox",
            "sleep",
            "300",
        ]);
        let port: u16 = b
            .ok(&["port", &id, "80"])
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let ip = inspect(&b, &id)["NetworkSettings"]["Networks"][&net]["IPAddress"]
            .as_str()
            .unwrap()
            .to_string();
        ids.push(id);
        ports.push(port);
        ips.push(ip);
    }
    // The containers' veths (netavark's `vethN`), not berth's keeper,
    // which holds the bridge for as long as the network exists.
    let brif = |bridge: &str| {
        std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("veth"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(brif(&bridge), 50);
    // Each container's port rules, tagged with its id.
    for (ip, id) in ips.iter().zip(&ids) {
        assert!(
            rules_hold(&format!("to {ip}:80 comment \"c:{id}\"")),
            "no rule for {ip}"
        );
    }
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    b.ok(&args);
    // The kernel destroys a dropped namespace's veth in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while brif(&bridge) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(brif(&bridge), 0, "veths left on {bridge}");
    // Released ports may be another test's by now (their rules and sockets
    // too): only this test's containers' rules, and this root's processes,
    // count.
    let survivors = processes_of(b.path());
    for ((ip, port), id) in ips.iter().zip(&ports).zip(&ids) {
        assert!(rules_lack(&format!("{ip}:80")), "rule for {ip} left");
        assert!(rules_lack(&format!("c:{id}")), "rule for port {port} left");
        assert!(
            TcpListener::bind(("0.0.0.0", *port)).is_ok() || survivors.is_empty(),
            "port {port} still taken, while {survivors:?} of this root live"
        );
        assert!(!lease_file(&bridge, &ip.to_string()).exists());
    }
    for id in &ids {
        assert!(!netns_file(&b, id).exists());
    }
    let v: Value = serde_json::from_str(&b.ok(&["network", "inspect", &net])).unwrap();
    assert_eq!(v[0]["Containers"], serde_json::json!({}));
    b.ok(&["network", "rm", &net]);
    assert!(
        !std::path::Path::new("/sys/class/net")
            .join(&bridge)
            .exists(),
        "the bridge goes with its network"
    );
}

/// The processes of berth root `root` (`berth --root ROOT ...`) still alive.
fn processes_of(root: &Path) -> Vec<String> {
    let root = root.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid = e.ok()?.file_name().into_string().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|&c| c == 0).collect();
            args.windows(2)
                .any(|w| w[0] == b"--root" && w[1] == root)
                .then_some(pid)
        })
        .collect()
}

/// A SIGKILLed monitor leaves veth, rules and ports behind until the next
/// command reconciles; `ps` releases them and a restart gets the port back.
#[test]
fn a_killed_monitor_releases_its_ports_at_the_next_command() {
    let b = Berth::with_busybox();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "back\n").unwrap();
    let bind = format!("{}:/www", site.path().display());
    let (port, id) = run_on_own_port(
        &b,
        "victim",
        &[
            "-p",
            "{port}:80",
            "-v",
            &bind,
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ],
    );
    assert_eq!(http_get(Ipv4Addr::LOCALHOST, port).0, 200);
    // The monitor is the parent (subreaper) of the container's init.
    let init = b.ok(&["inspect", "-f", "{{.State.Pid}}", &id]);
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let monitor: i32 = stat
        .rsplit(") ")
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: signalling a process by pid.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    // The port went with the monitor: the test takes it at once and keeps it,
    // so no other container can publish it (and add rules for it) meanwhile.
    let held = hold(port);
    assert!(rules_hold(&format!("dport {port} ")));
    b.ok(&["ps"]);
    assert!(rules_lack(&format!("dport {port} ")));
    assert!(rules_lack(&format!("c:{id}")));
    assert!(!netns_file(&b, &id).exists());
    drop(held);
    rebind(&b, port, &["start", "victim"]);
    assert_eq!(http_get(Ipv4Addr::LOCALHOST, port), (200, "back\n".into()));
    rebind(&b, port, &["restart", "-t", "0", "victim"]);
    assert_eq!(http_get(Ipv4Addr::LOCALHOST, port), (200, "back\n".into()));
}

/// `network ls` filters as dockerd applies them: keys ANDed, values of one
/// key ORed (`label` values ANDed), `name` a regular expression, `type`
/// builtin/custom, `dangling` for user networks no container is on. Each
/// case is checked against its expected answer and, when a dockerd answers,
/// against dockerd's answer for the same networks.
#[test]
fn ls_filters_combine_as_dockerd_does() {
    let suffix = format!("-{}", &berth_store::new_id()[..8]);
    let (front, back) = (format!("btfront{suffix}"), format!("btback{suffix}"));
    let tag = format!("bt={suffix}");
    let b = Berth::new();
    let dockerd = common::dockerd_answers();
    for (n, labels) in [(&front, &["tier=web"][..]), (&back, &[][..])] {
        let mut args = vec!["network", "create", "--label", &tag];
        for l in labels {
            args.extend(["--label", l]);
        }
        args.push(n);
        b.ok(&args);
        if dockerd {
            common::docker(&args).expect("docker network create");
        }
    }
    let failures = common::filter_failures(
        &["network", "ls", "--format", "{{.Name}}"],
        &format!("label={tag}"),
        &common::cases(&[
            (&["driver=bridge", "label=tier=web"], &["btfront"]),
            (
                &["type=custom", "name=back", "name=front"],
                &["btback", "btfront"],
            ),
            (&["dangling=true", "name=^btb"], &["btback"]),
            (&["scope=local", "label=tier", "type=builtin"], &[]),
            (&["driver=host"], &[]),
            (&["label=tier", "dangling=false"], &[]),
        ]),
        &suffix,
        dockerd,
        &|args| b.ok(args),
    );
    // Without the label filter, the built-in networks answer `type=builtin`.
    assert_eq!(
        b.ok(&[
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "-f",
            "type=builtin"
        ]),
        "bridge\nhost\nnone"
    );
    if dockerd {
        let _ = common::docker(&["network", "rm", &front, &back]);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
