//! What each walked field must do: its effect, read from inside the
//! container or from the kernel, or its refusal. A field with no entry
//! fails the walk.

use std::path::Path;

use serde_json::{json, Value};

use super::Walk;

pub type Check = fn(&Walk, &str) -> Result<(), String>;
/// Judges a start's outcome (`Err`: the start's error) and the container.
pub type StartCheck = fn(&Walk, &str, Result<(), String>) -> Result<(), String>;

pub enum Expect {
    /// Runs `sh -c SCRIPT` to its end; its output (trimmed) is `want`.
    Output(&'static str, String),
    /// `Output` with a script made at run time.
    Scripted(String, String),
    /// Runs `sh -c SCRIPT` to its end; `check` judges its output.
    Judged(&'static str, Check),
    /// Starts `sh -c SCRIPT` detached; `check` gets the container's id.
    Running(&'static str, Check),
    /// Starts `sh -c SCRIPT` detached, whatever the start's outcome.
    Tried(&'static str, StartCheck),
    /// Refused with a 4xx whose message contains this; nothing created.
    Refused(&'static str),
    /// Accepted; its effect cannot be checked here, for this reason.
    Unchecked(&'static str),
}

pub struct Case {
    pub expect: Expect,
    /// What the field needs besides itself (a network, a mount to act on).
    pub setup: fn(&mut Value),
}

fn none(_: &mut Value) {}

fn bridge(b: &mut Value) {
    b["HostConfig"]["NetworkMode"] = json!("bridge");
}

fn walknet(b: &mut Value) {
    b["HostConfig"]["NetworkMode"] = json!("WALKNET");
}

fn tmpfs_mount(b: &mut Value) {
    b["HostConfig"]["Mounts"] = json!([{"Type": "tmpfs", "Target": "/walkmount"}]);
}

fn bind_mount(b: &mut Value) {
    b["HostConfig"]["Mounts"] =
        json!([{"Type": "bind", "Source": "WALKDIR", "Target": "/walkmount"}]);
}

fn cgroup(controller: &str, file: &str) -> String {
    // Inside: cgroup v1's per-controller mount of the container's own
    // cgroup (this machine), or the cgroup v2 file.
    format!("cat /sys/fs/cgroup/{controller}/{file}")
}

fn same_as_host(kind: &str) -> Check {
    fn net(_: &Walk, out: &str) -> Result<(), String> {
        eq(out, &ns("net"))
    }
    fn pid(_: &Walk, out: &str) -> Result<(), String> {
        eq(out, &ns("pid"))
    }
    if kind == "net" {
        net
    } else {
        pid
    }
}

fn ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

fn eq(got: &str, want: &str) -> Result<(), String> {
    if got.trim() == want.trim() {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    }
}

fn host_status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap()
}

const UNREAD: &str = "read-only: the engine reports it; dockerd ignores it in a create request";

pub fn case(name: &str) -> Option<Case> {
    use Expect::*;
    let out = |script: &'static str, want: &str| Output(script, want.to_string());
    let v1 = |file: &str| Path::new(&format!("/sys/fs/cgroup/{file}")).exists();
    let mut setup: fn(&mut Value) = if name.starts_with("Endpoint.") {
        walknet
    } else {
        none
    };
    let expect = match name {
        "Config.Hostname" => out("hostname", "walkhost"),
        "Config.Domainname" => out("cat /proc/sys/kernel/domainname", "walk.example"),
        "Config.User" => out("id -u", "65534"),
        "Config.AttachStdin" | "Config.AttachStdout" | "Config.AttachStderr" => Unchecked(
            "tells the client which streams to attach; dockerd keeps it for inspect only",
        ),
        "Config.ExposedPorts" => Running("sleep 60", |w, id| {
            let ports = w.inspect(id, "{{json .Config.ExposedPorts}}");
            ports.contains("8080/tcp").then_some(()).ok_or(ports)
        }),
        "Config.Tty" => out("test -t 1 && echo walked-tty", "walked-tty"),
        "Config.OpenStdin" => Judged("readlink /proc/self/fd/0", |_, out| {
            out.starts_with("pipe:").then_some(()).ok_or(out.to_string())
        }),
        "Config.StdinOnce" => Unchecked(
            "berth closes a container's stdin when its attached client's stdin ends, \
             which is StdinOnce (Docker keeps it open when false: see the README)",
        ),
        "Config.Env" => out("echo $WALK", "walked-env"),
        "Config.Cmd" => out("", "walked-cmd"),
        "Config.Healthcheck" => Running("sleep 60", |w, id| {
            w.poll(id, "{{.State.Health.Status}}", "healthy")
        }),
        "Config.ArgsEscaped" => Unchecked("Windows only: dockerd ignores it on Linux"),
        "Config.Image" => out("echo walked-image", "walked-image"),
        "Config.Volumes" => out("grep -c ' /walkvol ' /proc/mounts", "1"),
        "Config.WorkingDir" => out("pwd", "/tmp"),
        "Config.Entrypoint" => Judged("echo x", |_, out| {
            out.starts_with("walked-entrypoint sh -c")
                .then_some(())
                .ok_or(out.to_string())
        }),
        "Config.NetworkDisabled" => {
            setup = bridge;
            out("ls /sys/class/net | grep -vc '^lo$'", "0")
        }
        "Config.OnBuild" => Refused("OnBuild"),
        "Config.Labels" => Running("sleep 60", |w, id| {
            let (_, list) = w.api(
                "GET",
                "/containers/json?filters=%7B%22label%22%3A%5B%22walk%3Dwalked-label%22%5D%7D",
                &Value::Null,
            );
            list.to_string().contains(id).then_some(()).ok_or(list.to_string())
        }),
        "Config.StopSignal" => Running(
            "trap 'echo got-usr1; exit 0' USR1; while true; do sleep 0.1; done",
            |w, id| {
                w.api("POST", &format!("/containers/{id}/stop?t=5"), &Value::Null);
                let logs = w.berth(&["logs", id]);
                logs.contains("got-usr1").then_some(()).ok_or(logs)
            },
        ),
        "Config.StopTimeout" => Running("trap '' TERM; while true; do sleep 0.1; done", |w, id| {
            let start = std::time::Instant::now();
            w.api("POST", &format!("/containers/{id}/stop"), &Value::Null);
            let took = start.elapsed().as_secs_f64();
            (0.8..5.0).contains(&took).then_some(()).ok_or(format!("stop took {took} s"))
        }),
        "Config.Shell" => {
            setup = |b| {
                b["Healthcheck"] = json!({"Test": ["CMD-SHELL", "walked-check"],
                                          "Interval": 200_000_000});
            };
            Running("sleep 60", |w, id| {
                w.poll(
                    id,
                    "{{range .State.Health.Log}}{{.Output}}{{end}}",
                    "walked-shell walked-check",
                )
            })
        }
        "Config.MacAddress" => {
            setup = bridge;
            out("cat /sys/class/net/eth0/address", "02:42:ac:11:00:66")
        }

        "HostConfig.CpuShares" => Scripted(cgroup("cpu", "cpu.shares"), "512".into()),
        "HostConfig.Memory" => Scripted(cgroup("memory", "memory.limit_in_bytes"), "67108864".into()),
        "HostConfig.CgroupParent" => Refused("CgroupParent"),
        "HostConfig.BlkioWeight" if v1("blkio/blkio.weight") => {
            Scripted(cgroup("blkio", "blkio.weight"), "300".into())
        }
        "HostConfig.BlkioWeight" => Refused("BlkioWeight"),
        "HostConfig.BlkioWeightDevice" => Refused("BlkioWeightDevice"),
        "HostConfig.BlkioDeviceReadBps" => Refused("BlkioDeviceReadBps"),
        "HostConfig.BlkioDeviceWriteBps" => Refused("BlkioDeviceWriteBps"),
        "HostConfig.BlkioDeviceReadIOps" => Refused("BlkioDeviceReadIOps"),
        "HostConfig.BlkioDeviceWriteIOps" => Refused("BlkioDeviceWriteIOps"),
        "HostConfig.CpuPeriod" => Scripted(cgroup("cpu", "cpu.cfs_period_us"), "50000".into()),
        "HostConfig.CpuQuota" => Scripted(cgroup("cpu", "cpu.cfs_quota_us"), "25000".into()),
        "HostConfig.CpuRealtimePeriod" if v1("cpu/cpu.rt_period_us") => {
            Scripted(cgroup("cpu", "cpu.rt_period_us"), "900000".into())
        }
        "HostConfig.CpuRealtimeRuntime" if v1("cpu/cpu.rt_runtime_us") => Refused("real-time runtime"),
        "HostConfig.CpuRealtimePeriod" | "HostConfig.CpuRealtimeRuntime" => Refused("real-time"),
        "HostConfig.CpusetCpus" => Scripted(cgroup("cpuset", "cpuset.cpus"), "0".into()),
        "HostConfig.CpusetMems" => Scripted(cgroup("cpuset", "cpuset.mems"), "0".into()),
        "HostConfig.Devices" => out(
            "echo $(ls -l /dev/walked | cut -c1) $(grep -c 'c 1:11 rw$' /sys/fs/cgroup/devices/devices.list)",
            "c 1",
        ),
        "HostConfig.DeviceCgroupRules" => out(
            "grep -c 'c 42:\\* rwm' /sys/fs/cgroup/devices/devices.list",
            "1",
        ),
        "HostConfig.DeviceRequests" => Refused("DeviceRequests"),
        "HostConfig.MemoryReservation" => {
            Scripted(cgroup("memory", "memory.soft_limit_in_bytes"), "33554432".into())
        }
        // Docker's own rule: a swap limit needs a memory limit.
        "HostConfig.MemorySwap" => Refused("Memoryswap"),
        "HostConfig.MemorySwappiness" if v1("memory/memory.swappiness") => {
            Scripted(cgroup("memory", "memory.swappiness"), "10".into())
        }
        "HostConfig.MemorySwappiness" => Refused("swappiness"),
        "HostConfig.NanoCpus" => Scripted(cgroup("cpu", "cpu.cfs_quota_us"), "50000".into()),
        "HostConfig.OomKillDisable" if v1("memory/memory.oom_control") => out(
            "grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control",
            "oom_kill_disable 1",
        ),
        "HostConfig.OomKillDisable" => Refused("OomKillDisable"),
        "HostConfig.Init" => out("grep -c docker-init /proc/1/cmdline", "1"),
        "HostConfig.PidsLimit" => Scripted(cgroup("pids", "pids.max"), "42".into()),
        "HostConfig.Ulimits" => out("echo $(ulimit -n) $(ulimit -Hn)", "1000 2000"),
        "HostConfig.CpuCount" => Refused("CpuCount"),
        "HostConfig.CpuPercent" => Refused("CpuPercent"),
        "HostConfig.IOMaximumIOps" => Refused("IOMaximumIOps"),
        "HostConfig.IOMaximumBandwidth" => Refused("IOMaximumBandwidth"),
        "HostConfig.KernelMemory" => Refused("KernelMemory"),
        "HostConfig.KernelMemoryTCP" => Refused("KernelMemoryTCP"),
        "HostConfig.Binds" => out("cat /walked/f", "walked-bind"),
        "HostConfig.ContainerIDFile" => Unchecked(
            "written by the docker CLI, not the daemon: dockerd keeps it for inspect only",
        ),
        "HostConfig.LogConfig.Type" => Running("echo walked-log", |w, id| {
            w.api("POST", &format!("/containers/{id}/wait"), &Value::Null);
            let logs = w.berth_err(&["logs", id]);
            logs.contains("does not support reading").then_some(()).ok_or(logs)
        }),
        "HostConfig.LogConfig.Config" => Running("seq 1 2000", |w, id| {
            w.api("POST", &format!("/containers/{id}/wait"), &Value::Null);
            let rotated = w.container_dir(id).join(format!("{id}-json.log.1"));
            rotated.exists().then_some(()).ok_or(format!("no {}", rotated.display()))
        }),
        "HostConfig.NetworkMode" => Judged("readlink /proc/self/ns/net", same_as_host("net")),
        "HostConfig.PortBindings" => {
            setup = bridge;
            Running(
                "echo walked-port > /tmp/index.html; httpd -f -p 80 -h /tmp",
                |w, _| w.http_get(w.port),
            )
        }
        "HostConfig.RestartPolicy.Name" => Running("exit 1", |w, id| {
            w.poll_until(id, "{{.RestartCount}}", |c| c.trim() != "0")
        }),
        "HostConfig.RestartPolicy.MaximumRetryCount" => Refused("maximum retry count"),
        "HostConfig.AutoRemove" => Running("true", |w, id| {
            for _ in 0..100 {
                if w.api("GET", &format!("/containers/{id}/json"), &Value::Null).0 == 404 {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err("still there after 10 s".into())
        }),
        "HostConfig.VolumeDriver" => {
            // Without a volume the driver names nothing (Docker accepts any
            // name then); with one, berth has only `local`.
            setup = |b| b["Volumes"] = json!({"/walkv": {}});
            Refused("walkdriver")
        }
        "HostConfig.VolumesFrom" => out("grep -c ' /peervol ' /proc/mounts", "1"),
        "HostConfig.Mounts.Target" => {
            setup = |b| b["HostConfig"]["Mounts"] = json!([{"Type": "tmpfs"}]);
            out("grep -c ' /walkmount tmpfs' /proc/mounts", "1")
        }
        "HostConfig.Mounts.Source" => {
            setup = |b| {
                b["HostConfig"]["Mounts"] = json!([{"Type": "bind", "Target": "/walkmount"}])
            };
            out("cat /walkmount/f", "walked-bind")
        }
        "HostConfig.Mounts.Type" => {
            setup = |b| b["HostConfig"]["Mounts"] = json!([{"Target": "/walkmount"}]);
            out("grep -c ' /walkmount tmpfs' /proc/mounts", "1")
        }
        "HostConfig.Mounts.ReadOnly" => {
            setup = tmpfs_mount;
            out("touch /walkmount/x 2>/dev/null || echo walked-ro", "walked-ro")
        }
        "HostConfig.Mounts.Consistency" => {
            setup = tmpfs_mount;
            Unchecked("macOS only: Docker accepts and ignores it on Linux")
        }
        "HostConfig.Mounts.BindOptions.Propagation" => {
            setup = bind_mount;
            Judged("grep ' /walkmount ' /proc/self/mountinfo", |w, out| {
                // A slave of the host's mount where that one is shared.
                if !w.walkdir_shared || out.contains("master:") {
                    Ok(())
                } else {
                    Err(out.to_string())
                }
            })
        }
        // crun (the default where installed) mounts binds recursively, so
        // berth refuses a non-recursive one there; runc applies it.
        "HostConfig.Mounts.BindOptions.NonRecursive"
            if ["/usr/bin/crun", "/usr/local/bin/crun", "/usr/sbin/crun"]
                .iter()
                .any(|p| std::path::Path::new(p).exists()) =>
        {
            setup = bind_mount;
            Refused("NonRecursive")
        }
        "HostConfig.Mounts.BindOptions.NonRecursive" => {
            setup = bind_mount;
            out("ls /walkmount/sub | grep -c walked-sub", "0")
        }
        "HostConfig.Mounts.BindOptions.CreateMountpoint" => Refused("CreateMountpoint"),
        "HostConfig.Mounts.BindOptions.ReadOnlyNonRecursive" => Refused("ReadOnlyNonRecursive"),
        "HostConfig.Mounts.BindOptions.ReadOnlyForceRecursive" => {
            setup = |b| {
                b["HostConfig"]["Mounts"] = json!([{"Type": "bind", "Source": "WALKDIR",
                    "Target": "/walkmount", "ReadOnly": true}])
            };
            out("touch /walkmount/sub/x 2>/dev/null || echo walked-ro", "walked-ro")
        }
        "HostConfig.Mounts.VolumeOptions.NoCopy" => {
            setup = |b| b["HostConfig"]["Mounts"] = json!([{"Type": "volume", "Target": "/etc"}]);
            out("test -e /etc/group || echo walked-nocopy", "walked-nocopy")
        }
        "HostConfig.Mounts.VolumeOptions.Labels" => {
            setup = |b| {
                b["HostConfig"]["Mounts"] =
                    json!([{"Type": "volume", "Source": "walklabelvol", "Target": "/walkmount"}])
            };
            Running("true", |w, _| {
                let (_, v) = w.api("GET", "/volumes/walklabelvol", &Value::Null);
                (v["Labels"]["walk"] == "walked-volume-label")
                    .then_some(())
                    .ok_or(v.to_string())
            })
        }
        "HostConfig.Mounts.VolumeOptions.DriverConfig" => {
            setup = |b| {
                b["HostConfig"]["Mounts"] =
                    json!([{"Type": "volume", "Source": "walkdrvvol", "Target": "/walkmount"}])
            };
            out("grep -c ' /walkmount tmpfs' /proc/mounts", "1")
        }
        "HostConfig.Mounts.VolumeOptions.Subpath" => {
            // A local volume binding the walk's directory and the tmpfs on its `sub/`.
            setup = |b| {
                b["HostConfig"]["Mounts"] = json!([{"Type": "volume", "Source": "walksubvol",
                    "Target": "/walkmount", "VolumeOptions": {"DriverConfig": {"Options":
                    {"type": "none", "o": "rbind", "device": "WALKDIR"}}}}])
            };
            out("ls /walkmount", "walked-sub")
        }
        "HostConfig.Mounts.TmpfsOptions.SizeBytes" => {
            setup = tmpfs_mount;
            out("grep ' /walkmount ' /proc/mounts | grep -c size=1024k", "1")
        }
        "HostConfig.Mounts.TmpfsOptions.Mode" => {
            setup = tmpfs_mount;
            out("stat -c %a /walkmount", "700")
        }
        "HostConfig.Mounts.TmpfsOptions.Options" => Refused("TmpfsOptions.Options"),
        "HostConfig.Mounts.ImageOptions" => {
            // Applied: the walk's subpath is resolved inside the image, which
            // has no `sub` (image_mounts.rs mounts one that exists).
            setup = |b| {
                b["HostConfig"]["Mounts"] =
                    json!([{"Type": "image", "Source": "busybox", "Target": "/walkmount"}])
            };
            Refused("cannot access path busybox:/sub: no such file or directory")
        }
        "HostConfig.ConsoleSize" => {
            setup = |b| b["Tty"] = json!(true);
            out("stty size", "30 100")
        }
        "HostConfig.Annotations" => Refused("Annotations"),
        "HostConfig.CapAdd" => out("grep CapEff /proc/self/status | cut -f2", "00000000a80435fb"),
        "HostConfig.CapDrop" => out("grep CapEff /proc/self/status | cut -f2", "00000000a80425fa"),
        "HostConfig.CgroupnsMode" => Judged("readlink /proc/self/ns/cgroup", |_, out| {
            (out.trim() != ns("cgroup")).then_some(()).ok_or("the host's".into())
        }),
        "HostConfig.Dns" => out("grep -c '^nameserver 10.9.8.7' /etc/resolv.conf", "1"),
        "HostConfig.DnsOptions" => out("grep -c 'ndots:3' /etc/resolv.conf", "1"),
        "HostConfig.DnsSearch" => out("grep -c '^search walk.example' /etc/resolv.conf", "1"),
        "HostConfig.ExtraHosts" => out("grep -c '^10.1.2.3.walkhost' /etc/hosts", "1"),
        "HostConfig.GroupAdd" => out("id -G | grep -c 4321", "1"),
        "HostConfig.IpcMode" => out("test -e /dev/shm || echo walked-noshm", "walked-noshm"),
        "HostConfig.Cgroup" => Refused("Cgroup"),
        "HostConfig.Links" => {
            setup = bridge;
            out("grep -c walklink /etc/hosts", "1")
        }
        "HostConfig.OomScoreAdj" => out("cat /proc/1/oom_score_adj", "321"),
        "HostConfig.PidMode" => Judged("readlink /proc/self/ns/pid", same_as_host("pid")),
        "HostConfig.Privileged" => {
            Output("grep CapEff /proc/self/status | cut -f2", host_status("CapEff"))
        }
        "HostConfig.PublishAllPorts" => {
            setup = |b| {
                b["HostConfig"]["NetworkMode"] = json!("bridge");
                b["ExposedPorts"] = json!({"80/tcp": {}});
            };
            Running("echo walked-port > /tmp/index.html; httpd -f -p 80 -h /tmp", |w, id| {
                let port = w.inspect(id, "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}");
                w.http_get(port.trim().parse().map_err(|_| port.clone())?)
            })
        }
        "HostConfig.ReadonlyRootfs" => out("touch /x 2>/dev/null || echo walked-ro", "walked-ro"),
        "HostConfig.SecurityOpt" => out("grep NoNewPrivs /proc/self/status | cut -f2", "1"),
        "HostConfig.StorageOpt" => Refused("StorageOpt"),
        "HostConfig.Tmpfs" => out("grep ' /walktmp ' /proc/mounts | grep -c size=1024k", "1"),
        "HostConfig.UTSMode" => Output("hostname", host_name()),
        // No user-namespace remapping: the host's is what berth uses.
        "HostConfig.UsernsMode" => out("cat /proc/self/uid_map | tr -s ' '", "0 0 4294967295"),
        "HostConfig.ShmSize" => out("grep ' /dev/shm ' /proc/mounts | grep -c size=32768k", "1"),
        "HostConfig.Sysctls" => out("cat /proc/sys/kernel/shmmax", "123456"),
        // Run by crun: crun's state, or crun's own refusal of this host's
        // hybrid cgroups (as it refuses them under dockerd).
        "HostConfig.Runtime" => Tried("sleep 60", |w, id, started| match started {
            Ok(()) => w.runtime_is_crun(id),
            Err(e) if e.contains("crun") && e.contains("hybrid") => Ok(()),
            Err(e) => Err(e),
        }),
        "HostConfig.Isolation" => Refused("isolation"),
        "HostConfig.MaskedPaths" => Refused("MaskedPaths"),
        "HostConfig.ReadonlyPaths" => Refused("ReadonlyPaths"),

        "Endpoint.IPAMConfig.IPv4Address" => {
            setup = walknet;
            out("ip -4 addr show eth0 | grep -c 'SUBNET.77/'", "1")
        }
        "Endpoint.IPAMConfig.IPv6Address" => {
            setup = walknet;
            out("ip -6 addr show eth0 | grep -c 'fd00:SIX::77/'", "1")
        }
        "Endpoint.IPAMConfig.LinkLocalIPs" => {
            setup = walknet;
            out("ip addr show eth0 | grep -c '169.254.7.7/'", "1")
        }
        "Endpoint.Links" => {
            setup = walknet;
            // On a user network a link's alias resolves through the
            // container's own resolver (Docker's embedded DNS), not hosts.
            out(
                "nslookup walkpeerlink >/dev/null 2>&1 && echo 1 || echo 0",
                "1",
            )
        }
        "Endpoint.MacAddress" => {
            setup = walknet;
            out("cat /sys/class/net/eth0/address", "02:42:ac:11:00:77")
        }
        "Endpoint.Aliases" => {
            setup = walknet;
            Running("sleep 60", |w, _| {
                let answer = w.berth(&["exec", "walknetpeer", "nslookup", "walkalias"]);
                answer.contains(&format!("{}.", w.subnet)).then_some(()).ok_or(answer)
            })
        }
        "Endpoint.DriverOpts" => Unchecked(
            "no option of the bridge driver acts on an endpoint; kept and shown in inspect, as dockerd does",
        ),
        "Endpoint.GwPriority" => Unchecked(
            "API 1.48, above the versions berth speaks: dockerd resets it below 1.48",
        ),
        "Endpoint.NetworkID" | "Endpoint.EndpointID" | "Endpoint.Gateway"
        | "Endpoint.IPAddress" | "Endpoint.IPPrefixLen" | "Endpoint.IPv6Gateway"
        | "Endpoint.GlobalIPv6Address" | "Endpoint.GlobalIPv6PrefixLen" | "Endpoint.DNSNames" => {
            Unchecked(UNREAD)
        }
        _ => return None,
    };
    Some(Case { expect, setup })
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}
