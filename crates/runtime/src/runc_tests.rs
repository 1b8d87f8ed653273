//! Unit tests of `runc.rs`: the runtime's error text and its classification,
//! ids.

use super::*;
use berth_error::{ErrorKind, HasKind};

#[test]
fn error_message_prefers_json_errors() {
    let text = "{\"level\":\"warning\",\"msg\":\"meh\"}\n\
                {\"level\":\"error\",\"msg\":\"container does not exist \",\"time\":\"x\"}\n";
    assert_eq!(error_message(text).unwrap(), "container does not exist");
    assert_eq!(error_message("plain failure\n\n").unwrap(), "plain failure");
    assert_eq!(error_message(""), None);
}

#[test]
fn failures_are_classified_from_the_runtimes_words() {
    let kind = |action, message: &str, command| {
        failure("runc", action, message.to_string(), command).kind()
    };
    // runc, crun and youki's ways of saying the command is missing...
    let runc_missing = "runc create failed: unable to start container process: \
                        exec: \"nope\": executable file not found in $PATH";
    assert_eq!(
        kind("create", runc_missing, Some("nope")),
        ErrorKind::CommandNotFound
    );
    assert_eq!(
        kind(
            "create",
            "executable file `nope` not found in $PATH: No such file or directory",
            Some("nope")
        ),
        ErrorKind::CommandNotFound
    );
    let exec_missing = "exec failed: unable to start container process: \
                        exec: \"/x\": stat /x: no such file or directory";
    assert_eq!(
        kind("exec", exec_missing, Some("/x")),
        ErrorKind::CommandNotFound
    );
    // ...only when they name the command (dockerd's rule): a missing
    // mount destination is the runtime's failure...
    let crun_mount = "openat2 `up`: No such file or directory";
    assert_eq!(kind("create", crun_mount, Some("sh")), ErrorKind::Internal);
    assert_eq!(kind("create", runc_missing, None), ErrorKind::Internal);
    assert_eq!(
        kind("create", runc_missing, Some("other")),
        ErrorKind::Internal
    );
    // ...that it cannot be run...
    assert_eq!(
        kind("start", "exec: \"/etc/passwd\": permission denied", None),
        ErrorKind::CannotExecute
    );
    assert_eq!(
        kind("exec", "exec /bin/x: exec format error", Some("/bin/x")),
        ErrorKind::CannotExecute
    );
    // ...and that the container is unknown.
    assert_eq!(
        kind("kill", "container does not exist", None),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            "state",
            "stat /run/x/state.json: no such file or directory",
            None
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind("start", "container does not exist", None),
        ErrorKind::NotFound
    );
    // Anything else is the runtime's own failure.
    assert_eq!(
        kind("pause", "cgroup freeze failed", None),
        ErrorKind::Internal
    );
    assert_eq!(kind("kill", "permission denied", None), ErrorKind::Internal);
    // The runtime's own prefix is kept once.
    let e = failure("runc", "create", runc_missing.to_string(), Some("nope"));
    assert!(
        e.to_string().starts_with("runc create failed: unable"),
        "{e}"
    );
    assert!(
        matches!(e, RuntimeError::CommandNotFound { ref message, .. } if message.starts_with("unable"))
    );
}

#[test]
fn ids_that_look_like_flags_are_refused() {
    for bad in ["", "-h", "--all", "a/b", "../x", "a b"] {
        assert!(check_id(bad).is_err(), "{bad}");
    }
    check_id("0123abcdef").unwrap();
    check_id("berth-test_1.2").unwrap();
}

#[test]
fn unknown_runtime_names_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let err = RuncCli::new("docker", root.path()).unwrap_err();
    assert!(
        err.to_string().contains("unknown OCI runtime \"docker\""),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let err = RuncCli::new("/nonexistent/runc", root.path()).unwrap_err();
    assert!(err.to_string().contains("not an executable file"), "{err}");
}
