//! Resources, namespaces and groups are applied, read back from the kernel
//! (the container's cgroup files, its namespaces, `id` inside it), or refused
//! with Docker's messages and nothing created; `update` changes a running
//! container's cgroup and a restart keeps what it set.

mod common;

use std::path::PathBuf;

use common::Berth;

/// A cgroup file of container `id`: `v1` under its controller's hierarchy
/// (hybrid hosts), `v2` in the unified one.
fn cgroup_file(id: &str, controller: &str, v1: &str, v2: &str) -> String {
    let v1_path = PathBuf::from(format!("/sys/fs/cgroup/{controller}/berth/{id}/{v1}"));
    let path = if v1_path.exists() {
        v1_path
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/berth/{id}/{v2}"))
    };
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// A file of container `id`'s cgroup on a pure v2 host.
fn cgroup2_file(id: &str, file: &str) -> String {
    let path = format!("/sys/fs/cgroup/berth/{id}/{file}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

fn cgroup_v1() -> bool {
    PathBuf::from("/sys/fs/cgroup/cpu/cpu.shares").exists()
}

/// cgroup v2's `cpu.weight` for Docker's CPU shares, as runc 1.1 and crun
/// 1.8 convert them.
fn v2_weight(shares: u64) -> String {
    (1 + (shares - 2) * 9999 / 262_142).to_string()
}

fn memory_limit(id: &str) -> String {
    cgroup_file(id, "memory", "memory.limit_in_bytes", "memory.max")
}

fn cpu_quota(id: &str) -> String {
    let quota = cgroup_file(id, "cpu", "cpu.cfs_quota_us", "cpu.max");
    // v2's cpu.max is "QUOTA PERIOD".
    quota.split_whitespace().next().unwrap().to_string()
}

fn pids_max(id: &str) -> String {
    cgroup_file(id, "pids", "pids.max", "pids.max")
}

#[test]
fn create_applies_cpu_shares_cpusets_and_reservation() {
    let b = Berth::with_busybox();
    let id = b.ok(&[
        "run",
        "-d",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "-m",
        "64m",
        "--memory-reservation",
        "16m",
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(
        cgroup_file(&id, "cpuset", "cpuset.cpus", "cpuset.cpus"),
        "0"
    );
    assert_eq!(
        cgroup_file(&id, "cpuset", "cpuset.mems", "cpuset.mems"),
        "0"
    );
    assert_eq!(
        cgroup_file(&id, "memory", "memory.soft_limit_in_bytes", "memory.low"),
        (16 << 20).to_string()
    );
    if cgroup_v1() {
        assert_eq!(cgroup_file(&id, "cpu", "cpu.shares", ""), "512");
        // Docker's default swap: twice the memory.
        assert_eq!(
            cgroup_file(&id, "memory", "memory.memsw.limit_in_bytes", ""),
            (128 << 20).to_string()
        );
    } else {
        assert_eq!(cgroup2_file(&id, "cpu.weight"), v2_weight(512));
        // v2 limits swap alone: Docker's default (2 × memory) less the memory.
        assert_eq!(cgroup2_file(&id, "memory.swap.max"), (64 << 20).to_string());
    }
    let shown = b.ok(&[
        "inspect", "-f",
        "{{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}} {{.HostConfig.MemoryReservation}} {{.HostConfig.MemorySwap}}",
        &id,
    ]);
    assert_eq!(shown, format!("512 0 0 {} {}", 16 << 20, 128 << 20));
}

#[test]
fn update_changes_the_running_cgroup_and_a_restart_keeps_it() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "-m", "64m", "busybox", "sleep", "600"]);
    assert_eq!(memory_limit(&id), (64 << 20).to_string());
    let out = b.ok(&[
        "update",
        "-m",
        "32m",
        "--memory-swap",
        "96m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "50",
        "--cpu-shares",
        "300",
        "--restart",
        "on-failure:3",
        &id,
    ]);
    assert_eq!(out, id);
    assert_eq!(memory_limit(&id), (32 << 20).to_string());
    assert_eq!(cpu_quota(&id), "50000");
    assert_eq!(pids_max(&id), "50");
    if cgroup_v1() {
        assert_eq!(cgroup_file(&id, "cpu", "cpu.shares", ""), "300");
    } else {
        assert_eq!(cgroup2_file(&id, "cpu.weight"), v2_weight(300));
        assert_eq!(cgroup2_file(&id, "memory.swap.max"), (64 << 20).to_string());
    }
    let shown = |b: &Berth| {
        b.ok(&[
            "inspect", "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            &id,
        ])
    };
    let expected = format!("{} {} 500000000 50 300 on-failure:3", 32 << 20, 96 << 20);
    assert_eq!(shown(&b), expected);

    // A new cgroup, the updated values.
    b.ok(&["restart", "-t", "0", &id]);
    assert_eq!(memory_limit(&id), (32 << 20).to_string());
    assert_eq!(cpu_quota(&id), "50000");
    assert_eq!(pids_max(&id), "50");
    assert_eq!(shown(&b), expected);
}

#[test]
fn a_process_killed_for_memory_shows_as_oom_killed() {
    // The kernel's OOM kill is read from the container's memory cgroup (v1's
    // memory.oom_control, v2's memory.events) when its init has exited.
    let b = Berth::with_busybox();
    let r = b.run(&[
        "run",
        "--name",
        "hog",
        "-m",
        "8m",
        "--memory-swap",
        "8m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(r.code, 137, "{}", r.stderr);
    let shown = b.ok(&[
        "inspect",
        "-f",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        "hog",
    ]);
    assert_eq!(shown, "true 137");
    // A process that ends by itself under a limit is no OOM kill.
    b.ok(&["run", "--name", "calm", "-m", "8m", "busybox", "true"]);
    let shown = b.ok(&["inspect", "-f", "{{.State.OOMKilled}}", "calm"]);
    assert_eq!(shown, "false");
}

#[test]
fn stats_read_the_limit_and_pids_from_the_cgroup() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run", "-d", "--name", "usage", "-m", "64m", "busybox", "sleep", "600",
    ]);
    let shown = b.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}} {{.PIDs}}",
        "usage",
    ]);
    // One process (sleep), some memory used, and the limit from the cgroup
    // (v1's memory.limit_in_bytes, v2's memory.max), not the host's memory.
    assert!(shown.ends_with(" / 64MiB 1"), "{shown}");
    assert!(!shown.starts_with("0B "), "{shown}");
}

