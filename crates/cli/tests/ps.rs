//! `ps` filters as dockerd applies them: different keys ANDed, values of one
//! key ORed, `label` values all required; a `status` filter lists stopped
//! containers, an `exited` one alone does not. The same containers and
//! queries run in dockerd when it answers, and both must agree.

mod common;

use std::process::Command;

use common::Berth;

/// The containers of the scenario: (name suffix, labels, running).
const CONTAINERS: &[(&str, &[&str], bool)] = &[
    ("r1", &["a=1", "b=2"], true),
    ("r2", &["a=1"], true),
    ("ex0", &[], false),
];

/// (filters, -a, the name suffixes expected, sorted).
fn cases(prefix: &str) -> Vec<(Vec<String>, bool, Vec<&'static str>)> {
    let f = |s: &str| s.replace("PFX", prefix);
    vec![
        (vec![f("label=a=1"), f("label=b=2")], false, vec!["r1"]),
        (
            vec![f("name=PFXr1"), f("name=PFXr2")],
            false,
            vec!["r1", "r2"],
        ),
        (vec![f("name=PFXr"), f("label=b")], false, vec!["r1"]),
        (vec![f("name=^PFX")], false, vec!["r1", "r2"]),
        (vec![f("name=^/PFXe")], true, vec!["ex0"]),
        (vec![f("exited=0")], false, vec![]),
        (vec![f("exited=0")], true, vec!["ex0"]),
        (vec![f("status=exited")], false, vec!["ex0"]),
        (
            vec![f("status=running"), f("status=exited")],
            false,
            vec!["ex0", "r1", "r2"],
        ),
    ]
}

/// Runs `ps` with the case's filters plus one that keeps only this test's
/// containers; returns the name suffixes, sorted.
fn names(
    run: impl Fn(&[String]) -> String,
    prefix: &str,
    filters: &[String],
    all: bool,
) -> Vec<String> {
    let mut args = vec!["ps".to_string(), "--format".into(), "{{.Names}}".into()];
    if all {
        args.push("-a".into());
    }
    for f in filters {
        args.push("-f".into());
        args.push(f.clone());
    }
    args.push("-f".into());
    args.push(format!("label=test={prefix}"));
    let mut out: Vec<String> = run(&args)
        .lines()
        .map(|l| l.trim().trim_start_matches(prefix).to_string())
        .filter(|l| !l.is_empty())
        .collect();
    out.sort();
    out
}

fn docker(args: &[String]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn create_all(run: &dyn Fn(&[String]) -> Option<String>, prefix: &str) -> Option<()> {
    for (suffix, labels, running) in CONTAINERS {
        let mut args: Vec<String> =
            vec!["run".into(), "--name".into(), format!("{prefix}{suffix}")];
        args.extend(["-l".into(), format!("test={prefix}")]);
        for l in *labels {
            args.extend(["-l".into(), l.to_string()]);
        }
        if *running {
            args.extend(["-d".into(), "busybox".into(), "sleep".into(), "600".into()]);
        } else {
            args.extend(["busybox".into(), "true".into()]);
        }
        run(&args)?;
    }
    Some(())
}

#[test]
fn ps_filters_follow_dockerd() {
    let b = Berth::with_busybox();
    let prefix = format!("ps{}-", std::process::id());
    let berth = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Some(b.ok(&args))
    };
    create_all(&berth, &prefix).expect("berth run");
    let docker_ready = docker(&["image".into(), "inspect".into(), "busybox".into()]).is_some()
        && create_all(&docker, &prefix).is_some();
    for (filters, all, want) in cases(&prefix) {
        let got = names(|a| berth(a).unwrap(), &prefix, &filters, all);
        assert_eq!(got, want, "berth ps {filters:?} -a={all}");
        if docker_ready {
            let theirs = names(|a| docker(a).unwrap_or_default(), &prefix, &filters, all);
            assert_eq!(
                got, theirs,
                "berth and dockerd disagree on {filters:?} -a={all}"
            );
        }
    }
    if docker_ready {
        for (suffix, ..) in CONTAINERS {
            docker(&["rm".into(), "-f".into(), format!("{prefix}{suffix}")]);
        }
    }
    // Refusals, with dockerd's words.
    for (filter, message) in [
        ("status=foo", "Invalid filter 'status=foo'"),
        ("nosuch=1", "Invalid filter 'nosuch'"),
        ("exited=x", "strconv.Atoi: parsing \"x\": invalid syntax"),
    ] {
        let r = b.fails(&["ps", "-f", filter]);
        assert!(r.stderr.contains(message), "{filter}: {}", r.stderr);
    }
}

/// `berth ps -a | head -1`: output into a pipe nobody reads any more ends
/// the command as it ends Docker's CLI — killed by SIGPIPE, nothing on
/// stderr — whether the command prints through a table writer (`ps`,
/// `images`) or plain prints (`version`, `inspect`). dockerd's CLI is run
/// the same way when it answers.
#[test]
fn output_into_a_closed_pipe_ends_quietly_by_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    /// Runs `cmd` with its stdout the write end of a pipe whose read end
    /// is already closed: (signal, stderr).
    fn into_closed_pipe(mut cmd: Command) -> (Option<i32>, String) {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two descriptors into the array given.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the read end is ours and closed once.
        unsafe { libc::close(fds[0]) };
        // SAFETY: the write end is ours; Stdio takes it over.
        let write_end = unsafe { <Stdio as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
        let out = cmd
            .stdout(write_end)
            .stderr(Stdio::piped())
            .output()
            .expect("spawn");
        (
            out.status.signal(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    let b = Berth::with_busybox();
    b.ok(&["create", "--name", "pipe-c", "busybox", "true"]);
    for args in [
        &["ps", "-a"][..],
        &["images"],
        &["version"],
        &["inspect", "pipe-c"],
        &["volume", "ls"],
    ] {
        let (signal, stderr) = into_closed_pipe(b.command(args));
        assert_eq!(signal, Some(libc::SIGPIPE), "berth {args:?}: {stderr}");
        assert_eq!(stderr, "", "berth {args:?}");
    }
    // The same from a parent that left SIGPIPE blocked (some CI harnesses
    // do): a mask is inherited across exec, and a blocked SIGPIPE raised
    // would only be pending.
    let mut blocked = b.command(&["ps", "-a"]);
    // SAFETY: only sigemptyset/sigaddset/pthread_sigmask between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut blocked, || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    assert_eq!(
        into_closed_pipe(blocked),
        (Some(libc::SIGPIPE), String::new())
    );
    if common::dockerd_answers() {
        let mut docker = Command::new("docker");
        docker.args(["ps", "-a"]);
        assert_eq!(
            into_closed_pipe(docker),
            (Some(libc::SIGPIPE), String::new())
        );
    }
}
