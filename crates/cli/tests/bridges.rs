//! Run directories and default bridges: roots side by side, each with its
//! own run directory (`BERTH_RUN_DIR`) and default bridge (daemon.json's
//! `bridge` and `bip`), and roots that share a bridge sharing its leases.

mod common;

use std::process::Command;

use common::net::{lease_file, netns_file};
use common::Berth;

/// `ip -4 -o addr show dev DEVICE`: its addresses as "A.B.C.D/N".
fn device_addresses(device: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", device])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "inet")?;
            words.get(at + 1).map(|w| w.to_string())
        })
        .collect()
}

/// The container's eth0 address as "A.B.C.D/N", seen from inside it.
fn address_inside(b: &Berth, name: &str) -> String {
    let out = b.ok(&[
        "exec", name, "ip", "-4", "-o", "addr", "show", "dev", "eth0",
    ]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "inet").expect("inet");
    words[at + 1].to_string()
}

fn sleeper(b: &Berth, name: &str) -> String {
    b.ok(&["run", "-d", "--name", name, "busybox", "sleep", "60"])
}

/// Two roots, each with its own run directory and bridge: both containers
/// get the first address of their own subnet, their namespaces are in their
/// own run directories, their leases under their own bridges, and each
/// reaches its own gateway.
#[test]
fn roots_with_their_own_run_dirs_and_bridges_run_side_by_side() {
    let one = Berth::with_busybox();
    let two = Berth::with_busybox();
    assert_ne!(one.bridge(), two.bridge());
    assert_ne!(one.run_dir(), two.run_dir());
    let a = sleeper(&one, "side");
    let b = sleeper(&two, "side");
    for (root, other, id) in [(&one, &two, &a), (&two, &one, &b)] {
        let gateway = format!("{}.0.1", root.subnet_prefix());
        let ip = format!("{}.0.2", root.subnet_prefix());
        assert_eq!(address_inside(root, "side"), format!("{ip}/16"));
        assert_eq!(device_addresses(&root.bridge()), [format!("{gateway}/16")]);
        assert!(netns_file(root, id).exists());
        assert!(!netns_file(other, id).exists());
        let lease = lease_file(&root.bridge(), &ip);
        assert_eq!(
            std::fs::read_to_string(&lease).unwrap(),
            netns_file(root, id).to_string_lossy(),
            "{} names the container's namespace",
            lease.display()
        );
        // The runtime's state directory (runc: state.json, crun: status).
        assert!(root.run_dir().join("runtime").join(id).is_dir());
        root.ok(&["exec", "side", "ping", "-c", "1", "-W", "5", &gateway]);
        let route = root.ok(&["exec", "side", "ip", "route"]);
        assert!(route.contains(&format!("default via {gateway}")), "{route}");
    }
    for (root, id) in [(&one, &a), (&two, &b)] {
        root.ok(&["rm", "-f", "side"]);
        assert!(!netns_file(root, id).exists());
        assert!(!lease_file(&root.bridge(), &format!("{}.0.2", root.subnet_prefix())).exists());
    }
}

/// `--run-dir` wins over `BERTH_RUN_DIR`, and the container's monitor gets
/// it: the namespace and the runtime's state are there, and a command with
/// the same run directory finds and removes them.
#[test]
fn the_run_dir_flag_is_passed_on_to_the_monitor() {
    let b = Berth::with_busybox();
    let alt = b.run_dir().with_file_name("alt");
    let alt_arg = alt.to_str().unwrap();
    let id = b.ok(&["--run-dir", alt_arg, "run", "-d", "busybox", "sleep", "60"]);
    assert!(alt.join("netns").join(&id).exists());
    // The runtime's state directory (runc: state.json, crun: status).
    assert!(alt.join("runtime").join(&id).is_dir());
    assert!(!netns_file(&b, &id).exists());
    let shown = b.ok(&[
        "--run-dir",
        alt_arg,
        "inspect",
        "-f",
        "{{.NetworkSettings.SandboxKey}}",
        &id,
    ]);
    assert_eq!(shown, alt.join("netns").join(&id).to_string_lossy());
    b.ok(&["--run-dir", alt_arg, "rm", "-f", &id]);
    assert!(!alt.join("netns").join(&id).exists());
    assert!(!alt.join("runtime").join(&id).exists());
}