#[test]
fn blkio_weight_reaches_the_kernel_or_is_refused() {
    let b = Berth::with_busybox();
    let r = b.run(&[
        "run",
        "-d",
        "--blkio-weight",
        "300",
        "busybox",
        "sleep",
        "60",
    ]);
    let v1_files =
        ["blkio.weight", "blkio.bfq.weight"].map(|f| PathBuf::from("/sys/fs/cgroup/blkio").join(f));
    let supported = if cgroup_v1() {
        v1_files.iter().any(|f| f.exists())
    } else {
        // Docker's v2 check: the io controller (io.weight exists only below the root).
        std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .unwrap()
            .split_whitespace()
            .any(|c| c == "io")
    };
    if !supported {
        assert_eq!(r.code, 125, "{}", r.stdout);
        assert!(r.stderr.contains("--blkio-weight"), "{}", r.stderr);
        assert_eq!(b.ok(&["ps", "-aq"]), "");
        return;
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.trim();
    let dir = PathBuf::from(format!("/sys/fs/cgroup/berth/{id}"));
    // BFQ's weight as given; else v2's io.weight on its 1–10000 scale (runc's and crun's conversion).
    let (file, expected) = if cgroup_v1() {
        let dir = PathBuf::from(format!("/sys/fs/cgroup/blkio/berth/{id}"));
        match ["blkio.bfq.weight", "blkio.weight"]
            .iter()
            .find(|f| dir.join(f).exists())
        {
            Some(f) => (dir.join(f), "300".to_string()),
            None => panic!("no blkio weight file in {}", dir.display()),
        }
    } else if dir.join("io.bfq.weight").exists() {
        (dir.join("io.bfq.weight"), "300".to_string())
    } else {
        (
            dir.join("io.weight"),
            (1 + (300 - 10) * 9999 / 990).to_string(),
        )
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("default {expected}")) || text.trim() == expected,
        "{}: {text}",
        file.display()
    );
}

