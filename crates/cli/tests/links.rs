//! Links, seen from inside containers and compared with dockerd when it
//! answers: on a user network a `--link NAME:ALIAS` resolves through DNS
//! (ALIAS and ALIAS.NETWORK) for the linking container only, also to a
//! container started after it and to links given by `network connect`;
//! on the default bridge `rm --link PARENT/ALIAS` removes a legacy link
//! (the running parent's hosts line, its next start's variables) and
//! refuses what Docker refuses with Docker's messages.

mod common;

use std::process::Command;

use common::{Berth, Run};

/// One engine: berth on a private root, or the machine's dockerd.
enum Engine<'a> {
    Berth(&'a Berth),
    Dockerd,
}

impl Engine<'_> {
    fn run(&self, args: &[&str]) -> Run {
        match self {
            Engine::Berth(b) => b.run(args),
            Engine::Dockerd => {
                let out = Command::new("docker").args(args).output().expect("docker");
                Run {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                }
            }
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "{}: {args:?}: {}", self.name(), r.stderr);
        r.stdout
    }

    fn name(&self) -> &'static str {
        match self {
            Engine::Berth(_) => "berth",
            Engine::Dockerd => "dockerd",
        }
    }
}

/// dockerd, when it answers and has the busybox image the tests run.
fn dockerd() -> Option<Engine<'static>> {
    (common::dockerd_answers() && common::docker(&["image", "inspect", "busybox"]).is_some())
        .then_some(Engine::Dockerd)
}

/// What a container sees when it looks `name` up with nslookup: the
/// address, or None when the lookup fails.
fn lookup(e: &Engine, container: &str, name: &str) -> Option<String> {
    let r = e.run(&["exec", container, "nslookup", name]);
    if r.code != 0 {
        return None;
    }
    // The answer follows "Name:\t<name>" as "Address: <ip>".
    let answer = r.stdout.split("Name:").nth(1)?;
    let line = answer.lines().find(|l| l.starts_with("Address"))?;
    Some(line.rsplit(' ').next()?.trim().to_string())
}

/// The scenario on one engine; `p` prefixes every name, `subnet` is the
/// network's (berth's tests choose theirs, so that parallel runs never
/// share one).
fn user_network_links(e: &Engine, p: &str, subnet: Option<&str>) {
    let net = format!("{p}net");
    let (a, b, c) = (format!("{p}a"), format!("{p}b"), format!("{p}c"));
    let mut create = vec!["network", "create"];
    if let Some(s) = subnet {
        create.extend(["--subnet", s]);
    }
    create.push(&net);
    e.ok(&create);
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name, "--network", &net];
        args.extend_from_slice(extra);
        args.extend(["busybox", "sleep", "120"]);
        e.ok(&args);
    };
    // Linked to a container that does not run yet.
    run(
        &a,
        &[
            "--link",
            &format!("{b}:bar"),
            "--link",
            &format!("{b}:MyAlias"),
        ],
    );
    run(&b, &[]);
    run(&c, &[]);
    let who = e.name();
    let format = format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}");
    let b_ip = e.ok(&["inspect", "-f", &format, &b]).trim().to_string();
    assert_eq!(
        lookup(e, &a, "bar").as_deref(),
        Some(b_ip.as_str()),
        "{who}"
    );
    let qualified = format!("bar.{net}");
    assert_eq!(
        lookup(e, &a, &qualified).as_deref(),
        Some(b_ip.as_str()),
        "{who}"
    );
    // As dockerd's embedded DNS: link aliases are case-sensitive (the
    // network's part too), container names are not.
    assert_eq!(
        lookup(e, &a, "MyAlias").as_deref(),
        Some(b_ip.as_str()),
        "{who}"
    );
    assert_eq!(
        lookup(e, &a, &format!("MyAlias.{net}")).as_deref(),
        Some(b_ip.as_str()),
        "{who}"
    );
    for wrong_case in [
        "myalias".to_string(),
        format!("MyAlias.{}", net.to_uppercase()),
    ] {
        assert_eq!(lookup(e, &a, &wrong_case), None, "{who}: {wrong_case}");
    }
    assert_eq!(
        lookup(e, &a, &b.to_uppercase()).as_deref(),
        Some(b_ip.as_str()),
        "{who}"
    );
    let ping = e.ok(&["exec", &a, "ping", "-c1", "-W5", "bar"]);
    assert!(ping.contains(&format!("({b_ip})")), "{who}: {ping}");
    // Through DNS, not the hosts file; for the linking container only.
    let hosts = e.ok(&["exec", &a, "cat", "/etc/hosts"]);
    assert!(!hosts.contains("bar"), "{who}: {hosts}");
    let resolv = e.ok(&["exec", &a, "cat", "/etc/resolv.conf"]);
    assert!(
        resolv.contains("nameserver 127.0.0.11\n"),
        "{who}: {resolv}"
    );
    // Port 53 stays free for the container's own programs.
    let listen = e.run(&["exec", &a, "timeout", "1", "nc", "-l", "-p", "53"]);
    assert!(
        !listen.stderr.contains("in use"),
        "{who}: {}",
        listen.stderr
    );
    assert_eq!(listen.code, 143, "{who}: nc runs until timeout stops it");
    assert_eq!(lookup(e, &c, "bar"), None, "{who}");
    assert_eq!(lookup(e, &c, &b).as_deref(), Some(b_ip.as_str()), "{who}");
    // Reconnected without the link, the alias is gone; a link given by
    // `network connect` resolves at once, again for that container only.
    e.ok(&["network", "disconnect", &net, &a]);
    e.ok(&["network", "connect", &net, &a]);
    assert_eq!(lookup(e, &a, "bar"), None, "{who}");
    e.ok(&["network", "disconnect", &net, &a]);
    e.ok(&[
        "network",
        "connect",
        "--link",
        &format!("{b}:baz"),
        &net,
        &a,
    ]);
    assert_eq!(
        lookup(e, &a, "baz").as_deref(),
        Some(b_ip.as_str()),
        "{who}"
    );
    assert_eq!(lookup(e, &c, "baz"), None, "{who}");
    // The container's other names still resolve through the network.
    assert_eq!(lookup(e, &a, &b).as_deref(), Some(b_ip.as_str()), "{who}");
    e.ok(&["rm", "-f", &a, &b, &c]);
    e.ok(&["network", "rm", &net]);
}

