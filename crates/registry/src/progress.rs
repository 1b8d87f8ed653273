//! What `pull` and `push` tell the user while they work, in the docker CLI's
//! words: one status per layer (`a3ed95caeb02: Pull complete`) and free lines
//! (`Digest: ...`). On a terminal each layer gets a live line with a progress
//! bar (indicatif); otherwise each status change is printed once, as the
//! docker CLI does when its output is not a terminal.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One layer's state, as Docker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerStatus {
    AlreadyExists,
    PullingFsLayer,
    Waiting,
    Downloading { done: u64, total: u64 },
    VerifyingChecksum,
    DownloadComplete,
    Extracting,
    PullComplete,
    Preparing,
    Pushing { done: u64, total: u64 },
    Pushed,
    LayerAlreadyExists,
    Mounted,
}

impl LayerStatus {
    pub fn text(&self) -> &'static str {
        match self {
            LayerStatus::AlreadyExists => "Already exists",
            LayerStatus::PullingFsLayer => "Pulling fs layer",
            LayerStatus::Waiting => "Waiting",
            LayerStatus::Downloading { .. } => "Downloading",
            LayerStatus::VerifyingChecksum => "Verifying Checksum",
            LayerStatus::DownloadComplete => "Download complete",
            LayerStatus::Extracting => "Extracting",
            LayerStatus::PullComplete => "Pull complete",
            LayerStatus::Preparing => "Preparing",
            LayerStatus::Pushing { .. } => "Pushing",
            LayerStatus::Pushed => "Pushed",
            LayerStatus::LayerAlreadyExists => "Layer already exists",
            LayerStatus::Mounted => "Mounted from another repository",
        }
    }

    fn bytes(&self) -> Option<(u64, u64)> {
        match *self {
            LayerStatus::Downloading { done, total } | LayerStatus::Pushing { done, total } => {
                Some((done, total))
            }
            _ => None,
        }
    }
}

/// Receives progress; shared by concurrent transfers, hence `&self`.
pub trait Progress: Send + Sync {
    /// `id` is the layer's short ID (12 hex digits of its blob digest).
    fn layer(&self, id: &str, status: LayerStatus);
    /// A line of its own (`latest: Pulling from library/busybox`).
    fn line(&self, text: &str);
}

/// 12 hex digits of a digest, Docker's short layer ID.
pub fn short_id(digest: &str) -> String {
    digest
        .split_once(':')
        .map_or(digest, |(_, hex)| hex)
        .chars()
        .take(12)
        .collect()
}

/// Plain lines: each layer status once, progress updates not at all.
pub struct PlainProgress<W: Write + Send> {
    out: Mutex<W>,
    last: Mutex<HashMap<String, &'static str>>,
}

impl<W: Write + Send> PlainProgress<W> {
    pub fn new(out: W) -> Self {
        PlainProgress {
            out: Mutex::new(out),
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl<W: Write + Send> Progress for PlainProgress<W> {
    fn layer(&self, id: &str, status: LayerStatus) {
        // The docker CLI drops progress messages when not on a terminal.
        if status.bytes().is_some() {
            return;
        }
        let text = status.text();
        if let Ok(mut last) = self.last.lock() {
            if last.get(id) == Some(&text) {
                return;
            }
            last.insert(id.to_string(), text);
        }
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{id}: {text}");
            let _ = out.flush();
        }
    }

    fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Live bars on a terminal (stdout), one line per layer.
pub struct TerminalProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl TerminalProgress {
    pub fn new() -> Self {
        TerminalProgress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn status_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix}: {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
    }

    fn bar_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix}: {msg:<11} [{bar:50}] {bytes:>9}/{total_bytes}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

impl Progress for TerminalProgress {
    fn layer(&self, id: &str, status: LayerStatus) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(id.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(Self::status_style());
            bar.set_prefix(id.to_string());
            bar
        });
        bar.set_message(status.text());
        match status.bytes() {
            Some((done, total)) => {
                bar.set_style(Self::bar_style());
                bar.set_length(total.max(done));
                bar.set_position(done);
            }
            None => bar.set_style(Self::status_style()),
        }
        if matches!(
            status,
            LayerStatus::AlreadyExists
                | LayerStatus::PullComplete
                | LayerStatus::Pushed
                | LayerStatus::LayerAlreadyExists
                | LayerStatus::Mounted
        ) {
            bar.tick();
        }
    }

    fn line(&self, text: &str) {
        // Lines of their own start a new set of layer lines below them.
        if let Ok(mut bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish();
            }
            bars.clear();
        }
        let _ = self.multi.println(text);
        if self.multi.is_hidden() {
            println!("{text}");
        }
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}
