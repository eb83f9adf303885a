//! The module-graph check shared by `generator/tests/module_graph.rs` and
//! `daemon/tests/module_graph.rs` (included by path: one copy of the rule).
//!
//! The graph is read from the sources: an edge `a → b` for every `crate::b…`
//! path in module `a` (in `use` lines, groups `use crate::{b, c::d}` included,
//! and in code), with `crate::Item` re-exports of `lib.rs` resolved to the
//! module that defines the item. Comments and the `#[cfg(test)] mod tests`
//! block that ends a file are left out (unit tests may use anything). The crate
//! root is a node too (`lib`): it only declares modules and re-exports their
//! items, so nothing imports it; a module calling a function of `lib.rs` would
//! close a circle through it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → source text without comments and trailing test module.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(src).sort_by_file_name() {
        let e = e.unwrap();
        let p = e.path();
        if p.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let rel = p.strip_prefix(src).unwrap().with_extension("");
        let mut name = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("::");
        if let Some(parent) = name.strip_suffix("::mod") {
            name = parent.to_string();
        }
        let text = std::fs::read_to_string(p).unwrap();
        let mut code = String::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let t = line.trim_start();
            if t.starts_with("#[cfg(test)]") && lines.peek().is_some_and(|n| n.trim_start().starts_with("mod ")) {
                break;
            }
            if t.starts_with("//") {
                continue;
            }
            // A trailing comment (not `://` in a string).
            let line = match line.find(" // ") {
                Some(i) => &line[..i],
                None => line,
            };
            code.push_str(line);
            code.push('\n');
        }
        out.insert(name, code);
    }
    out
}

/// The first path segment of every `crate::…` path in `code`, groups included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in code.match_indices("crate::") {
        if code[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `vitrine_generator::`, `my_crate::`
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}, e}`: the first segment of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        out.insert(ident(&group[k..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// `pub use module::{Item, …}` lines of `lib.rs`: item → module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else { continue };
        let rest = rest.trim_end_matches(';');
        let Some((module, items)) = rest.split_once("::") else { continue };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = item.trim();
            let name = item.rsplit(" as ").next().unwrap_or(item).rsplit("::").next().unwrap_or(item).trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// Module → the modules it imports. The crate root is the node `lib`: its edges are
/// the modules its own code names (`pub use config::Config` is one), and a module
/// that names an item defined in `lib.rs` itself (not a re-export) imports `lib`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut mods = modules(src);
    let lib = mods.remove("lib").expect("src/lib.rs");
    let items = reexports(&lib);
    let mut g = BTreeMap::new();
    let lib_code: String = lib.lines().filter(|l| !l.trim_start().starts_with("pub mod ") && !l.trim_start().starts_with("mod ")).collect::<Vec<_>>().join("\n");
    let lib_deps: BTreeSet<String> = mods
        .keys()
        .filter(|m| !m.contains("::"))
        .filter(|m| {
            lib_code.match_indices(&format!("{m}::")).any(|(i, _)| {
                !lib_code[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            })
        })
        .cloned()
        .collect();
    g.insert("lib".to_string(), lib_deps);
    for (name, code) in &mods {
        let top = name.split("::").next().unwrap();
        let mut deps = BTreeSet::new();
        for seg in crate_paths(code) {
            let target = if mods.contains_key(&seg) {
                seg
            } else {
                items.get(&seg).cloned().unwrap_or_else(|| "lib".to_string())
            };
            if target != top {
                deps.insert(target);
            }
        }
        g.insert(name.clone(), deps);
    }
    g
}

/// Prints the modules of the crate whose sources are in `src` by layer, and
/// panics naming the modules in or behind an import circle if there is one.
pub fn check_layers(src: &Path) {
    let g = graph(src);
    // Layers, computed by peeling the modules whose imports are all placed: what is
    // left when no module can be placed is a cycle (or depends on one).
    let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
    while layer.len() < g.len() {
        let ready: Vec<(&str, usize)> = g
            .iter()
            .filter(|(m, _)| !layer.contains_key(m.as_str()))
            .filter_map(|(m, deps)| {
                let below: Option<Vec<usize>> = deps.iter().map(|d| layer.get(d.as_str()).copied()).collect();
                Some((m.as_str(), below?.into_iter().max().map_or(0, |l| l + 1)))
            })
            .collect();
        if ready.is_empty() {
            let left: Vec<String> = g
                .iter()
                .filter(|(m, _)| !layer.contains_key(m.as_str()))
                .map(|(m, deps)| format!("{m} → {}", deps.iter().filter(|d| !layer.contains_key(d.as_str())).cloned().collect::<Vec<_>>().join(", ")))
                .collect();
            panic!("import cycle among these modules:\n{}", left.join("\n"));
        }
        layer.extend(ready);
    }
    let depth = layer.values().max().copied().unwrap_or(0);
    for l in 0..=depth {
        for (m, _) in layer.iter().filter(|(_, x)| **x == l) {
            let deps: Vec<&str> = g[*m].iter().map(String::as_str).collect();
            println!("{l:>2}  {m:<12} → {}", if deps.is_empty() { "(nothing)".to_string() } else { deps.join(", ") });
        }
    }
    println!("no cycle: {} modules in {} layers", g.len(), depth + 1);
}
