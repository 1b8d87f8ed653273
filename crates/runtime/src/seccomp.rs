//! Seccomp as Docker applies it.
//!
//! A container's choice ([`Seccomp`]) is made once at create from
//! `--security-opt seccomp=...` and stored with it: Docker's default profile,
//! none (`unconfined`), or a profile in Docker's JSON format whose text is
//! stored (so a later change of the file it came from changes nothing).
//!
//! At every start the profile is turned into the OCI spec's `linux.seccomp`
//! for this container on this host ([`filter_for`]): each rule of a Docker
//! profile may carry `includes` / `excludes` conditions on the container's
//! (bounding) capabilities, the host's architecture and its minimum kernel
//! version, and `archMap` names the seccomp architectures of each native one.
//! Docker evaluates them per container, so `--cap-add SYS_ADMIN` opens
//! `mount`, `unshare`, `setns`... and `CAP_SYS_PTRACE` opens `ptrace` on old
//! kernels; so does berth.
//!
//! The default profile is moby's `profiles/seccomp/default.json` (the
//! `github.com/moby/profiles/seccomp` module v0.2.3, as vendored by moby/moby
//! at commit b985e2313a8676e18072b442911fc8f64f17d440), Copyright The Moby
//! Authors, Apache License 2.0 — embedded unchanged; see `NOTICE` in this
//! crate. Only the JSON is taken; the evaluation below is berth's own.
//!
//! The OCI runtime compiles and installs the filter; `runtime exec` processes
//! get the container's filter too (runc keeps it in the container's state and
//! installs it in every process it starts in the container).

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// Docker's default seccomp profile (moby/profiles seccomp v0.2.3, Apache-2.0).
pub const DEFAULT_PROFILE: &str = include_str!("../profiles/seccomp-default.json");

/// What a container's seccomp filter is, as chosen at create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seccomp {
    /// Docker's default profile (no option, or `seccomp=builtin`).
    #[default]
    Default,
    /// `seccomp=unconfined`: no filter.
    Unconfined,
    /// A profile in Docker's format: its JSON text, as the client sent it.
    Profile(String),
}

impl Seccomp {
    /// The choice for Docker's `seccomp=VALUE`: `unconfined`, `builtin`, or
    /// the profile's JSON text (Docker's CLI reads the file and sends its
    /// content). The profile is checked here, so a bad one fails at create.
    pub fn parse(value: &str) -> Result<Seccomp, RuntimeError> {
        match value {
            "unconfined" => Ok(Seccomp::Unconfined),
            // Docker ≥ 23 names its default profile "builtin".
            "builtin" => Ok(Seccomp::Default),
            json => {
                let profile = Profile::parse(json)?;
                profile.evaluate(&[], &Host::current())?;
                Ok(Seccomp::Profile(json.to_string()))
            }
        }
    }
}

/// A seccomp profile in Docker's format (a superset of the OCI one).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    default_action: String,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMap>>,
    flags: Option<Vec<String>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<Rule>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    name: String,
    names: Option<Vec<String>>,
    action: String,
    errno_ret: Option<u32>,
    args: Option<Vec<Arg>>,
    includes: Option<Condition>,
    excludes: Option<Condition>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    index: usize,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

/// `includes` / `excludes`: capabilities, native architectures (Docker's
/// names: `amd64`, `x32`, `arm64`...) and a minimum kernel (`"4.8"`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// What a profile's conditions are evaluated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Host {
    /// Docker's name of the native architecture (`amd64`, `arm64`...).
    arch: &'static str,
    /// The running kernel's (major, minor).
    kernel: (u32, u32),
}

impl Host {
    pub(crate) fn current() -> Host {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Host {
            arch: native_arch(),
            kernel: parse_kernel(release.trim()).unwrap_or((0, 0)),
        }
    }
}

/// Docker's name of the architecture this binary runs on.
fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        "loongarch64" => "loongarch64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "mips64" if cfg!(target_endian = "little") => "mipsel64",
        "mips64" => "mips64",
        other => other,
    }
}

