//! AppArmor as Docker applies it, where the kernel has it.
//!
//! Docker confines every unprivileged container with its `docker-default`
//! profile, which it generates and loads with `apparmor_parser` when the host
//! has AppArmor enabled; `--privileged` runs `unconfined`, and
//! `--security-opt apparmor=NAME` names another loaded profile. berth does the
//! same with its own profile, `berth-default`, whose rules are those of
//! Docker's default (deny mounts, writes to most of `/proc` and `/sys`,
//! `/proc/kcore` and `/proc/sysrq-trigger`, the kernel crypto sockets; allow
//! signals from the host and the runtime and between the container's own
//! processes).
//!
//! On a host without AppArmor (these CI machines' kernels are built without
//! it: no `/sys/module/apparmor`) Docker silently runs every container
//! without it. berth does too for the default, but refuses an explicit
//! `apparmor=PROFILE`, which it could not honour.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// The name of berth's default profile.
pub const DEFAULT_PROFILE_NAME: &str = "berth-default";

/// What a container's AppArmor profile is, as chosen at create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppArmor {
    /// [`DEFAULT_PROFILE_NAME`] (unconfined for `--privileged`).
    #[default]
    Default,
    /// `apparmor=unconfined`.
    Unconfined,
    /// `apparmor=NAME`: a profile loaded on the host.
    Profile(String),
}

impl AppArmor {
    /// The choice for `apparmor=VALUE`. A named profile needs AppArmor on
    /// this host; `unconfined` is what a host without it gives anyway.
    pub fn parse(value: &str) -> Result<AppArmor, RuntimeError> {
        match value {
            "unconfined" => Ok(AppArmor::Unconfined),
            name if !enabled() => Err(RuntimeError::invalid(format!(
                "apparmor={name}: AppArmor is not enabled on this host (its kernel has no \
                 /sys/module/apparmor), so no container can be confined by an AppArmor profile"
            ))),
            name => Ok(AppArmor::Profile(name.to_string())),
        }
    }
}

/// Whether the kernel has AppArmor enabled (runc's and Docker's test).
pub fn enabled() -> bool {
    Path::new("/sys/kernel/security/apparmor").exists()
        && std::fs::read("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|v| v.starts_with(b"Y"))
}

/// The profile the container's processes run under (`process.apparmorProfile`),
/// loading berth's default first when it is needed and not loaded yet.
pub fn profile_for(choice: &AppArmor, privileged: bool) -> Result<Option<String>, RuntimeError> {
    if !enabled() {
        return match choice {
            AppArmor::Profile(name) => Err(AppArmor::parse(name).unwrap_err()),
            _ => Ok(None),
        };
    }
    Ok(Some(match choice {
        AppArmor::Unconfined => "unconfined".to_string(),
        AppArmor::Profile(name) => name.clone(),
        AppArmor::Default if privileged => "unconfined".to_string(),
        AppArmor::Default => {
            ensure_default_loaded()?;
            DEFAULT_PROFILE_NAME.to_string()
        }
    }))
}

fn loaded(name: &str) -> bool {
    std::fs::read_to_string("/sys/kernel/security/apparmor/profiles").is_ok_and(|list| {
        list.lines()
            .any(|line| line.rsplit_once(' ').is_some_and(|(n, _)| n == name))
    })
}

/// Loads (or replaces) berth's default profile with `apparmor_parser`, as
/// Docker loads its own: at the first start that needs it, and again if an
/// upgrade or a reload of the host's profiles dropped it.
fn ensure_default_loaded() -> Result<(), RuntimeError> {
    if loaded(DEFAULT_PROFILE_NAME) {
        return Ok(());
    }
    let parser = ["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or_else(|| {
            RuntimeError::invalid(format!(
                "AppArmor is enabled but apparmor_parser is not installed, so the \
                 {DEFAULT_PROFILE_NAME} profile cannot be loaded: install apparmor, or run the \
                 container with --security-opt apparmor=unconfined"
            ))
        })?;
    let mut child = Command::new(parser)
        .arg("-Kr")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RuntimeError::io(parser, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(default_profile().as_bytes())
            .map_err(|e| RuntimeError::io(parser, e))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| RuntimeError::io(parser, e))?;
    if !output.status.success() {
        return Err(RuntimeError::invalid(format!(
            "loading the {DEFAULT_PROFILE_NAME} AppArmor profile: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// The text of berth's default profile. The host's tunables (`@{PROC}`) and
/// base abstraction are included where installed, as Docker does.
pub fn default_profile() -> String {
    let name = DEFAULT_PROFILE_NAME;
    let installed = |p: &str| Path::new("/etc/apparmor.d").join(p).exists();
    let tunables = if installed("tunables/global") {
        "#include <tunables/global>"
    } else {
        "@{PROC}=/proc/"
    };
    let base = if installed("abstractions/base") {
        "  #include <abstractions/base>\n"
    } else {
        ""
    };
    format!(
        r#"{tunables}

profile {name} flags=(attach_disconnected,mediate_deleted) {{
{base}
  network,
  deny network alg,
  capability,
  file,
  umount,
  deny mount,

  # Signals: from the host and the OCI runtime (stop, kill), and among the
  # container's own processes.
  signal (receive) peer=unconfined,
  signal (receive) peer=runc,
  signal (receive) peer=crun,
  signal (send,receive) peer={name},
  ptrace (trace,tracedby,read,readby) peer={name},

  # /proc: no writes to files directly in it, nor below anything but
  # /proc/<pid>/ and /proc/sys/kernel/shm*.
  deny @{{PROC}}/* w,
  deny @{{PROC}}/{{[^1-9/],[^1-9/][^0-9/],[^1-9s/][^0-9y/][^0-9s/],[^1-9/][^0-9/][^0-9/][^0-9/]*}}/** w,
  deny @{{PROC}}/sys/[^k]** w,
  deny @{{PROC}}/sys/kernel/{{?,??,[^s][^h][^m]**}} w,
  deny @{{PROC}}/sysrq-trigger rwklx,
  deny @{{PROC}}/kcore rwklx,

  # /sys: nothing written outside the cgroup tree, firmware and LSM state unread.
  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/devices/virtual/powercap/** rwklx,
  deny /sys/kernel/security/** rwklx,
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_is_named_and_denies_what_dockers_denies() {
        let text = default_profile();
        assert!(
            text.contains("profile berth-default flags=(attach_disconnected,mediate_deleted) {")
        );
        for rule in [
            "deny mount,",
            "deny @{PROC}/kcore rwklx,",
            "deny /sys/firmware/** rwklx,",
            "signal (send,receive) peer=berth-default,",
        ] {
            assert!(text.contains(rule), "{rule}");
        }
        assert_eq!(text.matches('{').count(), text.matches('}').count());
    }

    #[test]
    fn choices_follow_the_host() {
        assert_eq!(AppArmor::parse("unconfined").unwrap(), AppArmor::Unconfined);
        if enabled() {
            assert_eq!(
                AppArmor::parse("custom").unwrap(),
                AppArmor::Profile("custom".into())
            );
            assert_eq!(
                profile_for(&AppArmor::Default, true).unwrap().as_deref(),
                Some("unconfined")
            );
        } else {
            let err = AppArmor::parse("custom").unwrap_err().to_string();
            assert!(
                err.contains("AppArmor is not enabled on this host"),
                "{err}"
            );
            assert_eq!(profile_for(&AppArmor::Default, false).unwrap(), None);
            assert_eq!(profile_for(&AppArmor::Unconfined, false).unwrap(), None);
            assert!(profile_for(&AppArmor::Profile("custom".into()), false).is_err());
        }
    }
}
