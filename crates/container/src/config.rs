//! Typed settings of a container, parsed once (by the front end that received
//! them, or at create) and stored as data: the restart policy and the
//! security options.

use serde::{Deserialize, Serialize};

use crate::ContainerError;

/// Docker's restart policy (`--restart`, `HostConfig.RestartPolicy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure {
        max_retries: u32,
    },
}

impl RestartPolicy {
    /// A policy from Docker's two fields, with Docker's refusals.
    pub fn from_parts(
        name: &str,
        maximum_retry_count: i64,
    ) -> Result<RestartPolicy, ContainerError> {
        let invalid = |m: String| Err(ContainerError::InvalidArgument(m));
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => {
                if maximum_retry_count < 0 {
                    return invalid("maximum retry count cannot be negative".into());
                }
                return Ok(RestartPolicy::OnFailure {
                    max_retries: u32::try_from(maximum_retry_count).unwrap_or(u32::MAX),
                });
            }
            other => return invalid(format!("invalid restart policy '{other}'")),
        };
        if maximum_retry_count != 0 {
            return invalid(format!(
                "maximum retry count cannot be used with restart policy '{name}'"
            ));
        }
        Ok(policy)
    }

    /// Docker's name of the policy ("no", "always", ...).
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
            RestartPolicy::OnFailure { .. } => "on-failure",
        }
    }

    pub fn maximum_retry_count(self) -> i64 {
        match self {
            RestartPolicy::OnFailure { max_retries } => i64::from(max_retries),
            _ => 0,
        }
    }

    pub fn is_no(self) -> bool {
        self == RestartPolicy::No
    }

    /// Docker's decision after an exit with `code`, the container having
    /// been restarted `restart_count` times; a container stopped by its user
    /// is never restarted.
    pub fn should_restart(self, code: i32, restart_count: i64, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max_retries } => {
                code != 0 && (max_retries == 0 || restart_count < i64::from(max_retries))
            }
        }
    }
}

/// The stored shape: Docker's `{"Name": ..., "MaximumRetryCount": ...}`
/// (records written before the policy was typed used "" for "no").
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RestartPolicyRecord {
    name: String,
    maximum_retry_count: i64,
}

impl Serialize for RestartPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RestartPolicyRecord {
            name: self.name().to_string(),
            maximum_retry_count: self.maximum_retry_count(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RestartPolicyRecord::deserialize(d)?;
        RestartPolicy::from_parts(&r.name, r.maximum_retry_count).map_err(serde::de::Error::custom)
    }
}

/// What `--security-opt` asked for, as data. Docker keeps the options as
/// given (shown in `HostConfig.SecurityOpt`) and applies what they mean.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityOptions {
    /// `no-new-privileges[:true|=true]`: the container's processes cannot
    /// gain privileges (setuid binaries, file capabilities).
    pub no_new_privileges: bool,
    /// `seccomp=unconfined|builtin|PROFILE-JSON`: Docker's default profile
    /// unless told otherwise (records made before seccomp get it too, as
    /// Docker would apply it).
    #[serde(default)]
    pub seccomp: berth_runtime::Seccomp,
    /// `apparmor=unconfined|PROFILE`.
    #[serde(default)]
    pub apparmor: berth_runtime::AppArmor,
}

