//! `volume rename`: a volume takes a new name, its data and its users with
//! it — allowed while none of its users runs (their mount records follow
//! the new name, so `start` mounts it and `inspect` shows it).

use crate::{Engine, Result};

impl Engine {
    pub fn volume_rename(&mut self, old: &str, new: &str) -> Result<()> {
        super::consistent::local(&self.volume_inspect(old)?, "rename")?;
        berth_volume::validate_name(new)?;
        // Settle each user's state (a container that died unseen is not
        // running) before the transaction reads it.
        for id in berth_volume::users(&self.store, old)? {
            self.container_lookup(&id)?;
        }
        let volumes = self.store.volumes_dir();
        let driver = self.volume_inspect(old)?.driver;
        let new_data =
            berth_volume::driver_for(&driver, &berth_mount::Linux)?.path(&volumes.join(new));
        let renamed = self.store.write(|tx| -> Result<()> {
            berth_container::volume_rename::follow_volume_rename(tx, old, new, &new_data)?;
            berth_volume::rename_in(tx, &volumes, old, new)?;
            // Docker has no volume rename; the event is shaped as its
            // container rename's: action `rename`, the new name as the
            // actor, the old one in `oldName`.
            berth_store::events::append(
                tx,
                &berth_store::events::NewEvent {
                    kind: berth_store::events::EventType::Volume,
                    action: "rename",
                    actor: new,
                    attributes: [
                        ("driver".to_string(), driver.clone()),
                        ("oldName".to_string(), old.to_string()),
                    ]
                    .into_iter()
                    .collect(),
                },
            )?;
            Ok(())
        });
        // Committed or not, the directory ends where the rows say and the
        // rename's mark goes (what the next command would do after a crash).
        berth_volume::recover_interrupted(&mut self.store)?;
        renamed
    }
}
