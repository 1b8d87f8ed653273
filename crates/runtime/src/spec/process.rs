//! The container's process: arguments, identity, capabilities and rlimits, and
//! the process of a `runtime exec`.

use oci_spec::runtime::{
    LinuxCapabilities, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process, ProcessBuilder,
    Spec, UserBuilder,
};

use super::Ulimit;
use crate::caps::{all_capabilities, to_oci, tweak_capabilities};
use crate::error::RuntimeError;
use crate::user::User;

/// The process for `runtime exec --process FILE`: same capability rules as a
/// container (`privileged` is the container's or the exec's `--privileged`).
#[allow(clippy::too_many_arguments)]
pub fn build_exec_process(
    args: &[String],
    env: &[String],
    cwd: &str,
    user: &User,
    terminal: bool,
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
    no_new_privileges: bool,
) -> Result<Process, RuntimeError> {
    if args.is_empty() {
        return Err(RuntimeError::invalid("No exec command specified"));
    }
    let capabilities = tweak_capabilities(cap_add, cap_drop, privileged)?;
    make_process(
        args.to_vec(),
        env,
        cwd,
        user,
        terminal,
        &capabilities,
        no_new_privileges,
    )
}

/// Gives an exec process what Docker's exec inherits from the container's own
/// process: its rlimits (`--ulimit`) and OOM score adjustment.
pub fn inherit_container_limits(process: &mut Process, container: &Spec) {
    if let Some(main) = container.process() {
        process
            .set_rlimits(main.rlimits().clone())
            .set_oom_score_adj(main.oom_score_adj());
    }
}

pub(super) fn make_process(
    args: Vec<String>,
    env: &[String],
    cwd: &str,
    user: &User,
    terminal: bool,
    capabilities: &[String],
    no_new_privileges: bool,
) -> Result<Process, RuntimeError> {
    if !cwd.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    crate::cwd::check_cwd(cwd)?;
    // Docker grants bounding, effective and permitted; never inheritable or ambient
    // (CVE-2022-24769), so a non-root user's process ends up with none after execve.
    let caps = to_oci(capabilities)?;
    let mut capabilities = LinuxCapabilities::default();
    capabilities
        .set_bounding(Some(caps.clone()))
        .set_effective(Some(caps.clone()))
        .set_permitted(Some(caps))
        .set_inheritable(None)
        .set_ambient(None);
    let mut process = ProcessBuilder::default()
        .terminal(terminal)
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(user.additional_gids.clone())
                .build()?,
        )
        .args(args)
        .env(env.to_vec())
        .cwd(cwd)
        .capabilities(capabilities)
        .build()?;
    // The builder falls back to the library's own defaults for unset fields; clear
    // the ones Docker leaves unset.
    process
        .set_rlimits(None)
        .set_no_new_privileges(no_new_privileges.then_some(true))
        .set_apparmor_profile(None)
        .set_selinux_label(None)
        .set_oom_score_adj(None)
        .set_console_size(None)
        .set_command_line(None)
        .set_scheduler(None)
        .set_io_priority(None)
        .set_exec_cpu_affinity(None);
    Ok(process)
}

pub(super) fn has_sys_resource() -> Result<bool, RuntimeError> {
    Ok(all_capabilities()?.iter().any(|c| c == "CAP_SYS_RESOURCE"))
}

fn rlimit_type(name: &str) -> Option<(PosixRlimitType, rustix::process::Resource)> {
    use rustix::process::Resource as R;
    use PosixRlimitType as T;
    Some(match name {
        "as" => (T::RlimitAs, R::As),
        "core" => (T::RlimitCore, R::Core),
        "cpu" => (T::RlimitCpu, R::Cpu),
        "data" => (T::RlimitData, R::Data),
        "fsize" => (T::RlimitFsize, R::Fsize),
        "locks" => (T::RlimitLocks, R::Locks),
        "memlock" => (T::RlimitMemlock, R::Memlock),
        "msgqueue" => (T::RlimitMsgqueue, R::Msgqueue),
        "nice" => (T::RlimitNice, R::Nice),
        "nofile" => (T::RlimitNofile, R::Nofile),
        "nproc" => (T::RlimitNproc, R::Nproc),
        "rss" => (T::RlimitRss, R::Rss),
        "rtprio" => (T::RlimitRtprio, R::Rtprio),
        "rttime" => (T::RlimitRttime, R::Rttime),
        "sigpending" => (T::RlimitSigpending, R::Sigpending),
        "stack" => (T::RlimitStack, R::Stack),
        _ => return None,
    })
}

/// `--ulimit`s as OCI rlimits. Raising a hard limit above this process's own needs
/// CAP_SYS_RESOURCE; without it the runtime would fail obscurely, so refuse here.
pub(super) fn rlimits(ulimits: &[Ulimit]) -> Result<Option<Vec<PosixRlimit>>, RuntimeError> {
    if ulimits.is_empty() {
        return Ok(None);
    }
    let can_raise = has_sys_resource()?;
    let mut out = Vec::with_capacity(ulimits.len());
    for ulimit in ulimits {
        let (typ, resource) = rlimit_type(&ulimit.name).ok_or_else(|| {
            RuntimeError::invalid(format!("invalid ulimit type: {}", ulimit.name))
        })?;
        if ulimit.soft > ulimit.hard {
            return Err(RuntimeError::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                ulimit.soft, ulimit.hard
            )));
        }
        let current_hard = rustix::process::getrlimit(resource)
            .maximum
            .unwrap_or(u64::MAX);
        if ulimit.hard > current_hard && !can_raise {
            return Err(RuntimeError::invalid(format!(
                "ulimit {}: hard limit {} is above the current hard limit {current_hard}, and raising it needs CAP_SYS_RESOURCE, which this process lacks",
                ulimit.name, ulimit.hard
            )));
        }
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(ulimit.soft)
                .hard(ulimit.hard)
                .build()?,
        );
    }
    Ok(Some(out))
}
