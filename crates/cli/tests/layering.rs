//! The workspace's design rules, checked on its sources (ARCHITECTURE.md,
//! "Invariants"): libraries → engine → front ends, one way; no import
//! circles between modules; no source file over 800 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn crates() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The berth crates a crate depends on (normal dependencies only).
fn berth_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut section = String::new();
    let mut deps = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
        } else if section == "[dependencies]" {
            if let Some(name) = line.strip_prefix("berth-") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                deps.insert(name);
            }
        }
    }
    deps
}

#[test]
fn front_ends_depend_on_the_engine_only() {
    // What a front end may use besides the engine: the engine's own
    // re-exports cover everything else. (The `berth` binary also serves the
    // Engine API: `berth serve` starts the API front end.)
    for (front_end, allowed) in [
        ("cli", vec!["engine", "docker", "error", "api", "cri"]),
        ("api", vec!["engine", "docker", "error"]),
        // berth-cri-stream is Kubernetes' streaming wire protocol (as
        // berth-docker is Docker's): it reaches containers only through the
        // runtime trait berth-cri implements over the engine.
        ("cri", vec!["engine", "error", "cri-stream"]),
    ] {
        let deps = berth_dependencies(
            &workspace()
                .join("crates")
                .join(front_end)
                .join("Cargo.toml"),
        );
        let extra: Vec<&String> = deps
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "crates/{front_end} depends on libraries below the engine: {extra:?}"
        );
    }
    // And no library depends on the engine or a front end.
    for (name, dir) in crates() {
        if ["cli", "api", "cri", "engine", "docker"].contains(&name.as_str()) {
            continue;
        }
        let deps = berth_dependencies(&dir.join("Cargo.toml"));
        for upper in ["engine", "docker", "api", "cri", "cli"] {
            assert!(
                !deps.contains(upper),
                "library crates/{name} depends on berth-{upper}"
            );
        }
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    for (_, dir) in crates() {
        rust_files(&dir, &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over 800 lines:\n{}",
        long.join("\n")
    );
}

/// A module path inside a crate: `[]` for the root, `["container", "kill"]`.
type Module = Vec<String>;

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The module a path names: the longest prefix that is a module.
fn resolve(modules: &BTreeSet<Module>, path: &[String]) -> Module {
    (0..=path.len())
        .rev()
        .map(|i| path[..i].to_vec())
        .find(|m| modules.contains(m))
        .unwrap_or_default()
}

/// Code without comments and without its `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Edges between modules of one crate: a module that names another with a
/// `crate::` or `super::` path uses it. A module naming one of its ancestors
/// (the crate root, its parent) uses its own namespace and is left out.
fn module_graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(src, f)).collect();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for file in &files {
        let me = module_of(src, file);
        let text = code(&std::fs::read_to_string(file).unwrap());
        let bytes = text.as_bytes();
        for (start, keyword) in text
            .match_indices("crate::")
            .chain(text.match_indices("super::"))
        {
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            let rest = &text[start..];
            let path: Vec<String> = rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let (mut base, mut segs) = if keyword == "crate::" {
                (Module::new(), path[1..].to_vec())
            } else {
                (
                    me[..me.len().saturating_sub(1)].to_vec(),
                    path[1..].to_vec(),
                )
            };
            while segs.first().map(String::as_str) == Some("super") {
                base.pop();
                segs.remove(0);
            }
            base.extend(segs);
            let target = resolve(&modules, &base);
            let ancestor = target.len() < me.len() && me[..target.len()] == target[..];
            if target != me && !ancestor {
                graph.entry(me.clone()).or_default().insert(target);
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    let nodes: BTreeSet<Module> = graph
        .iter()
        .flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.iter().cloned()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    fn visit(
        n: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        seen: &mut BTreeSet<Module>,
        order: &mut Vec<Module>,
    ) {
        if !seen.insert(n.clone()) {
            return;
        }
        for m in graph.get(n).into_iter().flatten() {
            visit(m, graph, seen, order);
        }
        order.push(n.clone());
    }
    for n in &nodes {
        visit(n, graph, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, tos) in graph {
        for to in tos {
            reversed.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.iter().rev() {
        if assigned.contains(n) {
            continue;
        }
        let mut component = Vec::new();
        let mut stack = vec![n.clone()];
        while let Some(m) = stack.pop() {
            if !assigned.insert(m.clone()) {
                continue;
            }
            component.push(m.clone());
            stack.extend(reversed.get(&m).into_iter().flatten().cloned());
        }
        if component.len() > 1 {
            out.push(component);
        }
    }
    out
}

#[test]
fn no_import_circles() {
    let mut found = Vec::new();
    for (name, dir) in crates() {
        for component in cycles(&module_graph(&dir.join("src"))) {
            let names: Vec<String> = component.iter().map(|m| m.join("/")).collect();
            found.push(format!("{name}: {}", names.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules that use each other:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let m = |s: &str| s.split('/').map(String::from).collect::<Module>();
    let graph: BTreeMap<Module, BTreeSet<Module>> = [
        (m("a"), [m("b")].into()),
        (m("b"), [m("c")].into()),
        (m("c"), [m("a")].into()),
        (m("d"), [m("a")].into()),
    ]
    .into();
    let found = cycles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
}
