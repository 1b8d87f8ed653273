//! Unit tests of the spec: Docker's defaults and how each input changes them.

use super::mounts::{MASKED_PATHS, READONLY_PATHS};
use super::process::has_sys_resource;
use super::*;
use crate::caps::all_capabilities;
use crate::cgroups::swap_limit_supported;
use oci_spec::runtime::{LinuxNamespaceType, Mount, PosixRlimitType};

fn base_input() -> SpecInput {
    SpecInput {
        rootfs: PathBuf::from("/var/lib/berth/containers/x/rootfs"),
        read_only_rootfs: false,
        args: vec!["sh".into(), "-c".into(), "true".into()],
        env: vec!["PATH=/usr/bin:/bin".into()],
        cwd: "/".into(),
        user: User {
            uid: 0,
            gid: 0,
            additional_gids: vec![0, 10],
            home: "/root".into(),
        },
        terminal: false,
        hostname: "abc123".into(),
        domainname: String::new(),
        mounts: vec![],
        privileged: false,
        masked_paths: None,
        readonly_paths: None,
        cap_add: vec![],
        cap_drop: vec![],
        no_new_privileges: false,
        seccomp: Seccomp::Default,
        apparmor: AppArmor::Default,
        memory_bytes: None,
        nano_cpus: None,
        pids_limit: None,
        resources: Default::default(),
        ulimits: vec![],
        network: Namespace::New,
        pid: Namespace::New,
        uts: Namespace::New,
        init_binary: None,
        shm_size_bytes: DEFAULT_SHM_SIZE_BYTES,
        cgroups_path: "/berth/x".into(),
        oom_score_adj: None,
        kernel: Default::default(),
        user_namespace: None,
    }
}

fn destinations(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect()
}

fn mount_at<'a>(spec: &'a Spec, destination: &str) -> &'a Mount {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(destination))
        .unwrap_or_else(|| panic!("no mount at {destination}"))
}

fn options(spec: &Spec, destination: &str) -> Vec<String> {
    mount_at(spec, destination)
        .options()
        .clone()
        .unwrap_or_default()
}

