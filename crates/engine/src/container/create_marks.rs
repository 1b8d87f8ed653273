//! The anonymous volumes a `create` makes belong to it until the
//! container's row commits: before making each, the create marks it
//! unfinished in its own staging (`create-volume.NAME`) and drops the marks
//! once the row has committed (or it has removed them on a failure). A
//! create killed in between leaves its marks to the next command's sweep,
//! which turns them into flags; the next [`Engine::open`](crate::Engine::open)
//! removes each such volume unless a container uses it (the create's row
//! committed just before the kill). Nobody else can know an anonymous
//! volume's random name, so nothing else can have taken it meanwhile.
//! Named volumes a killed create made stay: a user named them.

use berth_store::{Store, StoreError, Unfinished};
use berth_volume::VolumeError;

/// The kind of unfinished mark of a create's anonymous volume.
const MARK: &str = "create-volume.";

/// Marks anonymous volume `name` as owned by this create until the mark is
/// dropped.
pub(super) fn mark(store: &Store, name: &str) -> Result<Unfinished, StoreError> {
    store.mark_unfinished(&format!("{MARK}{name}"))
}

/// Removes the anonymous volumes of creates that died before their rows
/// committed (see the module's doc). Best effort: a volume that cannot be
/// removed now keeps its flag for the next command.
pub(crate) fn remove_dead_creates_volumes(store: &mut Store) {
    for name in store.unfinished_with_prefix(MARK) {
        match berth_volume::remove(store, &name, true) {
            // Removed, already gone, or the create committed: a container
            // of its own uses it.
            Ok(()) | Err(VolumeError::InUse { .. }) => store.finished(&format!("{MARK}{name}")),
            Err(_) => {}
        }
    }
}