/// The seccomp architecture of a native one, as `archMap` names it.
fn seccomp_arch(native: &str) -> Option<&'static str> {
    Some(match native {
        "amd64" => "SCMP_ARCH_X86_64",
        "x86" => "SCMP_ARCH_X86",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390x" => "SCMP_ARCH_S390X",
        "loongarch64" => "SCMP_ARCH_LOONGARCH64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "ppc64" => "SCMP_ARCH_PPC64",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mips64" => "SCMP_ARCH_MIPS64",
        _ => return None,
    })
}

/// "6.1.0-18-amd64" → (6, 1); Docker compares major and minor only.
fn parse_kernel(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

fn decode_error(detail: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::invalid(format!("Decoding seccomp profile failed: {detail}"))
}

/// One of the OCI spec's string enums from its JSON name.
fn oci_name<T: DeserializeOwned>(what: &str, name: &str) -> Result<T, RuntimeError> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| decode_error(format!("unknown {what} {name:?}")))
}

impl Condition {
    /// Whether the native architecture is listed (`None`: no list).
    fn arch_listed(&self, host: &Host) -> Option<bool> {
        nonempty(&self.arches).map(|arches| arches.iter().any(|a| a == host.arch))
    }

    /// Whether the kernel is at least `minKernel` (`None`: no minimum).
    fn kernel_at_least(&self, host: &Host) -> Result<Option<bool>, RuntimeError> {
        let Some(min) = &self.min_kernel else {
            return Ok(None);
        };
        let min = parse_kernel(min)
            .filter(|_| min.contains('.'))
            .ok_or_else(|| decode_error(format!("invalid kernel version {min:?}")))?;
        Ok(Some(host.kernel >= min))
    }

    /// As `includes`: every part that is present holds (all capabilities
    /// held, the architecture listed, the kernel recent enough).
    fn holds_all(&self, caps: &[String], host: &Host) -> Result<bool, RuntimeError> {
        let caps_held = nonempty(&self.caps).map(|list| list.iter().all(|c| caps.contains(c)));
        Ok(self.arch_listed(host) != Some(false)
            && caps_held != Some(false)
            && self.kernel_at_least(host)? != Some(false))
    }

    /// As `excludes`: any part that is present holds (any one capability
    /// held, the architecture listed, the kernel recent enough).
    fn holds_any(&self, caps: &[String], host: &Host) -> Result<bool, RuntimeError> {
        let any_cap =
            nonempty(&self.caps).is_some_and(|list| list.iter().any(|c| caps.contains(c)));
        Ok(self.arch_listed(host) == Some(true)
            || any_cap
            || self.kernel_at_least(host)? == Some(true))
    }
}

fn nonempty(list: &Option<Vec<String>>) -> Option<&Vec<String>> {
    list.as_ref().filter(|l| !l.is_empty())
}

impl Profile {
    fn parse(json: &str) -> Result<Profile, RuntimeError> {
        serde_json::from_str(json).map_err(decode_error)
    }

    /// The OCI filter of this profile for a container holding `caps`
    /// (bounding set, `CAP_` names) on `host`; `None` when the profile
    /// disables seccomp (no default action and no rules, as Docker reads it).
    fn evaluate(&self, caps: &[String], host: &Host) -> Result<Option<LinuxSeccomp>, RuntimeError> {
        let rules = self.syscalls.as_deref().unwrap_or_default();
        if self.default_action.is_empty() && rules.is_empty() {
            return Ok(None);
        }
        let archs_listed = self.architectures.as_ref().is_some_and(|l| !l.is_empty());
        if archs_listed && self.arch_map.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(decode_error(
                "both 'architectures' and 'archMap' are specified, use either one",
            ));
        }
        let mut arches: Vec<Arch> = Vec::new();
        for name in self.architectures.iter().flatten() {
            arches.push(oci_name("architecture", name)?);
        }
        let native = seccomp_arch(host.arch);
        if let Some(entry) = self
            .arch_map
            .iter()
            .flatten()
            .find(|e| Some(e.architecture.as_str()) == native)
        {
            arches.push(oci_name("architecture", &entry.architecture)?);
            for sub in entry.sub_architectures.iter().flatten() {
                arches.push(oci_name("architecture", sub)?);
            }
        }
        let mut flags: Vec<LinuxSeccompFilterFlag> = Vec::new();
        for flag in self.flags.iter().flatten() {
            flags.push(oci_name("flag", flag)?);
        }
        let mut syscalls = Vec::new();
        for rule in rules {
            if rule.applies(caps, host)? {
                syscalls.push(rule.to_oci()?);
            }
        }
        let mut filter = LinuxSeccomp::default();
        filter
            .set_default_action(oci_name("action", &self.default_action)?)
            .set_default_errno_ret(self.default_errno_ret)
            .set_architectures((!arches.is_empty()).then_some(arches))
            .set_flags((!flags.is_empty()).then_some(flags))
            .set_listener_path(self.listener_path.as_ref().map(Into::into))
            .set_listener_metadata(self.listener_metadata.clone())
            .set_syscalls(Some(syscalls));
        Ok(Some(filter))
    }
}

