//! The one writer of a container's status.
//!
//! [`transition`] is the only code that changes the `status` column. Each
//! [`Transition`] names the status it leads to and the statuses it may start
//! from (as youki's `can_start`/`can_kill`); it is checked against the status
//! read inside the caller's write transaction, so two processes racing on one
//! container cannot both win. It writes the columns that go with the change
//! and appends its events (Docker's container actions, with the container's
//! `name`, `image` and labels as attributes) in that same transaction.
//!
//! The legal changes, derived from what berth does:
//!
//! | transition      | from                                          | to         | events      |
//! |-----------------|-----------------------------------------------|------------|-------------|
//! | `Start`         | created, exited, restarting                   | running    | start       |
//! | `Die`           | created, running, paused, restarting, exited  | exited     | (oom,) die  |
//! | `DieToRestart`  | running, paused, restarting                   | restarting | (oom,) die  |
//! | `CancelRestart` | restarting                                    | exited     | —           |
//! | `Pause`         | running                                       | paused     | pause       |
//! | `Unpause`       | paused                                        | running    | unpause     |
//! | `Remove`        | created, exited, dead, removing               | removing   | —           |
//!
//! A container with an active healthcheck starts each run `starting` (its
//! earlier results kept) and is `unhealthy` once it stops, as dockerd shows
//! it; [`record_health`] writes a check's result and appends
//! `health_status: STATUS` when the status changes.
//!
//! `Die` from created or exited is a start that failed before the process
//! ran; `CancelRestart` is a stop during the restart back-off (its `die` is
//! already recorded); `Remove` from removing finishes an interrupted `rm`,
//! whose `destroy` event goes with the row's deletion ([`record`]).

use std::collections::BTreeMap;

use berth_store::events::{self, EventType, NewEvent};
use berth_store::rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;

use crate::attributes::event_attributes;
use crate::health::{Health, HealthConfig, HealthResult, HealthStatus};
use crate::model::{parse_health, parse_status, Status};
use crate::{ContainerError, Result};

/// How a run of a container ended.
#[derive(Debug, Clone, Copy)]
pub struct Exit<'a> {
    pub code: i32,
    pub oom_killed: bool,
    /// Why it could not start ("" when it ran).
    pub error: &'a str,
}

/// A change of a container's status, with the state that goes with it.
#[derive(Debug, Clone, Copy)]
pub enum Transition<'a> {
    /// Its monitor started the container's process.
    Start {
        pid: i32,
        monitor_pid: i32,
    },
    /// The process ended, or could not be started.
    Die(Exit<'a>),
    /// The process ended and the restart policy starts it again after a
    /// back-off (the restart count goes up).
    DieToRestart(Exit<'a>),
    /// The user stopped a container waiting to be restarted.
    CancelRestart,
    Pause,
    Unpause,
    /// `rm` begins.
    Remove,
}

impl Transition<'_> {
    /// The status it leads to.
    pub fn to(&self) -> Status {
        match self {
            Transition::Start { .. } | Transition::Unpause => Status::Running,
            Transition::Die(_) | Transition::CancelRestart => Status::Exited,
            Transition::DieToRestart(_) => Status::Restarting,
            Transition::Pause => Status::Paused,
            Transition::Remove => Status::Removing,
        }
    }

    /// The statuses it may start from.
    pub fn allowed_from(&self) -> &'static [Status] {
        use Status::*;
        match self {
            Transition::Start { .. } => &[Created, Exited, Restarting],
            Transition::Die(_) => &[Created, Running, Paused, Restarting, Exited],
            Transition::DieToRestart(_) => &[Running, Paused, Restarting],
            Transition::CancelRestart => &[Restarting],
            Transition::Pause => &[Running],
            Transition::Unpause => &[Paused],
            Transition::Remove => &[Created, Exited, Dead, Removing],
        }
    }

    /// Docker's actions for it, with their own attributes.
    fn events(&self) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
        match self {
            Transition::Start { .. } => vec![("start", vec![])],
            Transition::Die(exit) | Transition::DieToRestart(exit) => {
                let die = ("die", vec![("exitCode", exit.code.to_string())]);
                if exit.oom_killed {
                    vec![("oom", vec![]), die]
                } else {
                    vec![die]
                }
            }
            Transition::Pause => vec![("pause", vec![])],
            Transition::Unpause => vec![("unpause", vec![])],
            Transition::CancelRestart | Transition::Remove => vec![],
        }
    }
}

