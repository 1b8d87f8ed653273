//! `pause` and `unpause`.

use berth_container::model::{Container, Status};
use berth_container::state::{self, Transition};
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::reconcile::lookup;
use super::runtime::runtime_of;

pub fn pause(store: &mut Store, reference: &str) -> Result<Container> {
    let c = lookup(store, reference)?;
    match c.state.status {
        Status::Running => {}
        Status::Paused => {
            return Err(ContainerError::Conflict(format!(
                "Container {} is already paused",
                c.id
            )))
        }
        _ => {
            return Err(ContainerError::Conflict(format!(
                "Container {} is not running",
                c.id
            )))
        }
    }
    runtime_of(&c)?.pause(&c.id)?;
    store.write(|tx| state::transition(tx, &c.id, Transition::Pause))?;
    Ok(c)
}

pub fn unpause(store: &mut Store, reference: &str) -> Result<Container> {
    let c = lookup(store, reference)?;
    if c.state.status != Status::Paused {
        return Err(ContainerError::Conflict(format!(
            "Container {} is not paused",
            c.id
        )));
    }
    runtime_of(&c)?.resume(&c.id)?;
    store.write(|tx| state::transition(tx, &c.id, Transition::Unpause))?;
    Ok(c)
}