impl Rule {
    fn applies(&self, caps: &[String], host: &Host) -> Result<bool, RuntimeError> {
        if let Some(excludes) = &self.excludes {
            if excludes.holds_any(caps, host)? {
                return Ok(false);
            }
        }
        match &self.includes {
            Some(includes) => includes.holds_all(caps, host),
            None => Ok(true),
        }
    }

    fn to_oci(&self) -> Result<LinuxSyscall, RuntimeError> {
        let names = match (&self.name, &self.names) {
            (name, Some(names)) if !name.is_empty() && !names.is_empty() => {
                return Err(decode_error(
                    "both 'name' and 'names' are specified, use either one",
                ))
            }
            (name, _) if !name.is_empty() => vec![name.clone()],
            (_, names) => names.clone().unwrap_or_default(),
        };
        let action: LinuxSeccompAction = oci_name("action", &self.action)?;
        let mut args = Vec::new();
        for arg in self.args.iter().flatten() {
            let op: LinuxSeccompOperator = oci_name("operator", &arg.op)?;
            args.push(
                LinuxSeccompArgBuilder::default()
                    .index(arg.index)
                    .value(arg.value)
                    .value_two(arg.value_two)
                    .op(op)
                    .build()?,
            );
        }
        let mut syscall = LinuxSyscallBuilder::default()
            .names(names)
            .action(action)
            .build()?;
        syscall
            .set_errno_ret(self.errno_ret)
            .set_args((!args.is_empty()).then_some(args));
        Ok(syscall)
    }
}

/// Whether the kernel can filter system calls with seccomp (Docker's check:
/// `PR_SET_SECCOMP` with a filter mode and no filter fails with EFAULT, not
/// EINVAL, when filters are supported; nothing is installed either way).
pub fn seccomp_supported() -> bool {
    // SAFETY: plain prctl with integer arguments and a null filter pointer,
    // which the kernel rejects before doing anything.
    unsafe {
        if libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
        {
            return false;
        }
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            std::ptr::null::<libc::c_void>(),
            0,
            0,
        ) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
    }
}

/// The container's `linux.seccomp`, as Docker (≥ 27) decides it: none for
/// `unconfined`; none for `--privileged` unless a profile was given
/// explicitly; otherwise the profile evaluated for the container's bounding
/// capabilities on this host. Without kernel support the default profile is
/// dropped (Docker warns and runs unconfined) and an explicit one refused.
pub fn filter_for(
    choice: &Seccomp,
    privileged: bool,
    bounding: &[String],
) -> Result<Option<LinuxSeccomp>, RuntimeError> {
    let json = match choice {
        Seccomp::Unconfined => return Ok(None),
        Seccomp::Default if privileged => return Ok(None),
        Seccomp::Default => DEFAULT_PROFILE,
        Seccomp::Profile(json) => json.as_str(),
    };
    if !seccomp_supported() {
        return match choice {
            Seccomp::Profile(_) => Err(RuntimeError::invalid(
                "seccomp is not enabled in your kernel, cannot run a custom seccomp profile",
            )),
            _ => Ok(None),
        };
    }
    Profile::parse(json)?.evaluate(bounding, &Host::current())
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