#[test]
fn info_tells_the_cgroup_version_of_the_host() {
    let b = Berth::new();
    let expected = if PathBuf::from("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    assert_eq!(b.ok(&["info", "-f", "{{.CgroupVersion}}"]), expected);
}

#[test]
fn update_of_a_stopped_container_applies_at_its_start() {
    let b = Berth::with_busybox();
    let id = b.ok(&["create", "busybox", "sleep", "600"]);
    assert_eq!(
        b.ok(&["update", "--pids-limit", "40", "-m", "48m", &id]),
        id
    );
    b.ok(&["start", &id]);
    assert_eq!(pids_max(&id), "40");
    assert_eq!(memory_limit(&id), (48 << 20).to_string());
}

#[test]
fn update_refuses_what_docker_refuses() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "--cpus", "1", "busybox", "sleep", "600"]);
    let refused = |args: &[&str], message: &str| {
        let r = b.fails(args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
    };
    refused(
        &["update", "--cpu-quota", "20000", &id],
        &format!("Cannot update container {id}: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"),
    );
    refused(
        &["update", "-m", "1m", &id],
        "Minimum memory limit allowed is 6MB",
    );
    refused(
        &["update", "--cpuset-cpus", "4096", &id],
        "Requested CPUs are not available - requested 4096",
    );
    refused(
        &["update", &id],
        "you must provide one or more flags when using this command",
    );
    refused(
        &["update", "--cpu-shares", "10", "nosuch"],
        "No such container: nosuch",
    );
    // The refused values were not stored.
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.CpuQuota}}", &id]),
        "0"
    );
    assert_eq!(cpu_quota(&id), "100000");

    let auto = b.ok(&["create", "--rm", "busybox", "true"]);
    refused(
        &["update", "--restart", "always", &auto],
        "Restart policy cannot be updated because AutoRemove is enabled for the container",
    );
}

#[test]
fn device_cgroup_rules_open_devices_to_the_container() {
    let b = Berth::with_busybox();
    // Major 42 has no driver: an allowed open reaches the kernel's ENXIO, a
    // denied one stops at the device cgroup's EPERM.
    let probe = "mknod /tmp/dev c 42 1 && cat /tmp/dev";
    let allowed = b.run(&[
        "run",
        "--rm",
        "--device-cgroup-rule",
        "c 42:* rmw",
        "busybox",
        "sh",
        "-c",
        probe,
    ]);
    assert!(
        allowed.stderr.contains("No such device"),
        "{}",
        allowed.stderr
    );
    let denied = b.run(&["run", "--rm", "busybox", "sh", "-c", probe]);
    assert!(
        denied.stderr.contains("Operation not permitted"),
        "{}",
        denied.stderr
    );

    let r = b.fails(&["create", "--device-cgroup-rule", "c 42 rmw", "busybox"]);
    assert!(
        r.stderr
            .contains("invalid device cgroup rule format: 'c 42 rmw'"),
        "{}",
        r.stderr
    );
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

fn namespace_of(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn pid_and_uts_namespaces_are_shared_as_asked() {
    let b = Berth::with_busybox();
    let host_pid = namespace_of("self", "pid");
    let inside = |args: &[&str], kind: &str| {
        let path = format!("/proc/self/ns/{kind}");
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        all.extend(["busybox", "readlink", path.as_str()]);
        b.ok(&all)
    };
    assert_eq!(inside(&["--pid", "host"], "pid"), host_pid);
    assert_ne!(inside(&[], "pid"), host_pid);

    let target = b.ok(&["run", "-d", "--name", "target", "busybox", "sleep", "600"]);
    let target_pid = b.ok(&["inspect", "-f", "{{.State.Pid}}", &target]);
    assert_eq!(
        inside(&["--pid", "container:target"], "pid"),
        namespace_of(&target_pid, "pid")
    );
    b.ok(&["stop", "-t", "0", "target"]);
    let r = b.fails(&[
        "run",
        "--rm",
        "--pid",
        "container:target",
        "busybox",
        "true",
    ]);
    assert!(
        r.stderr
            .contains(&format!("container {target} is not running")),
        "{}",
        r.stderr
    );
    let r = b.fails(&["create", "--pid", "container:nosuch", "busybox"]);
    assert!(
        r.stderr.contains("No such container: nosuch"),
        "{}",
        r.stderr
    );

    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        b.ok(&["run", "--rm", "--uts", "host", "busybox", "hostname"]),
        host_name.trim()
    );
    assert_eq!(
        inside(&["--uts", "host"], "uts"),
        namespace_of("self", "uts")
    );
    let r = b.fails(&["create", "--uts", "host", "-h", "named", "busybox"]);
    assert!(
        r.stderr
            .contains("conflicting options: hostname and the UTS mode"),
        "{}",
        r.stderr
    );
}

#[test]
fn group_add_gives_the_process_its_groups() {
    let b = Berth::with_busybox();
    let groups = b.ok(&[
        "run",
        "--rm",
        "--group-add",
        "nobody",
        "--group-add",
        "1234",
        "busybox",
        "id",
        "-G",
    ]);
    // The kernel keeps supplementary groups sorted.
    assert_eq!(groups, "0 1234 65534");
    // Execs have them too, as in Docker.
    let id = b.ok(&[
        "run",
        "-d",
        "--group-add",
        "1234",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_eq!(b.ok(&["exec", &id, "id", "-G"]), "0 1234");
    let id = b.ok(&["create", "--group-add", "nosuchgroup", "busybox", "true"]);
    let r = b.fails(&["start", &id]);
    assert!(
        r.stderr
            .contains("Unable to find group nosuchgroup: no matching entries in group file"),
        "{}",
        r.stderr
    );
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .HostConfig.GroupAdd}}", &id]),
        "[\"nosuchgroup\"]"
    );
}

