//! One `berth serve` per state root, as one dockerd per data root: the
//! server holds an flock on `ROOT/serve.pid` (with its pid in it) while it
//! runs, and a second server on the same root is refused naming that pid.
//! CLI commands never take it: they work alongside the server, as every
//! berth process coordinates through the database and its locks.

use std::io::Write;

use berth_store::{FileLock, LockError};

use crate::{Engine, Error, ErrorKind, Result};

/// The file a running server holds locked.
const SERVER_LOCK: &str = "serve.pid";

/// Held by the running server; the root is free again once dropped (or
/// once the server dies, however it dies).
#[derive(Debug)]
pub struct ServerClaim {
    _lock: FileLock,
}

impl Engine {
    /// Claims the root for this process's server, or refuses because
    /// another server holds it.
    pub fn claim_server(&self) -> Result<ServerClaim> {
        let path = self.config.root.join(SERVER_LOCK);
        match FileLock::try_acquire(&path) {
            Ok(lock) => {
                let mut file = lock.file();
                file.set_len(0)
                    .and_then(|()| writeln!(file, "{}", std::process::id()))
                    .map_err(|source| LockError::Io {
                        path: path.clone(),
                        source,
                    })?;
                Ok(ServerClaim { _lock: lock })
            }
            Err(LockError::WouldBlock { .. }) => {
                // The holder writes its pid right after taking the lock.
                let mut pid = String::new();
                for _ in 0..20 {
                    pid = std::fs::read_to_string(&path).unwrap_or_default();
                    if !pid.trim().is_empty() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                let pid = match pid.trim() {
                    "" => "unknown".to_string(),
                    p => p.to_string(),
                };
                Err(Error::refused(
                    ErrorKind::Conflict,
                    format!(
                        "the state root {} is already served by berth serve (pid {pid}): one server per root; the berth CLI works alongside it",
                        self.config.root.display()
                    ),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}
