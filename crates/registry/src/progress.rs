//! What `pull` and `push` report while they work, as data: a status per
//! layer (Docker's words, `Pull complete`) and the events between layers
//! (`Pulling from ...`, `Digest: ...`). Front ends render them: the CLI as the
//! docker CLI prints them, the API as Docker's JSON progress messages.

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

    /// Bytes done and total, while downloading or pushing.
    pub fn bytes(&self) -> Option<(u64, u64)> {
        match *self {
            LayerStatus::Downloading { done, total } | LayerStatus::Pushing { done, total } => {
                Some((done, total))
            }
            _ => None,
        }
    }
}

/// One thing a pull or push reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// The reference had no tag; `tag` is used (`Using default tag: latest`).
    DefaultTag { tag: &'a str },
    /// A manifest was found (`latest: Pulling from library/busybox`): `tag`
    /// is the tag or digest pulled, `repository` the path in the registry.
    PullingFrom { tag: &'a str, repository: &'a str },
    /// A layer changed state; `id` is its short ID (12 hex digits of its
    /// blob digest).
    Layer { id: &'a str, status: LayerStatus },
    /// The digest a pulled tag resolved to (`Digest: sha256:...`).
    Digest { digest: &'a str },
    /// A pull finished (`Status: Downloaded newer image for busybox:latest`,
    /// or `Image is up to date for ...`); `reference` is familiar.
    Status {
        reference: &'a str,
        up_to_date: bool,
    },
    /// A push starts (`The push refers to repository [localhost:5000/app]`).
    PushRefersTo { repository: &'a str },
    /// A tag was pushed (`latest: digest: sha256:... size: 527`).
    Pushed {
        tag: &'a str,
        digest: &'a str,
        size: usize,
    },
}

/// Receives progress; shared by concurrent transfers, hence `&self`.
pub trait Progress: Send + Sync {
    fn event(&self, event: Event<'_>);
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
