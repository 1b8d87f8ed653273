//! A container's environment as Docker builds it. `Config.Env` is the
//! user's entries followed by the image's that the user did not set (no
//! default PATH: dockerd adds that only to the process). A process's
//! environment starts from Docker's daemon defaults (PATH, HOSTNAME, TERM
//! with a terminal, the link variables) and takes `Config.Env` on top,
//! replacing a default of the same key in place.

use berth_container::{ContainerError, Result};

/// Docker's default PATH, the process's when neither the image nor the
/// user sets one.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn key(entry: &str) -> &str {
    entry.split('=').next().unwrap_or_default()
}

/// `Config.Env` at create: the user's entries as given, then the image's
/// whose key the user did not set (dockerd's merge of the two).
pub(crate) fn config_env(image_env: &[String], user_env: &[String]) -> Result<Vec<String>> {
    if let Some(bad) = user_env.iter().find(|e| key(e).is_empty()) {
        return Err(ContainerError::InvalidArgument(format!(
            "invalid environment variable: {bad}"
        )));
    }
    let mut env = user_env.to_vec();
    env.extend(
        image_env
            .iter()
            .filter(|i| !user_env.iter().any(|u| key(u) == key(i)))
            .cloned(),
    );
    Ok(env)
}

/// A process's environment: Docker's defaults (`PATH`, `HOSTNAME`, `TERM`
/// when `tty`, then `links`), with `layers` applied in turn; an entry
/// replaces the one with its key in place or is appended, and a bare `KEY`
/// (no `=`) unsets it.
pub(crate) fn process_env(
    hostname: &str,
    tty: bool,
    links: Vec<String>,
    layers: &[&[String]],
) -> Vec<String> {
    let mut env = vec![DEFAULT_PATH.to_string(), format!("HOSTNAME={hostname}")];
    if tty {
        env.push("TERM=xterm".into());
    }
    env.extend(links);
    for entry in layers.iter().flat_map(|l| l.iter()) {
        let existing = env.iter().position(|e| key(e) == key(entry));
        match (entry.contains('='), existing) {
            (true, Some(i)) => env[i] = entry.clone(),
            (true, None) => env.push(entry.clone()),
            (false, Some(i)) => {
                env.remove(i);
            }
            (false, None) => {}
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn config_env_is_the_users_then_the_images_as_dockerd_merges_them() {
        // Seen on dockerd 20.10: image `ENV FOO=1 PATH=/imgbin:/bin`,
        // `-e A=b -e FOO=2` gives ["A=b","FOO=2","PATH=/imgbin:/bin"].
        let image = strings(&["FOO=1", "PATH=/imgbin:/bin"]);
        let env = config_env(&image, &strings(&["A=b", "FOO=2"])).unwrap();
        assert_eq!(env, ["A=b", "FOO=2", "PATH=/imgbin:/bin"]);
        assert_eq!(config_env(&image, &[]).unwrap(), image);
        // No default PATH in the record (dockerd: `null`).
        assert!(config_env(&[], &[]).unwrap().is_empty());
        assert!(config_env(&[], &strings(&["=x"])).is_err());
    }

    #[test]
    fn process_env_is_dockers_defaults_with_the_config_on_top() {
        let env = process_env("h", false, vec![], &[&strings(&["A=b", "C"])]);
        assert_eq!(env, [DEFAULT_PATH, "HOSTNAME=h", "A=b"]);
        let env = process_env(
            "h",
            true,
            strings(&["DB_NAME=/x/db"]),
            &[&strings(&["PATH=/bin", "HOSTNAME"]), &strings(&["Z=1"])],
        );
        assert_eq!(env, ["PATH=/bin", "TERM=xterm", "DB_NAME=/x/db", "Z=1"]);
    }
}
