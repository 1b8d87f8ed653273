//! The monitor: one small process per running container, the OCI runtime's
//! parent for the container's whole life. There is no daemon: the engine
//! spawns a monitor (`berth __monitor`, the id in its environment,
//! [`client::spawn`]), which detaches (fork + setsid), becomes a child
//! subreaper, and then
//!
//! 1. takes `monitor.lock` (held until it exits: the liveness signal),
//! 2. mounts the rootfs, prepares volumes and `/etc/{hosts,hostname,resolv.conf}`,
//!    writes the OCI bundle, has the container's runtime create and start it,
//! 3. reports `{"ok":true}` or the failure to its spawner over fd 3,
//! 4. copies the container's output to the json-file log and to attach clients,
//!    feeds attach clients' input to the container's stdin,
//! 5. reaps the container's init, records exit code / OOM / finish time,
//!    deletes the runtime state and unmounts the rootfs,
//! 6. applies the restart policy (same writable layer, after a back-off), or
//!    removes the container for `--rm`, tells attach clients the exit code,
//!    and exits.
//!
//! # Parts
//! * [`protocol`]: what a monitor and its clients exchange (frames, the start
//!   report, socket names);
//! * [`client`]: everything the rest of berth uses to talk to a monitor
//!   (spawn, attach, resize, wait for its exit, attach before start);
//! * `server`: the monitor process and its poll loop, over `prepare` (what a
//!   run needs before the runtime creates it) and `stdio` (the container's
//!   stdio ends);
//! * `reap`: reaping by pid, so the monitor never takes a child it does not own;
//! * `timer`: a timerfd in the poll loop (the restart back-off; healthchecks);
//! * `memory`: shedding what setup touched, so an idle monitor stays small;
//! * `oom`: whether the kernel OOM-killed the container (its memory cgroup).
//!
//! The idle loop is one `poll(2)` over the container's pipes, the attach
//! socket, a signalfd and a timerfd: no threads, no async runtime.

pub(crate) mod client;
pub(crate) mod diag;
mod health;
mod ipc;
mod links;
mod memory;
mod oom;
mod prepare;
pub(crate) mod protocol;
mod reap;
mod server;
mod stdio;
mod timer;

pub use memory::drop_readonly_file_pages;
pub(crate) use prepare::init_binary;
pub use server::main;
