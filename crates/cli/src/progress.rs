//! Progress of a long byte stream (`load`, `save`, `import`, `export`, `cp`)
//! on a terminal: bytes, rate and, when the size is known, a bar and the
//! time left. It is drawn on stderr, only when stderr is a terminal and the
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
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    bar.set_style(style(total.is_some()));
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// A bar's look: with a known total, a bar and the time left.
fn style(sized: bool) -> ProgressStyle {
    let template = if sized {
        "{prefix} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
    } else {
        "{prefix} {spinner} {bytes} {bytes_per_sec}"
    };
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A `cp`'s progress (the engine reports the tar stream's estimated size,
/// then its bytes), drawn as [`bytes`] draws; its end is the docker CLI's
/// line (`Successfully copied 4.1MB to DEST`), on a terminal only.
pub struct Copy(ProgressBar);

impl Copy {
    /// `label` is the docker CLI's header (`Copying to container`).
    pub fn new(label: &str, quiet: bool) -> Copy {
        Copy(bytes(label, None, quiet))
    }

    /// Leaves the bar as it ended and says where the bytes went.
    pub fn finish(self, dest: &str) {
        if self.0.is_hidden() {
            return;
        }
        let copied = self.0.position();
        // The estimate gives way to what was sent.
        self.0.set_length(copied);
        self.0.finish();
        eprintln!(
            "Successfully copied {} to {dest}",
            crate::format::human_size_precise(copied)
        );
    }
}

impl berth_engine::container::cp::CopyProgress for Copy {
    fn total(&self, bytes: u64) {
        self.0.set_length(bytes);
        self.0.set_style(style(true));
    }

    fn copied(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

/// The size of the file at `path`, for a bar's total.
pub fn file_size(path: impl AsRef<std::path::Path>) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}
