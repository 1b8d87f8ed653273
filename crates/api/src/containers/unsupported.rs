//! Create-request fields berth does not implement: each is refused (400,
//! the field named, nothing created) when set to anything but its default,
//! rather than accepted and dropped. Read from the body as sent, so fields
//! the API model no longer has (`KernelMemory`) are caught too.

use serde_json::Value;

use crate::error::ApiError;

/// `HostConfig` fields berth refuses, and why (Docker's behaviour where it
/// differs).
const HOST_CONFIG: &[(&str, &str)] = &[
    ("CgroupParent", "a container's cgroup is always berth/ID"),
    (
        "BlkioWeightDevice",
        "per-device block I/O weights are not implemented",
    ),
    (
        "BlkioDeviceReadBps",
        "per-device block I/O limits are not implemented",
    ),
    (
        "BlkioDeviceWriteBps",
        "per-device block I/O limits are not implemented",
    ),
    (
        "BlkioDeviceReadIOps",
        "per-device block I/O limits are not implemented",
    ),
    (
        "BlkioDeviceWriteIOps",
        "per-device block I/O limits are not implemented",
    ),
    ("DeviceRequests", "there are no device drivers (--gpus)"),
    (
        "KernelMemory",
        "kernel memory limits are deprecated (dockerd warns) and cgroup v2 has none",
    ),
    (
        "KernelMemoryTCP",
        "kernel memory limits are deprecated (dockerd warns) and cgroup v2 has none",
    ),
    ("CpuCount", "Windows only (dockerd on Linux ignores it)"),
    (
        "CpuPercent",
        "Windows only (dockerd on Linux discards it with a warning)",
    ),
    (
        "IOMaximumIOps",
        "Windows only (dockerd on Linux refuses it too)",
    ),
    (
        "IOMaximumBandwidth",
        "Windows only (dockerd on Linux refuses it too)",
    ),
    (
        "Annotations",
        "OCI annotations are not passed to the runtime",
    ),
    (
        "Cgroup",
        "joining another container's cgroup is not implemented",
    ),
    (
        "StorageOpt",
        "the writable layer has no size quota (dockerd needs overlay over xfs with pquota)",
    ),
    (
        "MaskedPaths",
        "Docker's masked paths always apply (--privileged lifts them)",
    ),
    (
        "ReadonlyPaths",
        "Docker's read-only paths always apply (--privileged lifts them)",
    ),
];

/// `HostConfig.Mounts[]` fields berth refuses.
const MOUNT: &[(&str, &str, &str)] = &[
    (
        "BindOptions",
        "CreateMountpoint",
        "a missing bind source is an error",
    ),
    (
        "BindOptions",
        "ReadOnlyNonRecursive",
        "read-only binds are read-only recursively",
    ),
    (
        "TmpfsOptions",
        "Options",
        "API 1.46 is above the versions berth speaks",
    ),
];

/// A value a client sends for "not set".
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn refuse(field: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("{field} is not supported by berth: {why}"))
}

/// Refuses a create body that sets a field berth does not implement.
pub(super) fn check(body: &Value) -> Result<(), ApiError> {
    if body.get("OnBuild").is_some_and(|v| !is_default(v)) {
        return Err(refuse(
            "Config.OnBuild",
            "a container's OnBuild triggers are not kept for commit",
        ));
    }
    let Some(host) = body.get("HostConfig") else {
        return Ok(());
    };
    for (field, why) in HOST_CONFIG {
        let Some(value) = host.get(*field) else {
            continue;
        };
        // docker's CLI sends empty masked/read-only lists for
        // `systempaths=unconfined`.
        let unset = match *field {
            "MaskedPaths" | "ReadonlyPaths" => value.is_null(),
            _ => is_default(value),
        };
        if !unset {
            return Err(refuse(&format!("HostConfig.{field}"), why));
        }
    }
    for mount in host
        .get("Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (options, field, why) in MOUNT {
            if mount
                .get(*options)
                .and_then(|o| o.get(*field))
                .is_some_and(|v| !is_default(v))
            {
                return Err(refuse(&format!("HostConfig.Mounts.{options}.{field}"), why));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_fields_are_refused_and_defaults_pass() {
        check(&json!({"HostConfig": {"KernelMemory": 0,
            "UsernsMode": "host", "Mounts": [{"BindOptions": {"CreateMountpoint": false}}]}}))
        .unwrap();
        for body in [
            json!({"HostConfig": {"KernelMemory": 1}}),
            json!({"HostConfig": {"MaskedPaths": []}}),
            json!({"OnBuild": ["RUN true"]}),
        ] {
            assert!(check(&body).is_err(), "{body}");
        }
    }
}
