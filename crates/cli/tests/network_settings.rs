//! Every network setting is applied or refused: `network create`'s IPAM and
//! driver options, IPv6, static addresses, MAC addresses, `network connect`'s
//! settings, legacy links and `container.network` names, each read from
//! inside real containers (`ip addr`, /etc/hosts, ping) on networks of their
//! own with unique names and subnets.

mod common;

use common::Berth;
use serde_json::Value;

/// This run's third octet, so that concurrent runs use other subnets.
fn octet() -> u32 {
    std::process::id() % 250 + 1
}

/// A /24 of its own for test `k`: 10.(200+k).OCTET.0/24, and its prefix.
fn subnet(k: u32) -> (String, String) {
    let prefix = format!("10.{}.{}", 200 + k, octet());
    (format!("{prefix}.0/24"), prefix)
}

fn net_name(test: &str) -> String {
    format!("{test}{}", std::process::id())
}

fn inspect_network(b: &Berth, name: &str) -> Value {
    let text = b.ok(&["network", "inspect", name]);
    serde_json::from_str::<Value>(&text).unwrap()[0].clone()
}

/// `ip -o addr show DEV` inside a one-off container with `args`.
fn addresses(b: &Berth, args: &[&str], dev: &str) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["busybox", "ip", "-o", "addr", "show", dev]);
    b.ok(&all)
}

#[test]
fn network_create_settings_reach_the_containers() {
    let b = Berth::with_busybox();
    let net = net_name("ipam");
    let (sub, p) = subnet(1);
    b.ok(&[
        "network",
        "create",
        "--subnet",
        &sub,
        "--ip-range",
        &format!("{p}.64/26"),
        "--gateway",
        &format!("{p}.254"),
        "--aux-address",
        &format!("router={p}.64"),
        "-o",
        "com.docker.network.driver.mtu=1400",
        "--label",
        "team=net",
        &net,
    ]);
    // Exactly what was asked, nothing invented (compose compares them).
    let n = inspect_network(&b, &net);
    assert_eq!(
        n["IPAM"]["Config"],
        serde_json::json!([{
            "Subnet": sub,
            "IPRange": format!("{p}.64/26"),
            "Gateway": format!("{p}.254"),
            "AuxiliaryAddresses": {"router": format!("{p}.64")},
        }])
    );
    assert_eq!(
        n["Options"],
        serde_json::json!({"com.docker.network.driver.mtu": "1400"})
    );
    assert_eq!(n["Labels"], serde_json::json!({"team": "net"}));
    // The first address of the range that is not auxiliary, the MTU, the gateway.
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; cat /sys/class/net/eth0/mtu; ip route show default",
    ]);
    assert!(out.contains(&format!("inet {p}.65/24")), "{out}");
    assert!(out.contains("\n1400\n"), "{out}");
    assert!(out.contains(&format!("default via {p}.254")), "{out}");
    // A static address outside the range but inside the subnet, and a MAC.
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--ip",
        &format!("{p}.9"),
        "--mac-address",
        "02:aa:bb:cc:dd:01",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; cat /sys/class/net/eth0/address",
    ]);
    assert!(out.contains(&format!("inet {p}.9/24")), "{out}");
    assert!(out.ends_with("\n02:aa:bb:cc:dd:01"), "{out}");
    // Refused: an address outside the subnet, the gateway's, an auxiliary one.
    for (ip, message) in [
        (
            format!("10.9.{}.9", octet()),
            "no configured subnet or ip-range contain the IP address",
        ),
        (format!("{p}.254"), "Address already in use"),
        (format!("{p}.64"), "Address already in use"),
    ] {
        let r = b.fails(&[
            "run",
            "--rm",
            "--network",
            &net,
            "--ip",
            &ip,
            "busybox",
            "true",
        ]);
        assert!(r.stderr.contains(message), "{ip}: {}", r.stderr);
    }
    b.ok(&["network", "rm", &net]);
}

