//! A tty exec's output arrives whole, every time: `exec -t` on a terminal
//! runs a short `printf` many times and each run must show its text and exit
//! 0 (crun's own relay of an exec's terminal lost it about 1 run in 12).

mod common;

use common::terminal::OnTerminal;
use common::Berth;

const RUNS: usize = 120;

#[test]
fn exec_tty_output_is_never_lost() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    let mut lost = Vec::new();
    for i in 0..RUNS {
        let script = format!("printf out-{i}-end");
        let mut t = OnTerminal::spawn(b.command(&["exec", "-t", &id, "sh", "-c", &script]));
        let status = t.status();
        let seen = t.seen();
        if status != 0 || !seen.contains(&format!("out-{i}-end")) {
            lost.push((i, status, seen));
        }
    }
    b.ok(&["rm", "-f", &id]);
    assert!(
        lost.is_empty(),
        "{} of {RUNS} runs lost their output: {lost:?}",
        lost.len()
    );
}