/// Two roots with different run directories on one bridge share its
/// leases: the second container gets the next address, and the two reach
/// each other across the bridge.
#[test]
fn roots_sharing_a_bridge_share_its_leases_whatever_their_run_dirs() {
    let owner = Berth::with_busybox();
    let guest = Berth::with_busybox();
    guest.daemon_config(serde_json::json!({
        "bridge": owner.bridge(),
        "bip": format!("{}.0.1/16", owner.subnet_prefix()),
    }));
    sleeper(&owner, "first");
    let id = sleeper(&guest, "second");
    let prefix = owner.subnet_prefix();
    assert_eq!(address_inside(&owner, "first"), format!("{prefix}.0.2/16"));
    assert_eq!(address_inside(&guest, "second"), format!("{prefix}.0.3/16"));
    assert!(netns_file(&guest, &id).exists());
    assert!(!netns_file(&owner, &id).exists());
    guest.ok(&[
        "exec",
        "second",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        &format!("{prefix}.0.2"),
    ]);
    guest.ok(&["rm", "-f", "second"]);
    owner.ok(&["rm", "-f", "first"]);
}

/// A bridge device of the test's own, removed when the test ends.
struct Device(String);

impl Drop for Device {
    fn drop(&mut self) {
        // netavark may have removed an emptied bridge already.
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// `bip` gives the default bridge its address and subnet; `bridge` alone
/// takes an existing device's address, as dockerd does. Both show in
/// `network inspect bridge`, inside the container and on the host.
#[test]
fn daemon_json_bridge_and_bip_take_effect() {
    let b = Berth::with_busybox();
    let prefix = b.subnet_prefix();
    b.daemon_config(serde_json::json!({ "bip": format!("{prefix}.7.1/24") }));
    let ipam = b.ok(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{json .IPAM.Config}}",
    ]);
    assert_eq!(
        ipam,
        format!(r#"[{{"Subnet":"{prefix}.7.0/24","Gateway":"{prefix}.7.1"}}]"#)
    );
    sleeper(&b, "bip");
    assert_eq!(address_inside(&b, "bip"), format!("{prefix}.7.2/24"));
    assert_eq!(device_addresses(&b.bridge()), [format!("{prefix}.7.1/24")]);
    b.ok(&["rm", "-f", "bip"]);

    // `bridge` alone: a device made beforehand, with its address.
    let device = Device(format!("{}b", b.bridge()));
    let made = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ip link add {0} type bridge && ip addr add {prefix}.9.1/24 dev {0} && ip link set {0} up",
                device.0
            ),
        ])
        .status()
        .unwrap();
    assert!(made.success());
    // The root's own daemon config, without `bip`.
    std::fs::write(
        b.isolation.daemon_json(),
        serde_json::json!({ "bridge": device.0 }).to_string(),
    )
    .unwrap();
    let shown = b.ok(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        r#"{{index .Options "com.docker.network.bridge.name"}} {{json .IPAM.Config}}"#,
    ]);
    assert_eq!(
        shown,
        format!(
            r#"{} [{{"Subnet":"{prefix}.9.0/24","Gateway":"{prefix}.9.1"}}]"#,
            device.0
        )
    );
    sleeper(&b, "named");
    assert_eq!(address_inside(&b, "named"), format!("{prefix}.9.2/24"));
    b.ok(&["rm", "-f", "named"]);
}