fn cap_names(set: &Option<oci_spec::runtime::Capabilities>) -> Vec<String> {
    let mut names: Vec<String> = set
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

fn bind(source: &str, destination: &str, read_only: bool) -> ExtraMount {
    ExtraMount::Bind(BindMount {
        source: PathBuf::from(source),
        destination: destination.into(),
        read_only,
        recursive: true,
        read_only_non_recursive: false,
        propagation: None,
    })
}

#[test]
fn defaults_match_docker() {
    let spec = build_spec(&base_input()).unwrap();
    assert_eq!(spec.hostname().as_deref(), Some("abc123"));
    let root = spec.root().as_ref().unwrap();
    assert_eq!(root.path(), Path::new("/var/lib/berth/containers/x/rootfs"));
    assert_eq!(root.readonly(), Some(false));

    assert_eq!(
        destinations(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    assert_eq!(
        options(&spec, "/dev"),
        ["nosuid", "strictatime", "mode=755", "size=65536k"]
    );
    assert_eq!(
        options(&spec, "/dev/pts"),
        [
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"
        ]
    );
    assert!(options(&spec, "/sys").contains(&"ro".to_string()));
    assert!(options(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
    assert_eq!(
        options(&spec, "/dev/shm"),
        ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );

    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_ref().unwrap(), &["sh", "-c", "true"]);
    assert_eq!(process.user().additional_gids().as_ref().unwrap(), &[0, 10]);
    assert_eq!(process.oom_score_adj(), Some(0));
    assert_eq!(process.rlimits(), &None);
    assert_eq!(process.no_new_privileges(), None);
    let caps = process.capabilities().as_ref().unwrap();
    let defaults = sorted(crate::caps::default_capabilities());
    assert_eq!(cap_names(caps.bounding()), defaults);
    assert_eq!(cap_names(caps.effective()), defaults);
    assert_eq!(cap_names(caps.permitted()), defaults);
    assert_eq!(caps.inheritable(), &None);
    assert_eq!(caps.ambient(), &None);

    let linux = spec.linux().as_ref().unwrap();
    let namespaces: Vec<LinuxNamespaceType> = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    let expected = vec![
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
    ];
    assert_eq!(namespaces, expected);
    assert_eq!(
        linux.masked_paths().as_ref().unwrap(),
        &strings(MASKED_PATHS)
    );
    assert!(linux
        .masked_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/kcore".to_string()));
    assert_eq!(
        linux.readonly_paths().as_ref().unwrap(),
        &strings(READONLY_PATHS)
    );
    assert_eq!(linux.cgroups_path().as_deref(), Some(Path::new("/berth/x")));
    assert_eq!(linux.devices().as_ref().unwrap().len(), 0);
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(rules.len(), 8);
    assert!(!rules[0].allow() && rules[0].typ().is_none());
    assert!(!rules[7].allow() && rules[7].major() == Some(10) && rules[7].minor() == Some(229));
    assert_eq!(
        linux
            .sysctl()
            .as_ref()
            .unwrap()
            .get("net.ipv4.ip_unprivileged_port_start")
            .map(String::as_str),
        Some("0")
    );

    // Nothing the library would add on its own ends up in the JSON.
    let json = serde_json::to_value(&spec).unwrap();
    for absent in ["annotations", "hooks", "domainname"] {
        assert!(json.get(absent).is_none(), "{absent} in {json}");
    }
    let process_json = &json["process"];
    for absent in [
        "rlimits",
        "noNewPrivileges",
        "apparmorProfile",
        "consoleSize",
    ] {
        assert!(
            process_json.get(absent).is_none(),
            "{absent} in {process_json}"
        );
    }
    assert!(process_json["capabilities"].get("inheritable").is_none());
    // Docker's default seccomp profile, unless the kernel has none.
    let filtered = crate::seccomp::seccomp_supported();
    assert_eq!(
        json["linux"]["seccomp"]["defaultAction"].as_str(),
        filtered.then_some("SCMP_ACT_ERRNO")
    );
}

#[test]
fn a_private_cgroup_namespace_only_when_asked() {
    let mut input = base_input();
    let has_cgroup_ns = |input: &SpecInput| {
        build_spec(input)
            .unwrap()
            .linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Cgroup)
    };
    input.kernel.private_cgroupns = Some(false);
    assert!(!has_cgroup_ns(&input));
    input.kernel.private_cgroupns = Some(true);
    assert!(has_cgroup_ns(&input));
}

#[test]
fn host_network_drops_namespace_and_sysctls() {
    let mut input = base_input();
    input.network = Namespace::Host;
    let spec = build_spec(&input).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    assert!(!linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Network));
    assert_eq!(linux.sysctl(), &None);

    input.network = Namespace::Path(PathBuf::from("/proc/42/ns/net"));
    let spec = build_spec(&input).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    let net = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap();
    assert_eq!(net.path().as_deref(), Some(Path::new("/proc/42/ns/net")));
    assert_eq!(linux.sysctl(), &None);
}

#[test]
fn privileged_gets_everything() {
    let mut input = base_input();
    input.privileged = true;
    input.cap_drop = vec!["ALL".into()];
    let spec = build_spec(&input).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    assert_eq!(
        cap_names(caps.bounding()),
        sorted(all_capabilities().unwrap())
    );
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.masked_paths(), &None);
    assert_eq!(linux.readonly_paths(), &None);
    assert!(!options(&spec, "/sys").contains(&"ro".to_string()));
    assert!(!options(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
    let devices = linux.devices().as_ref().unwrap();
    assert!(devices
        .iter()
        .any(|d| d.path() == Path::new("/dev/null") && d.major() == 1 && d.minor() == 3));
    assert!(!devices.iter().any(|d| d.path().starts_with("/dev/pts")));
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    let last = rules.last().unwrap();
    assert!(last.allow() && last.typ().is_none() && last.major().is_none());
}

#[test]
fn cap_add_and_drop() {
    let mut input = base_input();
    input.cap_add = vec!["NET_ADMIN".into()];
    input.cap_drop = vec!["chown".into(), "CAP_NET_RAW".into()];
    let spec = build_spec(&input).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    let names = cap_names(caps.effective());
    assert!(names.contains(&"CAP_NET_ADMIN".to_string()));
    assert!(!names.contains(&"CAP_CHOWN".to_string()));
    assert!(!names.contains(&"CAP_NET_RAW".to_string()));
    assert_eq!(names.len(), 13);

    input.cap_add = vec!["SETUID".into()];
    input.cap_drop = vec!["ALL".into()];
    let spec = build_spec(&input).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    assert_eq!(cap_names(caps.bounding()), ["CAP_SETUID"]);

    input.cap_add = vec!["ALL".into()];
    input.cap_drop = vec!["MKNOD".into()];
    let spec = build_spec(&input).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    let mut expected = all_capabilities().unwrap();
    expected.retain(|c| c != "CAP_MKNOD");
    assert_eq!(cap_names(caps.permitted()), sorted(expected));

    input.cap_add = vec!["BOGUS".into()];
    input.cap_drop = vec![];
    assert_eq!(
        build_spec(&input).unwrap_err().to_string(),
        "unknown capability: \"CAP_BOGUS\""
    );
}

#[test]
fn read_only_rootfs_keeps_dev_proc_and_user_mounts_writable() {
    let mut input = base_input();
    input.read_only_rootfs = true;
    input.init_binary = Some(PathBuf::from("/usr/bin/tini"));
    input.mounts = vec![bind("/srv/data", "/data", false)];
    let spec = build_spec(&input).unwrap();
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    for writable in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/mqueue",
        "/dev/shm",
        "/data",
    ] {
        assert!(
            !options(&spec, writable).contains(&"ro".to_string()),
            "{writable}"
        );
    }
    for read_only in ["/sys", "/sys/fs/cgroup", "/sbin/docker-init"] {
        assert_eq!(
            options(&spec, read_only)
                .iter()
                .filter(|o| *o == "ro")
                .count(),
            1,
            "{read_only}"
        );
    }
}

#[test]
fn resources_become_cgroup_limits() {
    let mut input = base_input();
    input.memory_bytes = Some(64 << 20);
    input.nano_cpus = Some(1_500_000_000);
    input.pids_limit = Some(100);
    input.oom_score_adj = Some(500);
    input.no_new_privileges = true;
    let spec = build_spec(&input).unwrap();
    let resources = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
    let memory = resources.memory().as_ref().unwrap();
    assert_eq!(memory.limit(), Some(64 << 20));
    if swap_limit_supported() {
        assert_eq!(memory.swap(), Some(128 << 20));
    } else {
        assert_eq!(memory.swap(), None);
    }
    let cpu = resources.cpu().as_ref().unwrap();
    assert_eq!(cpu.period(), Some(100_000));
    assert_eq!(cpu.quota(), Some(150_000));
    assert_eq!(resources.pids().as_ref().unwrap().limit(), 100);
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.oom_score_adj(), Some(500));
    assert_eq!(process.no_new_privileges(), Some(true));

    input.pids_limit = Some(0);
    let spec = build_spec(&input).unwrap();
    let resources = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
    assert_eq!(resources.pids().as_ref().unwrap().limit(), -1);
}

#[test]
fn out_of_range_resources_get_dockers_errors() {
    let mut input = base_input();
    input.memory_bytes = Some(1 << 20);
    assert_eq!(
        build_spec(&input).unwrap_err().to_string(),
        "Minimum memory limit allowed is 6MB"
    );

    let mut input = base_input();
    input.nano_cpus = Some(10_000 * 1_000_000_000);
    let err = build_spec(&input).unwrap_err().to_string();
    assert!(err.starts_with("range of CPUs is from 0.01 to "), "{err}");

    let mut input = base_input();
    input.oom_score_adj = Some(1001);
    assert_eq!(
        build_spec(&input).unwrap_err().to_string(),
        "Invalid value 1001, range for oom score adj is [-1000, 1000]"
    );

    let mut input = base_input();
    input.args = vec![];
    assert_eq!(
        build_spec(&input).unwrap_err().to_string(),
        "No command specified"
    );

    let mut input = base_input();
    input.cwd = "relative".into();
    assert!(build_spec(&input)
        .unwrap_err()
        .to_string()
        .contains("needs to be an absolute path"));
}

#[test]
fn ulimits_are_checked_against_the_hard_limit() {
    let (soft, hard) = {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        (
            limit.current.unwrap_or(u64::MAX),
            limit.maximum.unwrap_or(u64::MAX),
        )
    };
    let mut input = base_input();
    input.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: soft.min(hard),
        hard,
    }];
    let spec = build_spec(&input).unwrap();
    let rlimits = spec.process().as_ref().unwrap().rlimits().clone().unwrap();
    assert_eq!(rlimits.len(), 1);
    assert_eq!(rlimits[0].typ(), PosixRlimitType::RlimitNofile);
    assert_eq!(rlimits[0].hard(), hard);

    if hard < u64::MAX {
        input.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: hard,
            hard: hard + 1,
        }];
        let result = build_spec(&input);
        if has_sys_resource().unwrap() {
            result.unwrap();
        } else {
            let err = result.unwrap_err().to_string();
            assert!(
                err.contains("CAP_SYS_RESOURCE") && err.contains("ulimit nofile"),
                "{err}"
            );
        }
    }

    input.ulimits = vec![Ulimit {
        name: "files".into(),
        soft: 1,
        hard: 1,
    }];
    assert_eq!(
        build_spec(&input).unwrap_err().to_string(),
        "invalid ulimit type: files"
    );
    input.ulimits = vec![Ulimit {
        name: "core".into(),
        soft: 2,
        hard: 1,
    }];
    assert!(build_spec(&input)
        .unwrap_err()
        .to_string()
        .contains("soft limit must be less than or equal"));
}