impl SecurityOptions {
    /// Parses Docker's `--security-opt` values as dockerd does (a profile
    /// file was already read by the client: `seccomp=` carries its JSON); an
    /// option berth does not apply is refused rather than ignored.
    pub fn parse(options: &[String]) -> Result<SecurityOptions, ContainerError> {
        let mut parsed = SecurityOptions::default();
        let invalid = |n: u8, opt: &str| {
            Err(ContainerError::InvalidArgument(format!(
                "invalid --security-opt {n}: {opt:?}"
            )))
        };
        for opt in options {
            if opt == "no-new-privileges" {
                parsed.no_new_privileges = true;
                continue;
            }
            // dockerd splits on '=' when there is one, else on the older ':'.
            let separator = if opt.contains('=') { '=' } else { ':' };
            let Some((key, value)) = opt.split_once(separator) else {
                return invalid(1, opt);
            };
            match key {
                "no-new-privileges" => match value {
                    "true" | "1" | "t" | "T" | "TRUE" | "True" => parsed.no_new_privileges = true,
                    "false" | "0" | "f" | "F" | "FALSE" | "False" => {
                        parsed.no_new_privileges = false
                    }
                    _ => return invalid(2, opt),
                },
                "seccomp" => parsed.seccomp = berth_runtime::Seccomp::parse(value)?,
                "apparmor" => parsed.apparmor = berth_runtime::AppArmor::parse(value)?,
                _ => return invalid(2, opt),
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_validate_and_decide_as_dockers() {
        assert_eq!(RestartPolicy::from_parts("", 0).unwrap(), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::from_parts("no", 0).unwrap(),
            RestartPolicy::No
        );
        assert_eq!(
            RestartPolicy::from_parts("on-failure", 3).unwrap(),
            RestartPolicy::OnFailure { max_retries: 3 }
        );
        let e = RestartPolicy::from_parts("always", 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "maximum retry count cannot be used with restart policy 'always'"
        );
        assert!(RestartPolicy::from_parts("sometimes", 0).is_err());
        assert!(RestartPolicy::from_parts("on-failure", -1).is_err());
        let p = RestartPolicy::OnFailure { max_retries: 2 };
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(!RestartPolicy::Always.should_restart(0, 0, true));
        assert!(RestartPolicy::UnlessStopped.should_restart(0, 9, false));
    }

    #[test]
    fn restart_policies_keep_their_stored_shape() {
        let json = serde_json::to_string(&RestartPolicy::OnFailure { max_retries: 3 }).unwrap();
        assert_eq!(json, r#"{"Name":"on-failure","MaximumRetryCount":3}"#);
        let old: RestartPolicy =
            serde_json::from_str(r#"{"Name":"","MaximumRetryCount":0}"#).unwrap();
        assert_eq!(old, RestartPolicy::No);
    }

    #[test]
    fn security_options_are_applied_or_refused() {
        let on = |v: &[&str]| {
            SecurityOptions::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(on(&["no-new-privileges"]).unwrap().no_new_privileges);
        assert!(on(&["no-new-privileges:true"]).unwrap().no_new_privileges);
        assert!(on(&["no-new-privileges=true"]).unwrap().no_new_privileges);
        assert!(!on(&["no-new-privileges=false"]).unwrap().no_new_privileges);
        assert!(on(&["no-new-privileges=maybe"]).is_err());
        assert!(on(&["label=disable"]).is_err());
        assert!(on(&["bogus"]).is_err());

        use berth_runtime::{AppArmor, Seccomp};
        assert_eq!(on(&[]).unwrap().seccomp, Seccomp::Default);
        assert_eq!(
            on(&["seccomp=unconfined"]).unwrap().seccomp,
            Seccomp::Unconfined
        );
        assert_eq!(
            on(&["seccomp:unconfined"]).unwrap().seccomp,
            Seccomp::Unconfined
        );
        assert_eq!(on(&["seccomp=builtin"]).unwrap().seccomp, Seccomp::Default);
        let json = r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#;
        assert_eq!(
            on(&[json]).unwrap().seccomp,
            Seccomp::Profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.into())
        );
        // dockerd receives the file's content, never its path.
        let err = on(&["seccomp=/etc/p.json"]).unwrap_err().to_string();
        assert!(err.starts_with("Decoding seccomp profile failed"), "{err}");
        assert_eq!(
            on(&["apparmor=unconfined"]).unwrap().apparmor,
            AppArmor::Unconfined
        );
        if !berth_runtime::apparmor::enabled() {
            assert!(on(&["apparmor=docker-default"]).is_err());
        }
        // Records made before seccomp was typed read as Docker's default.
        let old: SecurityOptions = serde_json::from_str(r#"{"NoNewPrivileges":true}"#).unwrap();
        assert_eq!(old.seccomp, Seccomp::Default);
    }
}
