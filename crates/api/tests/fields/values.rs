//! The fields walked and the value each is set to: every field of the API
//! model's create body, `HostConfig` and `EndpointSettings` (bollard-stubs,
//! the Engine API's own definitions), each built with a struct literal
//! without `..Default::default()`, so a field the model gains fails to
//! compile here until the walk has a value and the table an expectation.
//! Placeholders (`WALKDIR`, `WALKPEER`, `WALKNET`, `SUBNET`) are filled in
//! by the walk.

use std::collections::HashMap;

use bollard::models::*;
use serde_json::{json, Value};

fn map(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn strings(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

fn config() -> ContainerCreateBody {
    ContainerCreateBody {
        hostname: Some("walkhost".into()),
        domainname: Some("walk.example".into()),
        user: Some("65534".into()),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        exposed_ports: strings(&["8080/tcp"]),
        tty: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        env: strings(&["WALK=walked-env"]),
        cmd: strings(&["echo", "walked-cmd"]),
        healthcheck: Some(HealthConfig {
            test: strings(&["CMD-SHELL", "exit 0"]),
            interval: Some(500_000_000),
            timeout: Some(2_000_000_000),
            retries: Some(1),
            start_period: Some(1_000_000),
            start_interval: Some(100_000_000),
        }),
        args_escaped: Some(true),
        image: Some("busybox:latest".into()),
        volumes: strings(&["/walkvol"]),
        working_dir: Some("/tmp".into()),
        entrypoint: strings(&["echo", "walked-entrypoint"]),
        network_disabled: Some(true),
        on_build: strings(&["RUN true"]),
        labels: map(&[("walk", "walked-label")]),
        stop_signal: Some("SIGUSR1".into()),
        stop_timeout: Some(1),
        shell: strings(&["/bin/echo", "walked-shell"]),
        host_config: None,
        networking_config: None,
    }
}

fn throttle() -> Option<Vec<ThrottleDevice>> {
    Some(vec![ThrottleDevice {
        path: Some("/dev/null".into()),
        rate: Some(1 << 20),
    }])
}

fn host_config() -> HostConfig {
    HostConfig {
        cpu_shares: Some(512),
        memory: Some(64 << 20),
        cgroup_parent: Some("walkparent".into()),
        blkio_weight: Some(300),
        blkio_weight_device: Some(vec![ResourcesBlkioWeightDevice {
            path: Some("/dev/null".into()),
            weight: Some(300),
        }]),
        blkio_device_read_bps: throttle(),
        blkio_device_write_bps: throttle(),
        blkio_device_read_iops: throttle(),
        blkio_device_write_iops: throttle(),
        cpu_period: Some(50_000),
        cpu_quota: Some(25_000),
        cpu_realtime_period: Some(900_000),
        cpu_realtime_runtime: Some(1_000),
        cpuset_cpus: Some("0".into()),
        cpuset_mems: Some("0".into()),
        devices: Some(vec![DeviceMapping {
            path_on_host: Some("/dev/kmsg".into()),
            path_in_container: Some("/dev/walked".into()),
            cgroup_permissions: Some("rw".into()),
        }]),
        device_cgroup_rules: strings(&["c 42:* rmw"]),
        device_requests: Some(vec![DeviceRequest {
            driver: Some("nvidia".into()),
            count: Some(-1),
            device_ids: strings(&["0"]),
            capabilities: Some(vec![vec!["gpu".into()]]),
            options: map(&[("walk", "1")]),
        }]),
        memory_reservation: Some(32 << 20),
        memory_swap: Some(128 << 20),
        memory_swappiness: Some(10),
        nano_cpus: Some(500_000_000),
        oom_kill_disable: Some(true),
        init: Some(true),
        pids_limit: Some(42),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(1000),
            hard: Some(2000),
        }]),
        cpu_count: Some(2),
        cpu_percent: Some(50),
        io_maximum_iops: Some(100),
        io_maximum_bandwidth: Some(1 << 20),
        binds: strings(&["WALKDIR:/walked:ro"]),
        container_id_file: Some("/tmp/walk.cid".into()),
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".into()),
            config: map(&[("max-size", "1k"), ("max-file", "2")]),
        }),
        network_mode: Some("host".into()),
        port_bindings: Some(HashMap::from([(
            "80/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some("WALKPORT".into()),
            }]),
        )])),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: Some(2),
        }),
        auto_remove: Some(true),
        volume_driver: Some("walkdriver".into()),
        volumes_from: strings(&["WALKPEER"]),
        mounts: Some(vec![mount()]),
        console_size: Some(vec![30, 100]),
        annotations: map(&[("walk", "1")]),
        cap_add: strings(&["NET_ADMIN"]),
        cap_drop: strings(&["CHOWN"]),
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
        dns: strings(&["10.9.8.7"]),
        dns_options: strings(&["ndots:3"]),
        dns_search: strings(&["walk.example"]),
        extra_hosts: strings(&["walkhost:10.1.2.3"]),
        group_add: strings(&["4321"]),
        ipc_mode: Some("none".into()),
        cgroup: Some("container:WALKPEER".into()),
        links: strings(&["WALKPEER:walklink"]),
        oom_score_adj: Some(321),
        pid_mode: Some("host".into()),
        privileged: Some(true),
        publish_all_ports: Some(true),
        readonly_rootfs: Some(true),
        security_opt: strings(&["no-new-privileges"]),
        storage_opt: map(&[("size", "1G")]),
        tmpfs: map(&[("/walktmp", "size=1m")]),
        uts_mode: Some("host".into()),
        userns_mode: Some("host".into()),
        shm_size: Some(32 << 20),
        sysctls: map(&[("kernel.shmmax", "123456")]),
        runtime: Some("crun".into()),
        isolation: Some(HostConfigIsolationEnum::HYPERV),
        masked_paths: strings(&["/proc/walk"]),
        readonly_paths: strings(&["/proc/walk"]),
    }
}