#[test]
fn init_prepends_args_and_binds_the_binary() {
    let mut input = base_input();
    input.init_binary = Some(PathBuf::from("/usr/bin/tini"));
    input.mounts = vec![bind("/srv", "/srv", false)];
    let spec = build_spec(&input).unwrap();
    assert_eq!(
        spec.process().as_ref().unwrap().args().as_ref().unwrap(),
        &["/sbin/docker-init", "--", "sh", "-c", "true"]
    );
    let init = mount_at(&spec, "/sbin/docker-init");
    assert_eq!(init.typ().as_deref(), Some("bind"));
    assert_eq!(init.source().as_deref(), Some(Path::new("/usr/bin/tini")));
    assert_eq!(init.options().as_ref().unwrap(), &["bind", "ro"]);
    // After the defaults, before user mounts.
    let order = destinations(&spec);
    assert_eq!(order[7], "/sbin/docker-init");
    assert_eq!(order[8], "/srv");
}

#[test]
fn user_mounts_are_sorted_parents_first_after_defaults() {
    let mut input = base_input();
    input.mounts = vec![
        bind("/h/c", "/a/b/c", true),
        bind("/h/a", "/a/", false),
        ExtraMount::Tmpfs {
            destination: "/a/b".into(),
            options: vec!["size=65536k".into(), "exec".into()],
        },
        bind("/h/z", "/z", false),
    ];
    let spec = build_spec(&input).unwrap();
    assert_eq!(&destinations(&spec)[7..], ["/a", "/z", "/a/b", "/a/b/c"]);
    assert_eq!(options(&spec, "/a/b/c"), ["rbind", "rro"]);
    assert_eq!(options(&spec, "/a"), ["rbind"]);
    assert_eq!(
        options(&spec, "/a/b"),
        ["nosuid", "nodev", "rprivate", "size=65536k", "exec"]
    );
    assert_eq!(mount_at(&spec, "/a/b").typ().as_deref(), Some("tmpfs"));
}

