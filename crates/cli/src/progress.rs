//! Progress of a long byte stream (`load`, `save`, `import`, `export`) on a
//! terminal: bytes, rate and, when the size is known, a bar and the time
//! left. It is drawn on stderr, only when stderr is a terminal and the
//! command was not asked to be quiet, so pipes and scripts see nothing and
//! stdout (an archive, IDs) is never touched. The last state stays on the
//! screen, as Docker's bars do.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar for `label` over `total` bytes (a counter when unknown); hidden
/// when `quiet` or when stderr is not a terminal.
pub fn bytes(label: &str, total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{prefix} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        ),
        None => (
            ProgressBar::no_length(),
            "{prefix} {spinner} {bytes} {bytes_per_sec}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// The size of the file at `path`, for a bar's total.
pub fn file_size(path: impl AsRef<std::path::Path>) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}