#[test]
fn link_aliases_on_user_networks_resolve_for_the_linking_container_only() {
    let b = Berth::with_busybox();
    let p = format!("lk{}", std::process::id());
    let subnet = format!("10.241.{}.0/24", std::process::id() % 250 + 1);
    user_network_links(&Engine::Berth(&b), &p, Some(&subnet));
    if let Some(docker) = dockerd() {
        user_network_links(&docker, &format!("berthtest-{p}"), None);
    }
}

/// `rm --link` on one engine.
fn remove_legacy_link(e: &Engine, p: &str) {
    let (child, parent) = (format!("{p}1"), format!("{p}2"));
    let who = e.name();
    e.ok(&["run", "-d", "--name", &child, "busybox", "sleep", "120"]);
    let link = format!("{child}:mylink");
    let run = ["run", "-d", "--name", &parent, "--link", &link];
    e.ok(&[&run[..], &["busybox", "sleep", "120"]].concat());
    let hosts = e.ok(&["exec", &parent, "cat", "/etc/hosts"]);
    assert!(hosts.contains("\tmylink "), "{who}: {hosts}");
    // Docker lists the linked container under /PARENT/ALIAS too, which
    // `ps` shows with --no-trunc only.
    let names = |extra: &[&str]| {
        let filter = format!("name={p}");
        let mut args = vec!["ps", "--filter", &filter, "--format", "{{.Names}}"];
        args.extend_from_slice(extra);
        let mut rows: Vec<String> = e.ok(&args).lines().map(String::from).collect();
        rows.sort();
        rows
    };
    assert_eq!(names(&[]), [child.clone(), parent.clone()], "{who}");
    assert_eq!(
        names(&["--no-trunc"]),
        [format!("{child},{parent}/mylink"), parent.clone()],
        "{who}"
    );
    let r = e.run(&["rm", "--link", &child]);
    assert_ne!(r.code, 0, "{who}");
    assert!(
        r.stderr
            .contains("Conflict, cannot remove the default link name of the container"),
        "{who}: {}",
        r.stderr
    );
    let nosuch = format!("{parent}/nosuch");
    let r = e.run(&["rm", "--link", &nosuch]);
    assert_ne!(r.code, 0, "{who}");
    assert!(
        r.stderr.contains(&format!("No such container: {nosuch}")),
        "{who}: {}",
        r.stderr
    );
    let name = format!("{parent}/mylink");
    assert_eq!(e.ok(&["rm", "-l", &name]).trim(), name, "{who}");
    // Gone from the running parent at once, and from its record.
    let hosts = e.ok(&["exec", &parent, "cat", "/etc/hosts"]);
    assert!(!hosts.contains("mylink"), "{who}: {hosts}");
    let links = e.ok(&["inspect", "-f", "{{json .HostConfig.Links}}", &parent]);
    assert_eq!(links.trim(), "null", "{who}");
    let running = e.ok(&["inspect", "-f", "{{.State.Running}}", &child]);
    assert_eq!(running.trim(), "true", "{who}: the linked container stays");
    e.ok(&["restart", "-t", "0", &parent]);
    let seen = e.ok(&["exec", &parent, "sh", "-c", "cat /etc/hosts; env"]);
    assert!(!seen.to_lowercase().contains("mylink"), "{who}: {seen}");
    let r = e.run(&["rm", "--link", &name]);
    assert!(
        r.stderr.contains(&format!("No such container: {name}")),
        "{who}: {}",
        r.stderr
    );
    e.ok(&["rm", "-f", &parent, &child]);
}

#[test]
fn rm_link_removes_a_legacy_link_as_docker_does() {
    let b = Berth::with_busybox();
    let p = format!("rml{}", std::process::id());
    remove_legacy_link(&Engine::Berth(&b), &p);
    if let Some(docker) = dockerd() {
        remove_legacy_link(&docker, &format!("berthtest-{p}"));
    }
}