#[test]
fn user_mount_replaces_a_default() {
    let mut input = base_input();
    input.mounts = vec![bind("/host/shm", "/dev/shm", false)];
    let spec = build_spec(&input).unwrap();
    let shm: Vec<&Mount> = spec
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|m| m.destination() == Path::new("/dev/shm"))
        .collect();
    assert_eq!(shm.len(), 1);
    assert_eq!(shm[0].typ().as_deref(), Some("bind"));
    assert_eq!(shm[0].source().as_deref(), Some(Path::new("/host/shm")));

    // A user /dev takes every default under /dev with it.
    input.mounts = vec![bind("/host/dev", "/dev", false)];
    let spec = build_spec(&input).unwrap();
    assert_eq!(
        destinations(&spec),
        ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]
    );
}

#[test]
fn propagation_sets_rootfs_propagation_and_bad_values_fail() {
    let mut input = base_input();
    input.mounts = vec![ExtraMount::Bind(BindMount {
        source: PathBuf::from("/mnt"),
        destination: "/mnt".into(),
        read_only: true,
        recursive: false,
        read_only_non_recursive: false,
        propagation: Some("rshared".into()),
    })];
    let spec = build_spec(&input).unwrap();
    assert_eq!(options(&spec, "/mnt"), ["bind", "ro", "rshared"]);
    assert_eq!(
        spec.linux()
            .as_ref()
            .unwrap()
            .rootfs_propagation()
            .as_deref(),
        Some("shared")
    );

    if let ExtraMount::Bind(b) = &mut input.mounts[0] {
        b.propagation = Some("sideways".into());
    }
    assert!(build_spec(&input)
        .unwrap_err()
        .to_string()
        .contains("invalid propagation mode: sideways"));
}

