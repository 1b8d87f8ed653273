//! Long byte streams (`save`, `load`, `volume export/import`, `cp`) show
//! their progress on a terminal (stderr) and nothing in pipes or with `-q`;
//! stdout is never touched.

mod common;

use std::process::{Command, Stdio};

use common::Berth;

/// Runs `berth ARGS` under a pseudo-terminal (`script`), returning what the
/// terminal showed.
fn on_a_terminal(b: &Berth, args: &str) -> String {
    let cmd = format!(
        "{} --root {} {args}",
        common::bin().display(),
        b.path().display()
    );
    let out = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .envs(b.env())
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args}: {text}");
    text
}

#[test]
fn load_and_save_show_progress_on_a_terminal_only() {
    let b = Berth::with_busybox();
    let archive = b.path().join("busybox-saved.tar");
    let shown = on_a_terminal(&b, &format!("save -o {} busybox", archive.display()));
    assert!(shown.contains("Saving"), "{shown}");
    let size = std::fs::metadata(&archive).unwrap().len();
    assert!(size > 0);

    let other = Berth::new();
    let shown = on_a_terminal(&other, &format!("load -i {}", archive.display()));
    // The bar's last state stays: the whole archive read, its size shown.
    let line = shown
        .lines()
        .rev()
        .find(|l| l.contains("Loading ["))
        .unwrap_or_else(|| panic!("no progress on the terminal:\n{shown}"));
    assert!(line.contains("iB/"), "{line}");
    assert!(shown.contains("Loaded image: busybox:latest"), "{shown}");

    // `-q` hides the progress, not the result (Docker's `load -q`).
    let quiet = Berth::new();
    let shown = on_a_terminal(&quiet, &format!("load -q -i {}", archive.display()));
    assert!(!shown.contains("Loading"), "{shown}");
    assert!(shown.contains("Loaded image: busybox:latest"), "{shown}");

    // In pipes: nothing but the result.
    let piped = Berth::new();
    let r = piped.run(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout.trim(), "Loaded image: busybox:latest");
    let r = b.run(&[
        "save",
        "-o",
        b.path().join("again.tar").to_str().unwrap(),
        "busybox",
    ]);
    assert_eq!((r.code, r.stderr.as_str(), r.stdout.as_str()), (0, "", ""));
}

#[test]
fn volume_export_and_import_show_progress_on_a_terminal_only() {
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "data"]);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/d",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/urandom of=/d/blob bs=1k count=512 2>/dev/null",
    ]);
    let backup = b.path().join("data.tar");
    let shown = on_a_terminal(&b, &format!("volume export -o {} data", backup.display()));
    assert!(shown.contains("Exporting"), "{shown}");
    let shown = on_a_terminal(&b, &format!("volume import copy {}", backup.display()));
    let line = shown
        .lines()
        .rev()
        .find(|l| l.contains("Importing ["))
        .unwrap_or_else(|| panic!("no progress on the terminal:\n{shown}"));
    assert!(line.contains("iB/"), "{line}");
    // In pipes: nothing on stderr.
    let r = b.run(&["volume", "import", "again", backup.to_str().unwrap()]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stderr);
}

#[test]
fn cp_shows_progress_both_ways_on_a_terminal_only() {
    let b = Berth::with_busybox();
    b.ok(&["create", "--name", "box", "busybox", "true"]);
    let tree = b.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    for (i, size) in [3 << 20, 1 << 20, 12345].into_iter().enumerate() {
        std::fs::write(tree.join(format!("sub/f{i}")), vec![i as u8; size]).unwrap();
    }

    // Into the container: the bar (its total known beforehand), then the
    // docker CLI's last line.
    let shown = on_a_terminal(&b, &format!("cp {} box:/copied", tree.display()));
    let bar = shown
        .lines()
        .rev()
        .find(|l| l.contains("Copying to container ["))
        .unwrap_or_else(|| panic!("no progress on the terminal:\n{shown}"));
    assert!(bar.contains("MiB/4.") && bar.contains("MiB"), "{bar}");
    assert!(
        shown.contains("Successfully copied 4.2") && shown.contains("MB to box:/copied"),
        "{shown}"
    );

    // Out of it.
    let out = b.path().join("out");
    let shown = on_a_terminal(&b, &format!("cp box:/copied {}", out.display()));
    assert!(shown.contains("Copying from container ["), "{shown}");
    assert!(
        shown.contains(&format!("MB to {}", out.display())),
        "{shown}"
    );
    assert_eq!(
        std::fs::metadata(out.join("sub/f0")).unwrap().len(),
        3 << 20
    );

    // `-q` on a terminal, and pipes: nothing.
    let quiet = b.path().join("quiet");
    let shown = on_a_terminal(&b, &format!("cp -q box:/copied {}", quiet.display()));
    assert!(
        !shown.contains("Copying") && !shown.contains("Successfully"),
        "{shown}"
    );
    assert!(quiet.join("sub/f1").exists());
    let r = b.run(&["cp", tree.to_str().unwrap(), "box:/again"]);
    assert_eq!((r.code, r.stderr.as_str(), r.stdout.as_str()), (0, "", ""));
    let piped = b.path().join("piped");
    let r = b.run(&["cp", "box:/again", piped.to_str().unwrap()]);
    assert_eq!((r.code, r.stderr.as_str(), r.stdout.as_str()), (0, "", ""));
    assert_eq!(
        std::fs::metadata(piped.join("sub/f2")).unwrap().len(),
        12345
    );
}