#[test]
fn driver_options_are_applied_or_refused() {
    let b = Berth::with_busybox();
    let (sub, p) = subnet(2);
    // The bridge gets the name asked for; containers their interface prefix.
    let bridge = format!("bb{}", std::process::id());
    let net = net_name("opts");
    b.ok(&[
        "network",
        "create",
        "--subnet",
        &sub,
        "-o",
        &format!("com.docker.network.bridge.name={bridge}"),
        "-o",
        "com.docker.network.container_iface_prefix=lan",
        &net,
    ]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "opt1",
        "--network",
        &net,
        "busybox",
        "sleep",
        "60",
    ]);
    let link = std::process::Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", &bridge])
        .output()
        .unwrap();
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(link.contains(&format!("{p}.1/24")), "{bridge}: {link}");
    let out = b.ok(&["exec", "opt1", "ip", "-o", "-4", "addr", "show", "lan0"]);
    assert!(out.contains(&format!("inet {p}.2/24")), "{out}");
    b.ok(&["rm", "-f", "opt1"]);
    b.ok(&["network", "rm", &net]);
    // What berth cannot do is refused with the option's name, and nothing is made.
    for (opt, message) in [
        ("com.docker.network.bridge.enable_icc=false", "enable_icc"),
        (
            "com.docker.network.bridge.enable_ip_masquerade=false",
            "enable_ip_masquerade",
        ),
        (
            "com.docker.network.bridge.no_such=1",
            "com.docker.network.bridge.no_such",
        ),
        (
            "com.docker.network.driver.mtu=abc",
            "com.docker.network.driver.mtu",
        ),
    ] {
        let name = net_name("refused");
        let r = b.fails(&["network", "create", "-o", opt, &name]);
        assert!(r.stderr.contains(message), "{opt}: {}", r.stderr);
        assert_eq!(b.fails(&["network", "inspect", &name]).code, 1);
    }
    // Options outside Docker's namespace mean nothing to the driver: kept and shown.
    let net = net_name("free");
    b.ok(&["network", "create", "-o", "my.own=1", &net]);
    assert_eq!(
        inspect_network(&b, &net)["Options"],
        serde_json::json!({"my.own": "1"})
    );
    b.ok(&["network", "rm", &net]);
}

#[test]
fn ipv6_networks_give_containers_ipv6_addresses() {
    let b = Berth::with_busybox();
    let net = net_name("six");
    let sub = format!("fd42:{:x}:{:x}::/64", octet(), std::process::id() % 0xffff);
    let prefix = sub.trim_end_matches("::/64").to_string();
    b.ok(&["network", "create", "--ipv6", "--subnet", &sub, &net]);
    let n = inspect_network(&b, &net);
    assert_eq!(n["EnableIPv6"], true);
    let pools = n["IPAM"]["Config"].as_array().unwrap();
    assert!(
        pools.iter().any(|p| p["Subnet"] == sub.as_str()),
        "{pools:?}"
    );
    b.ok(&[
        "run",
        "-d",
        "--name",
        "v6srv",
        "--network",
        &net,
        "--ip6",
        &format!("{prefix}::77"),
        "busybox",
        "sleep",
        "60",
    ]);
    let out = b.ok(&["exec", "v6srv", "ip", "-o", "-6", "addr", "show", "eth0"]);
    assert!(out.contains(&format!("inet6 {prefix}::77/64")), "{out}");
    let hosts = b.ok(&["exec", "v6srv", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{prefix}::77\t")), "{hosts}");
    // Another container reaches it over IPv6.
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "busybox",
        "ping",
        "-6",
        "-c1",
        "-W5",
        &format!("{prefix}::77"),
    ]);
    assert!(out.contains("1 packets received"), "{out}");
    // An IPv6 address needs an IPv6 network.
    let r = b.fails(&[
        "run",
        "--rm",
        "--ip6",
        &format!("{prefix}::78"),
        "busybox",
        "true",
    ]);
    assert!(r.stderr.contains("user defined networks"), "{}", r.stderr);
    b.ok(&["rm", "-f", "v6srv"]);
    b.ok(&["network", "rm", &net]);
}