/// What events say about their container, and the state the writer reads.
struct Actor {
    status: String,
    attributes: BTreeMap<String, String>,
    healthcheck: Option<HealthConfig>,
    health: Option<Health>,
    started_at: String,
}

/// The part of the stored spec the writer needs.
#[derive(Deserialize)]
struct SpecView {
    #[serde(rename = "Labels", default)]
    labels: BTreeMap<String, String>,
    #[serde(rename = "Healthcheck", default)]
    healthcheck: Option<HealthConfig>,
}

fn actor(tx: &Connection, id: &str) -> Result<Actor> {
    let row: Option<(String, String, String, String, String, String)> = tx
        .query_row(
            "SELECT status, name, image_ref, config, health, started_at FROM containers WHERE id=?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((status, name, image, config, health, started_at)) = row else {
        return Err(ContainerError::NotFound(id.to_string()));
    };
    let spec: SpecView = serde_json::from_str(&config).map_err(|e| ContainerError::Corrupt {
        id: id.to_string(),
        reason: e.to_string(),
    })?;
    let attributes = event_attributes(&spec.labels, &image, &name);
    Ok(Actor {
        status,
        attributes,
        healthcheck: spec.healthcheck,
        health: parse_health(id, &health)?,
        started_at,
    })
}

fn write_health(tx: &Connection, id: &str, health: &Health) -> Result<()> {
    let json = serde_json::to_string(health).map_err(|e| ContainerError::Corrupt {
        id: id.to_string(),
        reason: e.to_string(),
    })?;
    tx.execute(
        "UPDATE containers SET health=?2 WHERE id=?1",
        params![id, json],
    )?;
    Ok(())
}

/// The health a transition leaves: a start with an active healthcheck
/// begins `starting`; a stop leaves a container with health `unhealthy`.
fn health_after(t: &Transition, actor: &Actor) -> Option<Health> {
    match t {
        Transition::Start { .. } if actor.healthcheck.as_ref().is_some_and(|h| h.is_active()) => {
            Some(Health::starting(actor.health.clone()))
        }
        Transition::Die(_) | Transition::DieToRestart(_) => actor.health.clone().map(|h| Health {
            status: HealthStatus::Unhealthy,
            ..h
        }),
        _ => None,
    }
}