#[test]
fn bad_tmpfs_options_and_destinations_are_refused() {
    let mut input = base_input();
    input.mounts = vec![ExtraMount::Tmpfs {
        destination: "/t".into(),
        options: vec!["foo=bar".into()],
    }];
    assert_eq!(
        build_spec(&input).unwrap_err().to_string(),
        "invalid tmpfs option \"foo=bar\""
    );
    input.mounts = vec![bind("/x", "relative", false)];
    assert!(build_spec(&input)
        .unwrap_err()
        .to_string()
        .contains("not an absolute path"));
}

#[test]
fn exec_process_carries_the_same_defaults() {
    let user = User {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![1000],
        home: "/home/u".into(),
    };
    let process = build_exec_process(
        &["ls".to_string()],
        &["A=1".to_string()],
        "/tmp",
        &user,
        true,
        false,
        &["NET_ADMIN".to_string()],
        &[],
        true,
    )
    .unwrap();
    assert_eq!(process.user().uid(), 1000);
    assert_eq!(process.cwd(), Path::new("/tmp"));
    assert_eq!(process.terminal(), Some(true));
    assert_eq!(process.no_new_privileges(), Some(true));
    assert_eq!(process.rlimits(), &None);
    let caps = process.capabilities().as_ref().unwrap();
    assert_eq!(cap_names(caps.bounding()).len(), 15);
    assert_eq!(caps.inheritable(), &None);

    let privileged = build_exec_process(
        &["ls".to_string()],
        &[],
        "/",
        &user,
        false,
        true,
        &[],
        &[],
        false,
    )
    .unwrap();
    let caps = privileged.capabilities().as_ref().unwrap();
    assert_eq!(
        cap_names(caps.effective()),
        sorted(all_capabilities().unwrap())
    );
}

#[test]
fn exec_inherits_container_ulimits_and_oom_score() {
    let mut input = base_input();
    input.ulimits = vec![Ulimit {
        name: "core".into(),
        soft: 0,
        hard: 0,
    }];
    input.oom_score_adj = Some(300);
    let container = build_spec(&input).unwrap();
    let mut process = build_exec_process(
        &["ls".to_string()],
        &[],
        "/",
        &input.user,
        false,
        false,
        &[],
        &[],
        false,
    )
    .unwrap();
    assert_eq!(process.rlimits(), &None);
    inherit_container_limits(&mut process, &container);
    let rlimits = process.rlimits().clone().unwrap();
    assert_eq!(rlimits[0].typ(), PosixRlimitType::RlimitCore);
    assert_eq!(process.oom_score_adj(), Some(300));
}

#[test]
fn write_bundle_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let spec = build_spec(&base_input()).unwrap();
    write_bundle(&bundle, &spec).unwrap();
    let loaded = Spec::load(bundle.join("config.json")).unwrap();
    assert_eq!(loaded, spec);
    assert!(!bundle.join(".config.json.tmp").exists());
}

#[test]
fn a_user_namespace_adds_the_namespace_and_its_maps() {
    let mut input = base_input();
    assert!(build_spec(&input)
        .unwrap()
        .linux()
        .as_ref()
        .unwrap()
        .uid_mappings()
        .is_none());
    let line = crate::IdMapping {
        container: 0,
        host: 300_000,
        len: 65536,
    };
    input.user_namespace = Some(crate::UserNamespace {
        uids: vec![line],
        gids: vec![line],
    });
    let spec = build_spec(&input).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    let uids = linux.uid_mappings().as_ref().unwrap();
    assert_eq!(
        (uids[0].host_id(), uids[0].container_id(), uids[0].size()),
        (300_000, 0, 65536)
    );
    assert!(linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User));
}
