//! The CLI half of the walking test (`crates/api/tests/create_fields.rs`
//! walks the API's create fields and checks their effects): every flag of
//! `berth run --help` must be in this table and reach the create field the
//! API walk checks (read back from `inspect`), or be a flag of the client
//! itself; every flag of Docker's `docker run --help` that berth lacks must
//! be refused (exit 125, "unknown flag"), never taken silently.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::Berth;

/// A flag's arguments and what `inspect -f TEMPLATE` must then show.
enum Flag {
    Field(&'static [&'static str], &'static str, &'static str),
    /// Not a create field (the client's own), with what it is.
    Client(&'static str),
}

fn table(flag: &str) -> Option<Flag> {
    use Flag::*;
    Some(match flag {
        "--add-host" => Field(&["--add-host", "h:10.1.2.3"], "{{.HostConfig.ExtraHosts}}", "h:10.1.2.3"),
        "--blkio-weight" => Client("HostConfig.BlkioWeight (applied where the kernel has it, else refused: walked through the API)"),
        "--cap-add" => Field(&["--cap-add", "NET_ADMIN"], "{{.HostConfig.CapAdd}}", "NET_ADMIN"),
        "--cap-drop" => Field(&["--cap-drop", "CHOWN"], "{{.HostConfig.CapDrop}}", "CHOWN"),
        "--cgroupns" => Field(&["--cgroupns", "private"], "{{.HostConfig.CgroupnsMode}}", "private"),
        "--cpu-period" => Field(&["--cpu-period", "50000"], "{{.HostConfig.CpuPeriod}}", "50000"),
        "--cpu-quota" => Field(&["--cpu-quota", "25000"], "{{.HostConfig.CpuQuota}}", "25000"),
        "--cpu-rt-period" => Client("HostConfig.CpuRealtimePeriod (walked through the API; kernel-dependent)"),
        "--cpu-rt-runtime" => Client("HostConfig.CpuRealtimeRuntime (refused without a parent budget: walked through the API)"),
        "--cpu-shares" => Field(&["--cpu-shares", "512"], "{{.HostConfig.CpuShares}}", "512"),
        "--cpus" => Field(&["--cpus", "0.5"], "{{.HostConfig.NanoCpus}}", "500000000"),
        "--cpuset-cpus" => Field(&["--cpuset-cpus", "0"], "{{.HostConfig.CpusetCpus}}", "0"),
        "--cpuset-mems" => Field(&["--cpuset-mems", "0"], "{{.HostConfig.CpusetMems}}", "0"),
        "--detach" => Client("run in the background: the client does not attach"),
        "--detach-keys" => Client("the keys that detach the client from a -it session (attach_detach.rs)"),
        "--device" => Field(&["--device", "/dev/kmsg:/dev/walked:rw"], "{{json .HostConfig.Devices}}", "/dev/walked"),
        "--device-cgroup-rule" => Field(&["--device-cgroup-rule", "c 42:* rmw"], "{{.HostConfig.DeviceCgroupRules}}", "c 42:* rmw"),
        "--dns" => Field(&["--dns", "10.9.8.7"], "{{.HostConfig.Dns}}", "10.9.8.7"),
        "--dns-option" => Field(&["--dns-option", "ndots:3"], "{{.HostConfig.DnsOptions}}", "ndots:3"),
        "--dns-search" => Field(&["--dns-search", "walk.example"], "{{.HostConfig.DnsSearch}}", "walk.example"),
        "--domainname" => Field(&["--domainname", "walk.example"], "{{.Config.Domainname}}", "walk.example"),
        "--entrypoint" => Field(&["--entrypoint", "echo"], "{{.Config.Entrypoint}}", "echo"),
        "--env" => Field(&["--env", "WALK=1"], "{{.Config.Env}}", "WALK=1"),
        "--env-file" => Client("read by the client into Config.Env"),
        "--expose" => Field(&["--expose", "8080"], "{{json .Config.ExposedPorts}}", "8080/tcp"),
        "--group-add" => Field(&["--group-add", "4321"], "{{.HostConfig.GroupAdd}}", "4321"),
        "--health-cmd" => Field(&["--health-cmd", "true"], "{{json .Config.Healthcheck.Test}}", r#"["CMD-SHELL","true"]"#),
        "--health-interval" => Field(&["--health-cmd", "true", "--health-interval", "2s"], "{{.Config.Healthcheck.Interval}}", "2000000000"),
        "--health-retries" => Field(&["--health-cmd", "true", "--health-retries", "4"], "{{.Config.Healthcheck.Retries}}", "4"),
        "--health-start-interval" => Field(&["--health-cmd", "true", "--health-start-interval", "2s"], "{{.Config.Healthcheck.StartInterval}}", "2000000000"),
        "--health-start-period" => Field(&["--health-cmd", "true", "--health-start-period", "2s"], "{{.Config.Healthcheck.StartPeriod}}", "2000000000"),
        "--health-timeout" => Field(&["--health-cmd", "true", "--health-timeout", "2s"], "{{.Config.Healthcheck.Timeout}}", "2000000000"),
        "--help" => Client("prints the help"),
        "--hostname" => Field(&["--hostname", "walkhost"], "{{.Config.Hostname}}", "walkhost"),
        "--init" => Field(&["--init"], "{{.HostConfig.Init}}", "true"),
        "--interactive" => Field(&["--interactive"], "{{.Config.OpenStdin}}", "true"),
        "--ip" | "--ip6" | "--link-local-ip" | "--mac-address" | "--network-alias" => {
            Client("endpoint settings on a user network (walked through the API; crates/cli/tests/network_settings.rs)")
        }
        "--ipc" => Field(&["--ipc", "shareable"], "{{.HostConfig.IpcMode}}", "shareable"),
        "--isolation" => Field(&["--isolation", "default"], "{{.HostConfig.Isolation}}", "default"),
        "--label" => Field(&["--label", "walk=1"], "{{json .Config.Labels}}", r#""walk":"1""#),
        "--link" => Client("HostConfig.Links: needs a running container (crates/cli/tests/network_settings.rs)"),
        "--log-driver" => Field(&["--log-driver", "none"], "{{.HostConfig.LogConfig.Type}}", "none"),
        "--log-opt" => Field(&["--log-opt", "max-size=1k"], "{{json .HostConfig.LogConfig.Config}}", r#""max-size":"1k""#),
        "--memory" => Field(&["--memory", "64m"], "{{.HostConfig.Memory}}", "67108864"),
        "--memory-reservation" => Field(&["--memory-reservation", "32m"], "{{.HostConfig.MemoryReservation}}", "33554432"),
        "--memory-swappiness" => Field(&["--memory-swappiness", "10"], "{{.HostConfig.MemorySwappiness}}", "10"),
        "--memory-swap" => Field(&["-m", "64m", "--memory-swap", "128m"], "{{.HostConfig.MemorySwap}}", "134217728"),
        "--mount" => Field(&["--mount", "type=tmpfs,target=/walk"], "{{json .HostConfig.Mounts}}", "/walk"),
        "--name" => Client("the container's name (a create query parameter, not a field)"),
        "--network" => Field(&["--network", "host"], "{{.HostConfig.NetworkMode}}", "host"),
        "--no-healthcheck" => Field(&["--no-healthcheck"], "{{.Config.Healthcheck.Test}}", "NONE"),
        "--oom-kill-disable" => Field(&["--oom-kill-disable"], "{{.HostConfig.OomKillDisable}}", "true"),
        "--oom-score-adj" => Field(&["--oom-score-adj", "321"], "{{.HostConfig.OomScoreAdj}}", "321"),
        "--pid" => Field(&["--pid", "host"], "{{.HostConfig.PidMode}}", "host"),
        "--pids-limit" => Field(&["--pids-limit", "42"], "{{.HostConfig.PidsLimit}}", "42"),
        "--privileged" => Field(&["--privileged"], "{{.HostConfig.Privileged}}", "true"),
        "--publish" => Field(&["--publish", "80"], "{{json .HostConfig.PortBindings}}", "80/tcp"),
        "--publish-all" => Field(&["--publish-all"], "{{.HostConfig.PublishAllPorts}}", "true"),
        "--read-only" => Field(&["--read-only"], "{{.HostConfig.ReadonlyRootfs}}", "true"),
        "--restart" => Field(&["--restart", "always"], "{{.HostConfig.RestartPolicy.Name}}", "always"),
        "--rm" => Field(&["--rm"], "{{.HostConfig.AutoRemove}}", "true"),
        "--root" => Client("berth's state root (a global flag)"),
        "--run-dir" => Client("berth's run directory (a global flag)"),
        "--runtime" => Field(&["--runtime", "crun"], "{{.HostConfig.Runtime}}", "crun"),
        "--security-opt" => Field(&["--security-opt", "no-new-privileges"], "{{.HostConfig.SecurityOpt}}", "no-new-privileges"),
        "--shm-size" => Field(&["--shm-size", "32m"], "{{.HostConfig.ShmSize}}", "33554432"),
        "--stop-signal" => Field(&["--stop-signal", "SIGUSR1"], "{{.Config.StopSignal}}", "SIGUSR1"),
        "--stop-timeout" => Field(&["--stop-timeout", "1"], "{{.Config.StopTimeout}}", "1"),
        "--sysctl" => Field(&["--sysctl", "kernel.shmmax=123456"], "{{json .HostConfig.Sysctls}}", r#""kernel.shmmax":"123456""#),
        "--tmpfs" => Field(&["--tmpfs", "/walk:size=1m"], "{{json .HostConfig.Tmpfs}}", r#""/walk":"size=1m""#),
        "--tty" => Field(&["--tty"], "{{.Config.Tty}}", "true"),
        "--ulimit" => Field(&["--ulimit", "nofile=1000:2000"], "{{json .HostConfig.Ulimits}}", "1000"),
        "--user" => Field(&["--user", "65534"], "{{.Config.User}}", "65534"),
        "--uts" => Field(&["--uts", "host"], "{{.HostConfig.UTSMode}}", "host"),
        "--userns" => Field(&["--userns", "keep-id"], "{{.HostConfig.UsernsMode}}", "keep-id"),
        "--volume" => Field(&["--volume", "/walkvol"], "{{json .Mounts}}", "/walkvol"),
        "--volume-driver" => Field(&["--volume-driver", "local"], "{{.HostConfig.VolumeDriver}}", "local"),
        "--volumes-from" => Client("HostConfig.VolumesFrom: needs another container (walked through the API)"),
        "--workdir" => Field(&["--workdir", "/tmp"], "{{.Config.WorkingDir}}", "/tmp"),
        _ => return None,
    })
}

fn long_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix('-')
                .filter(|r| !r.starts_with('-'))
                .map_or(l, |r| r.split_once(", ").map_or(l, |(_, rest)| rest));
            l.strip_prefix("--")
                .map(|f| format!("--{}", f.split([' ', ',', '=', '<']).next().unwrap_or("")))
        })
        .collect()
}

#[test]
fn every_run_flag_reaches_its_field_and_dockers_others_are_refused() {
    let b = Berth::with_busybox();
    let ours = long_flags(&b.ok(&["run", "--help"]));
    assert!(ours.len() > 60, "{ours:?}");
    let mut failures = Vec::new();
    for flag in &ours {
        match table(flag) {
            None => failures.push(format!("{flag}: not in the table")),
            Some(Flag::Client(what)) => eprintln!("{flag}: {what}"),
            Some(Flag::Field(args, template, want)) => {
                let mut create = vec!["create"];
                create.extend(args);
                create.push("busybox");
                let r = b.run(&create);
                // Refused, with Docker's words, where this kernel lacks it
                // (a pure cgroup v2 host has no swappiness nor
                // oom_control): the resources tests read its effect where
                // it has it.
                if r.code == 125 && r.stderr.contains("Your kernel does not support") {
                    eprintln!("{flag}: refused on this kernel: {}", r.stderr.trim());
                    continue;
                }
                if r.code != 0 {
                    failures.push(format!("{flag}: {}", r.stderr.trim()));
                    continue;
                }
                let id = r.stdout.trim().to_string();
                let shown = b.ok(&["inspect", "-f", template, &id]);
                if !shown.contains(want) {
                    failures.push(format!("{flag}: {template} is {shown:?}, want {want:?}"));
                }
                b.ok(&["rm", "-f", &id]);
            }
        }
    }
    // Docker's own flags: those berth lacks are refused, nothing created.
    if let Ok(out) = Command::new("docker").args(["run", "--help"]).output() {
        let theirs = long_flags(&String::from_utf8_lossy(&out.stdout));
        for flag in theirs.difference(&ours) {
            let r = b.run(&["run", &format!("{flag}=1"), "busybox", "true"]);
            if r.code != 125 || !r.stderr.contains(&format!("unknown flag: {flag}")) {
                failures.push(format!("docker's {flag}: {} {}", r.code, r.stderr.trim()));
            }
        }
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