fn append(
    tx: &Connection,
    id: &str,
    attributes: &BTreeMap<String, String>,
    action: &str,
    extra: Vec<(&'static str, String)>,
) -> Result<()> {
    let mut attributes = attributes.clone();
    attributes.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    events::append(
        tx,
        &NewEvent {
            kind: EventType::Container,
            action,
            actor: id,
            attributes,
        },
    )?;
    Ok(())
}

/// Changes container `id`'s status as `t` says, in the caller's write
/// transaction `tx`, and appends its events there. A change its current
/// status does not allow is refused with [`ContainerError::InvalidTransition`]
/// and changes nothing.
pub fn transition(tx: &Connection, id: &str, t: Transition) -> Result<()> {
    let actor = actor(tx, id)?;
    let from = parse_status(id, &actor.status)?;
    let to = t.to();
    if !t.allowed_from().contains(&from) {
        return Err(ContainerError::InvalidTransition {
            id: id.to_string(),
            from,
            to,
        });
    }
    let finished = berth_store::now_rfc3339();
    match t {
        Transition::Start { pid, monitor_pid } => tx.execute(
            "UPDATE containers SET status=?2, pid=?3, monitor_pid=?4, started_at=?5, \
             exit_code=0, oom_killed=0, error='', stopped_by_user=0 WHERE id=?1",
            params![
                id,
                to.as_str(),
                pid,
                monitor_pid,
                berth_store::now_rfc3339()
            ],
        )?,
        Transition::Die(exit) | Transition::DieToRestart(exit) => tx.execute(
            "UPDATE containers SET status=?2, pid=0, exit_code=?3, oom_killed=?4, error=?5, \
             finished_at=?6, restart_count=restart_count+?7 WHERE id=?1",
            params![
                id,
                to.as_str(),
                exit.code,
                exit.oom_killed,
                exit.error,
                finished,
                matches!(t, Transition::DieToRestart(_)) as i64
            ],
        )?,
        Transition::CancelRestart
        | Transition::Pause
        | Transition::Unpause
        | Transition::Remove => tx.execute(
            "UPDATE containers SET status=?2 WHERE id=?1",
            params![id, to.as_str()],
        )?,
    };
    if let Some(health) = health_after(&t, &actor) {
        write_health(tx, id, &health)?;
    }
    for (action, extra) in t.events() {
        append(tx, id, &actor.attributes, action, extra)?;
    }
    Ok(())
}

/// Records a healthcheck's result for the running container `id`, in `tx`,
/// as dockerd's `handleProbeResult`: its failures count only once the
/// container is out of its start period or has been healthy; the status
/// follows the container's retries; `health_status: STATUS` is appended
/// when the status changes. Returns the new status, or `None` when the
/// container no longer runs (the result of a check that outlived it is
/// dropped).
pub fn record_health(
    tx: &Connection,
    id: &str,
    result: HealthResult,
) -> Result<Option<HealthStatus>> {
    let actor = actor(tx, id)?;
    let running = parse_status(id, &actor.status)? == Status::Running;
    let (Some(config), true) = (actor.healthcheck.as_ref(), running) else {
        return Ok(None);
    };
    let since_start = |time: &str| {
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
        parse(time)
            .zip(parse(&actor.started_at))
            .map(|(t, s)| (t - s).to_std().unwrap_or_default())
            .unwrap_or_default()
    };
    let in_start_period = since_start(&result.start) < config.start_period();
    let mut health = actor
        .health
        .clone()
        .unwrap_or_else(|| Health::starting(None));
    let changed = health.record(result, config.retries(), in_start_period);
    write_health(tx, id, &health)?;
    if changed {
        let action = format!("health_status: {}", health.status.as_str());
        append(tx, id, &actor.attributes, &action, vec![])?;
    }
    Ok(Some(health.status))
}

/// Appends a container event that changes no status (`kill` with its
/// `signal`, `stop`, `destroy` before the row goes), in `tx`.
pub fn record(
    tx: &Connection,
    id: &str,
    action: &str,
    extra: Vec<(&'static str, String)>,
) -> Result<()> {
    let actor = actor(tx, id)?;
    append(tx, id, &actor.attributes, action, extra)
}

/// Records a failure of the container's monitor after the container's start
/// was reported (a teardown step, `--rm`'s removal): `State.Error` shows it
/// until the next start, and a `monitor_error` event (a berth action: Docker
/// only logs such failures in its daemon log) carries it as `error`.
pub fn record_monitor_error(tx: &Connection, id: &str, error: &str) -> Result<()> {
    tx.execute(
        "UPDATE containers SET error=?2 WHERE id=?1",
        params![id, error],
    )?;
    record(tx, id, "monitor_error", vec![("error", error.to_string())])
}

/// Marks the container as stopped by the user (not restarted by its policy)
/// until its next start.
pub fn set_stopped_by_user(tx: &Connection, id: &str) -> Result<()> {
    tx.execute("UPDATE containers SET stopped_by_user=1 WHERE id=?1", [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{self, Container, ContainerSpec, State};
    use berth_error::{ErrorKind, HasKind};
    use berth_store::Store;

    fn store_with_container() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let c = Container {
            id: berth_store::new_id(),
            name: "web".into(),
            image_id: "sha256:0".into(),
            image_ref: "busybox".into(),
            created_at: berth_store::now_rfc3339(),
            spec: ContainerSpec {
                labels: [("tier".to_string(), "front".to_string())].into(),
                ..Default::default()
            },
            state: State::created(),
        };
        let volumes = store.volumes_dir();
        store
            .write(|tx| model::insert(tx, &c, &[], &volumes))
            .unwrap();
        let id = c.id;
        (dir, store, id)
    }

    fn apply(store: &mut Store, id: &str, t: Transition) -> Result<Vec<events::Event>> {
        let before = events::last_seq(store.db())?;
        store.write(|tx| transition(tx, id, t))?;
        Ok(events::after(store.db(), before, 100)?)
    }

    fn actions(events: &[events::Event]) -> Vec<&str> {
        events.iter().map(|e| e.action.as_str()).collect()
    }

    const EXIT_0: Exit = Exit {
        code: 0,
        oom_killed: false,
        error: "",
    };

    #[test]
    fn each_transition_appends_exactly_its_events() {
        let (_dir, mut store, id) = store_with_container();
        let start = Transition::Start {
            pid: 42,
            monitor_pid: 41,
        };
        let events = apply(&mut store, &id, start).unwrap();
        assert_eq!(actions(&events), ["start"]);
        let e = &events[0];
        assert_eq!(e.kind, EventType::Container);
        assert_eq!(e.actor, id);
        assert_eq!(e.attributes["name"], "web");
        assert_eq!(e.attributes["image"], "busybox");
        assert_eq!(e.attributes["tier"], "front");
        let c = model::find(&store, &id).unwrap();
        assert_eq!(
            (c.state.status, c.state.pid, c.state.monitor_pid),
            (Status::Running, 42, 41)
        );

        assert_eq!(
            actions(&apply(&mut store, &id, Transition::Pause).unwrap()),
            ["pause"]
        );
        assert_eq!(
            actions(&apply(&mut store, &id, Transition::Unpause).unwrap()),
            ["unpause"]
        );

        let oom = Exit {
            code: 137,
            oom_killed: true,
            error: "",
        };
        let events = apply(&mut store, &id, Transition::DieToRestart(oom)).unwrap();
        assert_eq!(actions(&events), ["oom", "die"]);
        assert_eq!(events[1].attributes["exitCode"], "137");
        let c = model::find(&store, &id).unwrap();
        assert_eq!(c.state.status, Status::Restarting);
        assert_eq!((c.state.pid, c.state.restart_count), (0, 1));
        assert!(c.state.oom_killed);

        assert!(apply(&mut store, &id, Transition::CancelRestart)
            .unwrap()
            .is_empty());
        assert_eq!(
            model::find(&store, &id).unwrap().state.status,
            Status::Exited
        );

        let start = Transition::Start {
            pid: 43,
            monitor_pid: 41,
        };
        apply(&mut store, &id, start).unwrap();
        let c = model::find(&store, &id).unwrap();
        assert!(!c.state.oom_killed, "a start resets the last exit");
        let events = apply(&mut store, &id, Transition::Die(EXIT_0)).unwrap();
        assert_eq!(actions(&events), ["die"]);
        assert_eq!(events[0].attributes["exitCode"], "0");
        assert!(apply(&mut store, &id, Transition::Remove)
            .unwrap()
            .is_empty());
        assert_eq!(
            model::find(&store, &id).unwrap().state.status,
            Status::Removing
        );

        let events = {
            let before = events::last_seq(store.db()).unwrap();
            store
                .write(|tx| record(tx, &id, "kill", vec![("signal", "15".into())]))
                .unwrap();
            events::after(store.db(), before, 100).unwrap()
        };
        assert_eq!(actions(&events), ["kill"]);
        assert_eq!(events[0].attributes["signal"], "15");
        assert_eq!(events[0].attributes["name"], "web");
    }

    #[test]
    fn illegal_transitions_are_refused_and_change_nothing() {
        let (_dir, mut store, id) = store_with_container();
        let start = Transition::Start {
            pid: 42,
            monitor_pid: 41,
        };
        apply(&mut store, &id, start).unwrap();
        apply(&mut store, &id, Transition::Die(EXIT_0)).unwrap();
        let before = model::find(&store, &id).unwrap();
        let seq = events::last_seq(store.db()).unwrap();
        for t in [
            Transition::Pause,
            Transition::Unpause,
            Transition::CancelRestart,
            Transition::DieToRestart(EXIT_0),
        ] {
            let err = apply(&mut store, &id, t).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Conflict, "{t:?}");
            assert!(
                matches!(err, ContainerError::InvalidTransition { from: Status::Exited, to, .. } if to == t.to()),
                "{err}"
            );
        }
        // Pausing a created container, starting a running one: refused too.
        let (_dir2, mut store2, created) = store_with_container();
        assert!(apply(&mut store2, &created, Transition::Pause).is_err());
        let start = Transition::Start {
            pid: 1,
            monitor_pid: 1,
        };
        apply(&mut store2, &created, start).unwrap();
        assert!(apply(&mut store2, &created, start).is_err());
        assert!(apply(&mut store2, &created, Transition::Remove).is_err());

        let after = model::find(&store, &id).unwrap();
        assert_eq!(after.state.status, before.state.status);
        assert_eq!(after.state.finished_at, before.state.finished_at);
        assert_eq!(events::last_seq(store.db()).unwrap(), seq);
    }

    fn result(code: i64) -> HealthResult {
        HealthResult {
            start: berth_store::now_rfc3339(),
            end: berth_store::now_rfc3339(),
            exit_code: code,
            output: format!("exit {code}"),
        }
    }

    #[test]
    fn health_follows_runs_and_results_with_its_events() {
        let (_dir, mut store, id) = store_with_container();
        let config = serde_json::json!({"Test": ["CMD", "true"], "Retries": 2}).to_string();
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE containers SET config=json_set(config, '$.Healthcheck', json(?2)) WHERE id=?1",
                    params![id, config],
                )
            })
            .unwrap();
        let record = |store: &mut Store, code| {
            let before = events::last_seq(store.db()).unwrap();
            let status = store
                .write(|tx| record_health(tx, &id, result(code)))
                .unwrap();
            (status, events::after(store.db(), before, 100).unwrap())
        };
        // Not running: nothing recorded.
        assert_eq!(record(&mut store, 0).0, None);
        let start = Transition::Start {
            pid: 42,
            monitor_pid: 41,
        };
        apply(&mut store, &id, start).unwrap();
        let health = model::find(&store, &id).unwrap().state.health.unwrap();
        assert_eq!(health.status, HealthStatus::Starting);

        let (status, events) = record(&mut store, 1);
        assert_eq!(status, Some(HealthStatus::Starting));
        assert!(events.is_empty());
        let (status, events) = record(&mut store, 1);
        assert_eq!(status, Some(HealthStatus::Unhealthy));
        assert_eq!(actions(&events), ["health_status: unhealthy"]);
        assert_eq!(events[0].attributes["name"], "web");
        let (_, events) = record(&mut store, 0);
        assert_eq!(actions(&events), ["health_status: healthy"]);
        let (_, events) = record(&mut store, 0);
        assert!(events.is_empty(), "no change, no event");

        let events = apply(&mut store, &id, Transition::Die(EXIT_0)).unwrap();
        assert_eq!(actions(&events), ["die"]);
        let health = model::find(&store, &id).unwrap().state.health.unwrap();
        assert_eq!(
            (health.status, health.log.len()),
            (HealthStatus::Unhealthy, 4)
        );
        apply(&mut store, &id, start).unwrap();
        let health = model::find(&store, &id).unwrap().state.health.unwrap();
        assert_eq!(
            (health.status, health.failing_streak, health.log.len()),
            (HealthStatus::Starting, 0, 4)
        );
    }

    #[test]
    fn unknown_statuses_are_corruption_not_dead() {
        let (_dir, mut store, id) = store_with_container();
        store
            .write(|tx| tx.execute("UPDATE containers SET status='zombie' WHERE id=?1", [&id]))
            .unwrap();
        let err = model::find(&store, &id).unwrap_err();
        assert!(matches!(err, ContainerError::Corrupt { .. }), "{err}");
        let err = store
            .write(|tx| transition(tx, &id, Transition::Remove))
            .unwrap_err();
        assert!(matches!(err, ContainerError::Corrupt { .. }), "{err}");
        let err = store
            .write(|tx| transition(tx, "nope", Transition::Remove))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
