use super::*;

const AMD64_6_1: Host = Host {
    arch: "amd64",
    kernel: (6, 1),
};

fn caps(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| c.to_string()).collect()
}

/// Docker's default set (what `tweak_capabilities` grants with no flags).
fn default_caps() -> Vec<String> {
    crate::default_capabilities()
}

fn default_filter(caps: &[String], host: &Host) -> LinuxSeccomp {
    Profile::parse(DEFAULT_PROFILE)
        .unwrap()
        .evaluate(caps, host)
        .unwrap()
        .unwrap()
}

/// Every rule naming `name`, as (action, errno, has args).
fn rules_for(filter: &LinuxSeccomp, name: &str) -> Vec<(LinuxSeccompAction, Option<u32>, bool)> {
    filter
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == name))
        .map(|s| (s.action(), s.errno_ret(), s.args().is_some()))
        .collect()
}

fn allowed_unconditionally(filter: &LinuxSeccomp, name: &str) -> bool {
    rules_for(filter, name)
        .iter()
        .any(|(action, _, args)| *action == LinuxSeccompAction::ScmpActAllow && !args)
}

#[test]
fn default_profile_denies_what_docker_denies_with_default_capabilities() {
    let filter = default_filter(&default_caps(), &AMD64_6_1);
    assert_eq!(filter.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(filter.default_errno_ret(), Some(1));
    assert_eq!(
        filter.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
    );
    for allowed in ["read", "execve", "arch_prctl", "ptrace", "chown", "setuid"] {
        assert!(allowed_unconditionally(&filter, allowed), "{allowed}");
    }
    for denied in [
        "mount",
        "unshare",
        "setns",
        "bpf",
        "perf_event_open",
        "add_key",
        "keyctl",
        "umount2",
        "kexec_load",
        "init_module",
        "reboot",
        "swapon",
        "open_by_handle_at",
        "s390_runtime_instr",
    ] {
        assert!(rules_for(&filter, denied).is_empty(), "{denied} has a rule");
    }
    // clone only without namespace flags; clone3 fails with ENOSYS so libc
    // falls back to clone.
    assert_eq!(
        rules_for(&filter, "clone"),
        [(LinuxSeccompAction::ScmpActAllow, None, true)]
    );
    assert_eq!(
        rules_for(&filter, "clone3"),
        [(LinuxSeccompAction::ScmpActErrno, Some(38), false)]
    );
}

#[test]
fn capabilities_open_the_calls_docker_opens_for_them() {
    let mut with_admin = default_caps();
    with_admin.push("CAP_SYS_ADMIN".into());
    let filter = default_filter(&with_admin, &AMD64_6_1);
    for opened in [
        "mount", "umount2", "unshare", "setns", "bpf", "clone", "clone3",
    ] {
        assert!(allowed_unconditionally(&filter, opened), "{opened}");
    }
    // The restricted clone and the ENOSYS clone3 rules are excluded.
    assert_eq!(rules_for(&filter, "clone3").len(), 1);
    assert_eq!(rules_for(&filter, "clone").len(), 1);

    let filter = default_filter(&caps(&["CAP_SYS_PTRACE", "CAP_SYS_TIME"]), &AMD64_6_1);
    for opened in ["process_vm_readv", "kcmp", "settimeofday", "clock_settime"] {
        assert!(allowed_unconditionally(&filter, opened), "{opened}");
    }
    assert!(rules_for(&filter, "mount").is_empty());
}

#[test]
fn kernel_and_architecture_conditions_follow_the_host() {
    // ptrace is allowed without CAP_SYS_PTRACE only from kernel 4.8.
    let old = Host {
        arch: "amd64",
        kernel: (4, 4),
    };
    assert!(rules_for(&default_filter(&default_caps(), &old), "ptrace").is_empty());

    let arm = Host {
        arch: "arm64",
        kernel: (6, 1),
    };
    let filter = default_filter(&default_caps(), &arm);
    assert_eq!(
        filter.architectures().as_deref(),
        Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
    );
    assert!(allowed_unconditionally(&filter, "arm_fadvise64_64"));
    assert!(rules_for(&filter, "arch_prctl").is_empty());
}

#[test]
fn custom_profiles_are_read_as_docker_reads_them() {
    let filter = Profile::parse(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO","args":null},
                        {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
                         "excludes":{"caps":["CAP_FOWNER"]}}]}"#,
    )
    .unwrap()
    .evaluate(&default_caps(), &AMD64_6_1)
    .unwrap()
    .unwrap();
    assert_eq!(filter.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(
        filter.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64][..])
    );
    assert_eq!(
        rules_for(&filter, "mkdir"),
        [(LinuxSeccompAction::ScmpActErrno, None, false)]
    );
    // CAP_FOWNER is a default capability: the chmod rule is excluded.
    assert!(rules_for(&filter, "chmod").is_empty());

    // Nothing to filter: Docker reads it as "no seccomp".
    let none = Profile::parse("{}").unwrap();
    assert!(none.evaluate(&[], &AMD64_6_1).unwrap().is_none());

    let refused = |json: &str| {
        Profile::parse(json)
            .and_then(|p| p.evaluate(&[], &AMD64_6_1))
            .unwrap_err()
            .to_string()
    };
    assert!(refused("{not json").starts_with("Decoding seccomp profile failed: "));
    assert!(refused(r#"{"defaultAction":"SCMP_ACT_SOMETIMES"}"#).contains("unknown action"));
    assert!(refused(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}"#
    )
    .contains("both 'name' and 'names'"));
    assert!(refused(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#
    )
    .contains("both 'architectures' and 'archMap'"));
    assert!(refused(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"six"}}]}"#
    )
    .contains("invalid kernel version"));
}

#[test]
fn the_choice_is_parsed_once_and_privileged_runs_unconfined() {
    assert_eq!(Seccomp::parse("unconfined").unwrap(), Seccomp::Unconfined);
    assert_eq!(Seccomp::parse("builtin").unwrap(), Seccomp::Default);
    let json = r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#;
    assert_eq!(
        Seccomp::parse(json).unwrap(),
        Seccomp::Profile(json.to_string())
    );
    assert!(Seccomp::parse("/etc/profile.json")
        .unwrap_err()
        .to_string()
        .starts_with("Decoding seccomp profile failed"));

    if !seccomp_supported() {
        return;
    }
    let caps = default_caps();
    assert!(filter_for(&Seccomp::Default, false, &caps)
        .unwrap()
        .is_some());
    assert!(filter_for(&Seccomp::Default, true, &caps)
        .unwrap()
        .is_none());
    assert!(filter_for(&Seccomp::Unconfined, false, &caps)
        .unwrap()
        .is_none());
    // Docker ≥ 27 applies an explicit profile even with --privileged.
    let custom = Seccomp::Profile(json.to_string());
    assert!(filter_for(&custom, true, &caps).unwrap().is_some());
}

#[test]
fn kernel_versions_parse_as_major_minor() {
    assert_eq!(parse_kernel("6.18.44-fc-v657"), Some((6, 18)));
    assert_eq!(parse_kernel("4.8"), Some((4, 8)));
    assert_eq!(parse_kernel("5"), Some((5, 0)));
    assert_eq!(parse_kernel("x.y"), None);
}
