//! Where `berth` keeps its state, by who runs it: root's defaults, or an
//! ordinary user's own (rootless berth, `berth_engine::rootless`), and the
//! entry into a rootless berth's namespace before any command runs.

use std::path::PathBuf;

use berth_engine::rootless;

/// The state root, run directory and `berth serve`'s default socket of this
/// invocation.
pub struct Locations {
    pub root: PathBuf,
    pub run_dir: PathBuf,
    /// A rootless berth's default `berth serve` socket; `None` for root,
    /// whose default is the API crate's.
    pub socket: Option<PathBuf>,
}

/// `--root`/`--run-dir` (or their variables) where given, else the
/// defaults: `/var/lib/berth` and `/run/berth` for root, the user's XDG
/// directories for anyone else.
pub fn locations(root: Option<PathBuf>, run_dir: Option<PathBuf>) -> anyhow::Result<Locations> {
    if !rootless::active() {
        return Ok(Locations {
            root: root.unwrap_or_else(|| PathBuf::from(berth_engine::Config::DEFAULT_ROOT)),
            run_dir: run_dir
                .unwrap_or_else(|| PathBuf::from(berth_engine::Config::DEFAULT_RUN_DIR)),
            socket: None,
        });
    }
    let paths = rootless::Paths::of_user()?;
    Ok(Locations {
        root: root.unwrap_or(paths.root),
        run_dir: run_dir.unwrap_or(paths.run_dir),
        socket: Some(paths.socket),
    })
}

/// Enters the user's rootless namespace (nothing for root); must run before
/// the command makes any thread.
pub fn enter(locations: &Locations) -> anyhow::Result<()> {
    Ok(rootless::enter(&locations.run_dir)?)
}
