//! Image operations, one file each: import, load, save, list, inspect,
//! history, tag, rm, prune, pull, push, registry login, build.

pub mod build;
mod build_prune;
mod filter;
mod history;
mod import;
mod inspect;
mod list;
mod load;
mod login;
mod prune;
mod pull;
mod push;
mod rm;
mod save;
mod search;
mod tag;

pub use berth_image::{
    DeleteItem, HistoryItem, ImageInspect, ImageSummary, ImportOptions, LoadedImage, Reference,
};
pub use berth_registry::{
    credentials::{default_config_path, server_key, DOCKER_HUB_KEY},
    Credentials, DockerConfig, Event as ProgressEvent, LayerStatus, Progress, PullOptions, Pulled,
    PushOptions, Pushed, SearchResult,
};
pub use build::{BuildError, BuildOptions, BuildOutcome, ContextSource};
pub use filter::{ImageFilter, ImagePruneFilter};
pub use prune::ImagePruneReport;
pub use pull::CredentialSource;
pub use search::SearchFilters;
