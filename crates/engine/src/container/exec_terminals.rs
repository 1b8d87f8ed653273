//! The terminals of the tty execs this process runs, by exec id, so that
//! a resize from this same process (`berth serve`'s `POST
//! /exec/{id}/resize`, the CLI following its own terminal's size) reaches
//! the terminal itself; another process finds it through `/proc`
//! ([`super::exec_instances`]).

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Mutex, OnceLock};

fn terminals() -> &'static Mutex<HashMap<String, File>> {
    static TERMINALS: OnceLock<Mutex<HashMap<String, File>>> = OnceLock::new();
    TERMINALS.get_or_init(Default::default)
}

/// Keeps (a copy of) the terminal of the running exec `id`.
pub(super) fn register(id: &str, terminal: File) {
    if let Ok(mut map) = terminals().lock() {
        map.insert(id.to_string(), terminal);
    }
}

/// Forgets the terminal of exec `id` (its process has exited).
pub(super) fn unregister(id: &str) {
    if let Ok(mut map) = terminals().lock() {
        map.remove(id);
    }
}

/// Sets the size of exec `id`'s terminal if this process holds it.
pub(super) fn resize(id: &str, rows: u16, cols: u16) -> bool {
    let Ok(map) = terminals().lock() else {
        return false;
    };
    match map.get(id) {
        Some(terminal) => {
            berth_runtime::set_window_size(terminal, rows, cols);
            true
        }
        None => false,
    }
}