#[test]
fn isolation_and_volume_driver_take_only_what_linux_and_berth_have() {
    let b = Berth::with_busybox();
    let id = b.ok(&[
        "create",
        "--isolation",
        "default",
        "--volume-driver",
        "local",
        "-v",
        "named:/data",
        "busybox",
    ]);
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Isolation}} {{.HostConfig.VolumeDriver}}",
            &id
        ]),
        "default local"
    );
    b.ok(&["rm", "-v", &id]);
    b.ok(&["volume", "rm", "named"]);

    let r = b.fails(&["create", "--isolation", "hyperv", "busybox"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("Invalid isolation: \"hyperv\" - linux only supports 'default'"),
        "{}",
        r.stderr
    );
    let r = b.fails(&[
        "run",
        "--volume-driver",
        "nfs",
        "-v",
        "other:/data",
        "busybox",
        "true",
    ]);
    assert!(
        r.stderr
            .contains("error looking up volume plugin nfs: plugin \"nfs\" not found"),
        "{}",
        r.stderr
    );
    // Nothing was created.
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    // Without volumes the driver is never used: Docker accepts any name.
    let id = b.ok(&["create", "--volume-driver", "foo", "busybox"]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.VolumeDriver}}", &id]),
        "foo"
    );
}

#[test]
fn real_time_cpu_values_are_checked_and_given_to_the_kernel() {
    let b = Berth::with_busybox();
    let r = b.fails(&[
        "create",
        "--cpu-rt-period",
        "1000",
        "--cpu-rt-runtime",
        "5000",
        "busybox",
    ]);
    let rt_kernel = PathBuf::from("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists();
    let expected = if rt_kernel {
        "cpu real-time runtime cannot be higher than cpu real-time period"
    } else {
        "Your kernel does not support CPU real-time scheduler"
    };
    assert!(r.stderr.contains(expected), "{}", r.stderr);
    let r = b.run(&["run", "--rm", "--cpu-rt-runtime", "950", "busybox", "true"]);
    if rt_kernel {
        // berth's cgroup parent has no real-time budget (Docker's default,
        // without `--cpu-rt-runtime` on the daemon): the kernel refuses.
        assert!(
            r.code != 0 && r.stderr.contains("cpu.rt_runtime_us"),
            "{}",
            r.stderr
        );
    } else {
        assert!(r.stderr.contains(expected), "{}", r.stderr);
    }
}

#[test]
fn committed_images_have_their_container_image_as_parent() {
    let b = Berth::with_busybox();
    let busybox = b.ok(&["inspect", "-f", "{{.Id}}", "busybox"]);
    let id = b.ok(&["run", "-d", "busybox", "touch", "/made"]);
    b.ok(&["wait", &id]);
    let image = b.ok(&["commit", &id]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.Parent}}", &image]), busybox);
    assert_eq!(b.ok(&["inspect", "-f", "{{.Parent}}", "busybox"]), "");
}