#[test]
fn connect_applies_alias_address_link_local_and_links() {
    let b = Berth::with_busybox();
    let net = net_name("conn");
    let (sub, p) = subnet(3);
    b.ok(&["network", "create", "--subnet", &sub, &net]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "csrv",
        "--network",
        &net,
        "busybox",
        "sleep",
        "60",
    ]);
    b.ok(&["run", "-d", "--name", "clate", "busybox", "sleep", "60"]);
    b.ok(&[
        "network",
        "connect",
        "--alias",
        "latecomer",
        "--ip",
        &format!("{p}.77"),
        "--link-local-ip",
        "169.254.7.7",
        "--link",
        "csrv:server",
        &net,
        "clate",
    ]);
    let out = b.ok(&["exec", "clate", "ip", "-o", "-4", "addr", "show", "eth1"]);
    assert!(out.contains(&format!("inet {p}.77/24")), "{out}");
    assert!(out.contains("inet 169.254.7.7/16"), "{out}");
    // The link's alias resolves for the linking container.
    let out = b.ok(&["exec", "clate", "ping", "-c1", "-W5", "server"]);
    assert!(out.contains(&format!("{p}.2")), "{out}");
    // The alias and NAME.NETWORK resolve on the network.
    for name in ["latecomer", &format!("clate.{net}")] {
        let out = b.ok(&["exec", "csrv", "ping", "-c1", "-W5", name]);
        assert!(out.contains(&format!("({p}.77)")), "{name}: {out}");
    }
    // Rejoining the mode's network takes this connect's settings (as Docker),
    // also at the next start.
    b.ok(&["network", "disconnect", &net, "csrv"]);
    b.ok(&[
        "network",
        "connect",
        "--ip",
        &format!("{p}.78"),
        &net,
        "csrv",
    ]);
    b.ok(&["restart", "-t", "0", "csrv"]);
    let out = b.ok(&["exec", "csrv", "ip", "-o", "-4", "addr", "show", "eth0"]);
    assert!(out.contains(&format!("inet {p}.78/24")), "{out}");
    let r = b.fails(&["network", "connect", "--ip", "10.1.2.3", "bridge", "csrv"]);
    assert!(r.stderr.contains("user defined networks"), "{}", r.stderr);
    b.ok(&["rm", "-f", "csrv", "clate"]);
    b.ok(&["network", "rm", &net]);
}

#[test]
fn legacy_links_write_hosts_and_environment() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run", "-d", "--name", "lsrv", "-e", "FOO=bar", "--expose", "80", "busybox", "sleep", "60",
    ]);
    let ip = b.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        "lsrv",
    ]);
    let out = b.ok(&[
        "run",
        "--rm",
        "--link",
        "lsrv:db",
        "busybox",
        "sh",
        "-c",
        "grep -w db /etc/hosts; echo $DB_PORT_80_TCP_ADDR $DB_ENV_FOO; ping -c1 -W5 db",
    ]);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{ip}\tdb ")) && first.ends_with(" lsrv"),
        "{out}"
    );
    assert!(out.contains(&format!("\n{ip} bar\n")), "{out}");
    assert!(out.contains("1 packets received"), "{out}");
    // Docker's refusals: a missing container, a stopped one (at start).
    let r = b.fails(&["run", "--rm", "--link", "nosuch:db", "busybox", "true"]);
    assert!(
        r.stderr.contains("could not get container for nosuch"),
        "{}",
        r.stderr
    );
    b.ok(&["stop", "-t", "0", "lsrv"]);
    let r = b.fails(&["run", "--rm", "--link", "lsrv:db", "busybox", "true"]);
    assert!(
        r.stderr.contains("Cannot link to a non running container"),
        "{}",
        r.stderr
    );
    b.ok(&["rm", "-f", "lsrv"]);
}

#[test]
fn names_with_spaces_dns_search_and_options() {
    let b = Berth::with_busybox();
    let net = format!("my net {}", std::process::id());
    let (sub, p) = subnet(4);
    b.ok(&["network", "create", "--subnet", &sub, &net]);
    let out = addresses(&b, &["--network", &net], "eth0");
    assert!(out.contains(&format!("inet {p}.2/24")), "{out}");
    let out = b.ok(&[
        "run",
        "--rm",
        "--dns-search",
        "example.test",
        "--dns-option",
        "ndots:3",
        "busybox",
        "cat",
        "/etc/resolv.conf",
    ]);
    assert!(out.contains("search example.test"), "{out}");
    assert!(out.contains("options ndots:3"), "{out}");
    b.ok(&["network", "rm", &net]);
}