/// One `HostConfig.Mounts` entry with every field set; each is walked on
/// a mount of the kind it belongs to.
fn mount() -> Mount {
    Mount {
        target: Some("/walkmount".into()),
        source: Some("WALKDIR".into()),
        typ: Some(MountType::TMPFS),
        read_only: Some(true),
        consistency: Some("cached".into()),
        bind_options: Some(MountBindOptions {
            propagation: Some(MountBindOptionsPropagationEnum::RSLAVE),
            non_recursive: Some(true),
            create_mountpoint: Some(true),
            read_only_non_recursive: Some(true),
            read_only_force_recursive: Some(true),
        }),
        volume_options: Some(MountVolumeOptions {
            no_copy: Some(true),
            labels: map(&[("walk", "walked-volume-label")]),
            driver_config: Some(MountVolumeOptionsDriverConfig {
                name: Some("local".into()),
                options: map(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=2m")]),
            }),
            subpath: Some("sub".into()),
        }),
        image_options: Some(MountImageOptions {
            subpath: Some("sub".into()),
        }),
        tmpfs_options: Some(MountTmpfsOptions {
            size_bytes: Some(1 << 20),
            mode: Some(0o700),
            options: Some(vec![vec!["noexec".into()]]),
        }),
    }
}

fn endpoint() -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some("SUBNET.77".into()),
            ipv6_address: Some("fd00:SIX::77".into()),
            link_local_ips: strings(&["169.254.7.7"]),
        }),
        links: strings(&["WALKNETPEER:walkpeerlink"]),
        mac_address: Some("02:42:ac:11:00:77".into()),
        aliases: strings(&["walkalias"]),
        driver_opts: map(&[("com.example.walk", "1")]),
        gw_priority: Some(10),
        network_id: Some("0123456789ab".into()),
        endpoint_id: Some("0123456789ab".into()),
        gateway: Some("SUBNET.1".into()),
        ip_address: Some("SUBNET.78".into()),
        ip_prefix_len: Some(24),
        ipv6_gateway: Some("fd00:SIX::1".into()),
        global_ipv6_address: Some("fd00:SIX::78".into()),
        global_ipv6_prefix_len: Some(64),
        dns_names: strings(&["walkdns"]),
    }
}

/// One field to walk: where it goes in a create body and its value.
pub struct Field {
    /// Dotted, as the table names it: `HostConfig.Mounts.BindOptions.NonRecursive`.
    pub name: String,
    /// Its place in the body (`Mounts` fields go into the first mount,
    /// endpoint fields into the walk network's endpoint).
    pub path: Vec<String>,
    pub value: Value,
}

/// Objects walked field by field rather than set whole.
const NESTED: &[&str] = &[
    "HostConfig.RestartPolicy",
    "HostConfig.LogConfig",
    "HostConfig.Mounts",
    "HostConfig.Mounts.BindOptions",
    "HostConfig.Mounts.VolumeOptions",
    "HostConfig.Mounts.TmpfsOptions",
    "Endpoint.IPAMConfig",
];

fn walk(name: &str, path: Vec<String>, value: &Value, out: &mut Vec<Field>) {
    if NESTED.contains(&name) {
        let object = match value {
            Value::Array(list) => &list[0],
            v => v,
        };
        for (key, v) in object.as_object().expect("an object") {
            let mut p = path.clone();
            if value.is_array() {
                p.push("0".into());
            }
            p.push(key.clone());
            walk(&format!("{name}.{key}"), p, v, out);
        }
    } else {
        out.push(Field {
            name: name.to_string(),
            path,
            value: value.clone(),
        });
    }
}

/// Every field, with its value.
pub fn fields() -> Vec<Field> {
    let mut out = Vec::new();
    for (section, value, prefix) in [
        ("Config", serde_json::to_value(config()).unwrap(), vec![]),
        (
            "HostConfig",
            serde_json::to_value(host_config()).unwrap(),
            vec!["HostConfig".to_string()],
        ),
        (
            "Endpoint",
            serde_json::to_value(endpoint()).unwrap(),
            ["NetworkingConfig", "EndpointsConfig", "WALKNET"]
                .map(String::from)
                .to_vec(),
        ),
    ] {
        for (key, v) in value.as_object().unwrap() {
            let mut path = prefix.clone();
            path.push(key.clone());
            walk(&format!("{section}.{key}"), path, v, &mut out);
        }
    }
    // Fields of API versions berth speaks that the model dropped since.
    for (name, path, value) in [
        (
            "HostConfig.KernelMemory",
            ["HostConfig", "KernelMemory"],
            json!(64 << 20),
        ),
        (
            "HostConfig.KernelMemoryTCP",
            ["HostConfig", "KernelMemoryTCP"],
            json!(64 << 20),
        ),
    ] {
        out.push(Field {
            name: name.into(),
            path: path.map(String::from).to_vec(),
            value,
        });
    }
    out.push(Field {
        name: "Config.MacAddress".into(),
        path: vec!["MacAddress".into()],
        value: json!("02:42:ac:11:00:66"),
    });
    out
}