#[test]
fn ipc_modes_share_namespaces_and_dev_shm_as_docker() {
    let b = Berth::with_busybox();
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let donor = b.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--ipc",
        "shareable",
        "busybox",
        "sleep",
        "60",
    ]);
    let donor_ns = b.ok(&[
        "exec",
        &donor,
        "sh",
        "-c",
        "echo hi > /dev/shm/x; readlink /proc/self/ns/ipc",
    ]);
    assert_ne!(donor_ns, host_ipc.display().to_string());
    let joined = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--ipc",
        &format!("container:{donor}"),
        "busybox",
        "sh",
        "-c",
        "cat /dev/shm/x; readlink /proc/self/ns/ipc",
    ]);
    assert_eq!(joined, format!("hi\n{donor_ns}"));
    let private = b.ok(&["run", "-d", "--network", "none", "busybox", "sleep", "60"]);
    let r = b.fails(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--ipc",
        &format!("container:{private}"),
        "busybox",
        "true",
    ]);
    assert!(r.stderr.contains("non-shareable IPC"), "{}", r.stderr);
    let own = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "readlink",
        "/proc/self/ns/ipc",
    ]);
    assert_ne!(own, host_ipc.display().to_string());
    let host = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--ipc",
        "host",
        "busybox",
        "readlink",
        "/proc/self/ns/ipc",
    ]);
    assert_eq!(host, host_ipc.display().to_string());
    let r = b.fails(&["create", "--ipc", "bogus", "busybox"]);
    assert!(r.stderr.contains("Invalid IPC mode: bogus"), "{}", r.stderr);
    b.ok(&["rm", "-f", &donor, &private]);
    // The shareable tmpfs went with its container.
    assert!(common::mounts_under(b.path())
        .iter()
        .all(|m| !m.ends_with("/shm")));
}

#[test]
fn sysctls_outside_the_containers_namespaces_are_refused() {
    let b = Berth::with_busybox();
    for (args, message) in [
        (
            &["--sysctl", "vm.swappiness=1"][..],
            "sysctl 'vm.swappiness' is not allowed",
        ),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"][..],
            "host's network namespace",
        ),
        (
            &["--ipc", "host", "--sysctl", "kernel.shmmax=1"][..],
            "host's IPC namespace",
        ),
        (
            &["--oom-score-adj", "2000"][..],
            "range for oom score adj is [-1000, 1000]",
        ),
        (
            &["--device", "/dev/nonexistent-berth"][..],
            "error gathering device information",
        ),
    ] {
        let mut create = vec!["create"];
        create.extend(args);
        create.push("busybox");
        let r = b.fails(&create);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    let out = b.ok(&[
        "run",
        "--rm",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "kernel.msgmax=4096",
        "busybox",
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/kernel/msgmax",
    ]);
    assert_eq!(out, "1\n4096");
}

#[test]
fn memory_swappiness_is_applied_or_refused_as_docker_checks_it() {
    let b = Berth::with_busybox();
    for bad in ["101", "-2"] {
        let r = b.run(&[
            "create",
            "--name",
            "swappy",
            "--memory-swappiness",
            bad,
            "busybox",
            "true",
        ]);
        assert_eq!(r.code, 125, "{}", r.stderr);
        // Docker checks the range only where the kernel has the knob (on
        // cgroup v2 it discards any value with a warning; berth refuses).
        let expected = if cgroup_v1() {
            format!("Invalid value: {bad}, valid memory swappiness range is 0-100")
        } else {
            "--memory-swappiness (HostConfig.MemorySwappiness) refused".to_string()
        };
        assert!(r.stderr.contains(&expected), "{}", r.stderr);
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    if !cgroup_v1() {
        // cgroup v2 has no swappiness: refused, nothing created.
        let r = b.run(&["create", "--memory-swappiness", "7", "busybox", "true"]);
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert!(r.stderr.contains("--memory-swappiness"), "{}", r.stderr);
        return;
    }
    let id = b.ok(&[
        "run",
        "-d",
        "--memory-swappiness",
        "7",
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(cgroup_file(&id, "memory", "memory.swappiness", ""), "7");
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.MemorySwappiness}}", &id]),
        "7"
    );
    // Docker's default -1 leaves the parent's value and shows null.
    let plain = b.ok(&["create", "--memory-swappiness", "-1", "busybox", "true"]);
    assert_eq!(
        b.ok(&[
            "inspect",
            "-f",
            "{{json .HostConfig.MemorySwappiness}}",
            &plain
        ]),
        "null"
    );
}