/// A config that cannot be honoured fails every command with one line
/// naming it, as dockerd refuses to start; a change while containers run on
/// the old bridge waits for them, and only containers that would join the
/// default network are refused meanwhile.
#[test]
fn bad_or_pending_bridge_configs_are_refused() {
    let b = Berth::with_busybox();
    let prefix = b.subnet_prefix();
    // The default bridge on a /24 of the root's /16, a user network on another.
    let good = format!("{prefix}.0.1/24");
    b.daemon_config(serde_json::json!({ "bip": good }));
    b.ok(&[
        "network",
        "create",
        "--subnet",
        &format!("{prefix}.200.0/24"),
        "taken",
    ]);
    // A host route of the test's own: a device with an address.
    let routed = Device(format!("{}r", b.bridge()));
    let made = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ip link add {0} type bridge && ip addr add {prefix}.100.1/24 dev {0} && ip link set {0} up",
                routed.0
            ),
        ])
        .status()
        .unwrap();
    assert!(made.success());
    let cases = [
        ("10.1.2.3".to_string(), "invalid CIDR address"),
        (format!("{prefix}.0.0/16"), "is not a host address"),
        (format!("{prefix}.200.1/24"), "overlaps network taken"),
        (format!("{prefix}.100.5/24"), "overlaps the host's route"),
    ];
    for (bip, words) in &cases {
        b.daemon_config(serde_json::json!({ "bip": bip }));
        // Docker's exit codes: 125 for run, 1 for other commands.
        for (args, code) in [
            (&["run", "--rm", "busybox", "true"][..], 125),
            (&["ps", "-a"], 1),
        ] {
            let r = b.fails(args);
            assert_eq!(r.code, code, "{bip} {args:?}");
            assert!(r.stderr.contains(*words), "{bip}: {}", r.stderr);
            assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        }
    }
    b.daemon_config(serde_json::json!({ "bip": good }));
    assert_eq!(b.ok(&["ps", "-aq"]), "", "nothing was created");

    sleeper(&b, "old");
    b.daemon_config(serde_json::json!({ "bip": format!("{prefix}.5.1/24") }));
    let r = b.fails(&["run", "--rm", "busybox", "true"]);
    assert!(r.stderr.contains("stop them to apply it"), "{}", r.stderr);
    b.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    assert_eq!(address_inside(&b, "old"), format!("{prefix}.0.2/24"));
    b.ok(&["rm", "-f", "old"]);
    let out = b.ok(&[
        "run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "dev", "eth0",
    ]);
    assert!(out.contains(&format!("inet {prefix}.5.2/24")), "{out}");
}

/// Two roots creating networks at the same instant never get the same
/// subnet from the pool: the choice is host-wide (each root's own rows
/// alone would not tell).
#[test]
fn roots_creating_networks_at_once_get_distinct_subnets() {
    let roots = [Berth::new(), Berth::new()];
    let barrier = std::sync::Barrier::new(2);
    let subnets: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = roots
            .iter()
            .map(|b| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for i in 0..3 {
                        barrier.wait();
                        let name = format!("racing{i}");
                        b.ok(&["network", "create", &name]);
                        out.push(b.ok(&[
                            "network",
                            "inspect",
                            "-f",
                            "{{(index .IPAM.Config 0).Subnet}}",
                            &name,
                        ]));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<&String> = subnets.iter().flatten().collect();
    assert_eq!(all.len(), 6);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "{subnets:?}");
    for b in &roots {
        for i in 0..3 {
            b.ok(&["network", "rm", &format!("racing{i}")]);
        }
    }
}

/// A network's bridge exists from `network create` to `network rm`,
/// whether or not containers are on it.
#[test]
fn a_networks_bridge_lives_as_long_as_the_network() {
    let b = Berth::with_busybox();
    let id = b.ok(&["network", "create", "lasting"]);
    let device = std::path::Path::new("/sys/class/net").join(format!("berth-{}", &id[..9]));
    assert!(device.exists(), "made with the network");
    b.ok(&["run", "--rm", "--network", "lasting", "busybox", "true"]);
    assert!(device.exists(), "kept after its last container");
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "lasting",
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        &b.ok(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Gateway}}",
            "lasting",
        ]),
    ]);
    assert!(out.contains("1 packets received"), "{out}");
    b.ok(&["network", "rm", "lasting"]);
    assert!(!device.exists(), "removed with the network");
}
