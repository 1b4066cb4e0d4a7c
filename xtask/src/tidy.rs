//! Repository hygiene the compiler does not keep, as ordinary tests (`cargo test -p xtask`):
//! which workspace crate may depend on which (the layering ARCHITECTURE.md draws), which
//! crates a third-party dependency is kept to, and no import cycle between the modules of
//! any crate. Each rule is also shown failing on a deliberately broken fixture, so a
//! checker that silently finds nothing cannot pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The tools: each depends on the façade and third-party crates only.
const TOOLS: &[&str] =
    &["aml-train", "aml-register", "aml-package", "aml-deploy", "smoke-test", "approval-gate", "aml-infra"];

/// What each library crate may depend on inside the workspace (normal dependencies).
const LAYERS: &[(&str, &[&str])] = &[
    ("aml-core", &[]),
    ("aml-http", &["aml-core"]),
    ("aml-auth", &["aml-core", "aml-http"]),
    ("aml-oci", &["aml-core", "aml-http", "aml-auth"]),
    ("aml-local", &["aml-core", "aml-http"]),
    ("aml-azure", &["aml-core", "aml-http", "aml-auth"]),
    ("aml-databricks", &["aml-core", "aml-http", "aml-auth", "aml-local"]),
    ("aml-client", &["aml-core", "aml-http", "aml-oci", "aml-local", "aml-azure", "aml-databricks"]),
    // Test support: Azure as the tests see it, driving the backends it stands in for.
    ("aml-emulator", &["aml-client", "aml-http", "aml-azure", "aml-local"]),
    ("xtask", &[]),
];

/// Third-party crates kept to the crates whose concern they are.
const OWNED: &[(&str, &[&str], &str)] = &[
    ("reqwest", &["aml-http"], "only the HTTP crate builds an HTTP client"),
    ("azure_identity", &["aml-auth"], "only the identity crate knows Entra's credentials"),
    ("rusqlite", &["aml-local"], "only the local backend knows its SQLite registry"),
    ("hyper-util", &["aml-local", "aml-emulator"], "the router's hop (see BENCHMARKS.md) and the emulator's servers"),
];

#[derive(Debug)]
pub struct Package {
    pub name: String,
    /// Normal and build dependencies: (name, is a path dependency in the workspace).
    pub dependencies: Vec<String>,
    pub dev_dependencies: Vec<String>,
}

/// The workspace's packages as `cargo metadata` sees them.
pub fn packages(manifest: &Path) -> Result<Vec<Package>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(manifest)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let mut dependencies = Vec::new();
        let mut dev_dependencies = Vec::new();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let name = dependency["name"].as_str().unwrap_or_default().to_string();
            match dependency["kind"].as_str() {
                Some("dev") => dev_dependencies.push(name),
                _ => dependencies.push(name),
            }
        }
        found.push(Package {
            name: package["name"].as_str().unwrap_or_default().to_string(),
            dependencies,
            dev_dependencies,
        });
    }
    Ok(found)
}

/// Every dependency edge the layering forbids, as sentences.
pub fn forbidden_edges(packages: &[Package]) -> Vec<String> {
    let ours: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let mut problems = Vec::new();
    for package in packages {
        let name = package.name.as_str();
        let allowed: Vec<&str> = if TOOLS.contains(&name) {
            vec!["aml-client"]
        } else if let Some((_, allowed)) = LAYERS.iter().find(|(crate_name, _)| *crate_name == name) {
            allowed.to_vec()
        } else {
            problems
                .push(format!("`{name}` has no place in the crate graph: add it to tidy's LAYERS and ARCHITECTURE.md"));
            continue;
        };
        for dependency in &package.dependencies {
            if ours.contains(dependency.as_str()) && !allowed.contains(&dependency.as_str()) {
                problems
                    .push(format!("`{name}` may not depend on `{dependency}` (it may depend on: {})", list(&allowed)));
            }
        }
        if TOOLS.contains(&name) {
            for dependency in &package.dev_dependencies {
                if ours.contains(dependency.as_str()) && !["aml-client", "aml-emulator"].contains(&dependency.as_str())
                {
                    problems.push(format!(
                        "`{name}`'s tests may not depend on `{dependency}` (only aml-client and aml-emulator)"
                    ));
                }
            }
        }
        for (third_party, owners, why) in OWNED {
            if package.dependencies.iter().any(|d| d == third_party) && !owners.contains(&name) {
                problems.push(format!("`{name}` may not depend on `{third_party}`: {why}"));
            }
        }
    }
    problems
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "nothing in the workspace".into() } else { names.join(", ") }
}

/// A module of a crate, by its path from the crate root (`[]` is the root).
type ModulePath = Vec<String>;

/// Every `use crate::` (and `super::`, `self::`, child-module) import cycle between the
/// file modules under `src`, each as a sentence naming the modules and what ties them.
pub fn import_cycles(src: &Path) -> Vec<String> {
    let mut files: BTreeMap<ModulePath, PathBuf> = BTreeMap::new();
    collect_modules(src, src, &mut files);
    let modules: BTreeSet<ModulePath> = files.keys().cloned().collect();
    let mut edges: BTreeMap<ModulePath, BTreeMap<ModulePath, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let code = strip(&text);
        let children = declared_children(&code);
        for path in referenced_paths(&code, module, &children) {
            if let Some(target) = resolve(&path, &modules)
                && &target != module
            {
                let what = path[target.len()..].first().cloned().unwrap_or_else(|| "(the module)".into());
                edges.entry(module.clone()).or_default().entry(target).or_default().insert(what);
            }
        }
    }
    strongly_connected(&modules, &edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut ties = Vec::new();
            for from in &component {
                for (to, names) in edges.get(from).into_iter().flatten() {
                    if component.contains(to) {
                        let names: Vec<&str> = names.iter().map(String::as_str).take(4).collect();
                        ties.push(format!("{} -> {} ({})", show(from), show(to), names.join(", ")));
                    }
                }
            }
            format!("import cycle in `{}`: {}", src.display(), ties.join("; "))
        })
        .collect()
}

fn show(module: &ModulePath) -> String {
    if module.is_empty() { "crate".into() } else { format!("crate::{}", module.join("::")) }
}

/// File modules: `lib.rs` is the root, `a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`.
/// Binaries (`main.rs`, `bin/`) are roots of their own and left out.
fn collect_modules(root: &Path, dir: &Path, out: &mut BTreeMap<ModulePath, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path);
        if path.is_dir() {
            if relative != Path::new("bin") {
                collect_modules(root, &path, out);
            }
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") || relative == Path::new("main.rs") {
            continue;
        }
        let mut parts: Vec<String> =
            relative.with_extension("").iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
            parts.pop();
        }
        out.insert(parts, path);
    }
}

/// The source without comments, string and char literals, and `#[cfg(test)]` items (a test
/// module's `use super::*` is not an import of the code).
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < bytes.len() && !(bytes[i] == '*' && bytes[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&bytes, i) {
            let mut hashes = 0;
            let mut j = i + 1;
            while bytes.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if bytes.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let closing: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let rest: String = bytes[j..].iter().collect();
            let end = rest.find(&closing).map(|e| j + rest[..e].chars().count() + closing.chars().count());
            i = end.unwrap_or(bytes.len());
            out.push_str("\"\"");
        } else if c == '\'' && bytes.get(i + 2) == Some(&'\'') {
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal: `'\n'`, `'\''`, `'\u{1F600}'`.
            let close = bytes[i + 3..].iter().position(|&b| b == '\'').map_or(bytes.len(), |p| i + 3 + p);
            i = close + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    remove_test_items(&out)
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn remove_test_items(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(start) = out.find("#[cfg(test)]") {
        let Some(open) = out[start..].find('{').map(|o| start + o) else { break };
        let mut depth = 0;
        let mut end = out.len();
        for (offset, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + offset + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(start..end, "");
    }
    out
}

/// `mod x;` and `pub mod x;` declared in a file.
fn declared_children(code: &str) -> BTreeSet<String> {
    let mut children = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim();
        let rest = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "));
        if let Some(name) = rest.and_then(|r| r.strip_suffix(';')) {
            children.insert(name.trim().to_string());
        }
    }
    children
}

/// Every module path the code names through `crate::`, `super::`, `self::` or a child
/// module declared in the file, `use` groups expanded.
fn referenced_paths(code: &str, module: &ModulePath, children: &BTreeSet<String>) -> Vec<ModulePath> {
    let mut paths = Vec::new();
    for text in expand_groups(code) {
        let segments: Vec<&str> = text.split("::").map(str::trim).collect();
        let Some(first) = segments.first() else { continue };
        let (mut base, rest): (ModulePath, &[&str]) = match *first {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (module.clone(), &segments[1..]),
            "super" => {
                let mut base = module.clone();
                let mut rest = &segments[..];
                while rest.first() == Some(&"super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            name if children.contains(name) => (module.clone(), &segments[..]),
            _ => continue,
        };
        for segment in rest {
            let ident: String = segment.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if ident.is_empty() || ident == "*" {
                break;
            }
            base.push(ident);
        }
        paths.push(base);
    }
    paths
}

/// Paths written in the code: each `a::b::c` run, with `use x::{y, z::w}` expanded into
/// `x::y` and `x::z::w`.
fn expand_groups(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':'))
            && (chars[i].is_alphabetic() || chars[i] == '_');
        if !starts_word {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':') {
            j += 1;
        }
        let path: String = chars[i..j].iter().collect();
        if path.ends_with("::") && chars.get(j) == Some(&'{') {
            let mut depth = 0;
            let mut k = j;
            while k < chars.len() {
                if chars[k] == '{' {
                    depth += 1;
                } else if chars[k] == '}' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                k += 1;
            }
            let inner: String = chars[j + 1..k.min(chars.len())].iter().collect();
            for part in split_top_level(&inner) {
                let part = part.trim();
                let expanded = expand_groups(part);
                if part == "self" {
                    out.push(path.trim_end_matches("::").to_string());
                } else if expanded.is_empty() && !part.is_empty() {
                    // A single name: `x::{Y}` is `x::Y`.
                    out.push(format!("{path}{part}"));
                }
                for expanded in expanded {
                    out.push(format!("{path}{expanded}"));
                }
            }
            i = k + 1;
        } else {
            if path.contains("::") {
                out.push(path);
            }
            i = j;
        }
    }
    out
}

fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

/// The deepest module that a path names or starts with.
fn resolve(path: &ModulePath, modules: &BTreeSet<ModulePath>) -> Option<ModulePath> {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|prefix| modules.contains(prefix))
}

/// Tarjan's strongly connected components.
fn strongly_connected(
    nodes: &BTreeSet<ModulePath>,
    edges: &BTreeMap<ModulePath, BTreeMap<ModulePath, BTreeSet<String>>>,
) -> Vec<Vec<ModulePath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModulePath, BTreeMap<ModulePath, BTreeSet<String>>>,
        index: BTreeMap<ModulePath, usize>,
        low: BTreeMap<ModulePath, usize>,
        stack: Vec<ModulePath>,
        on_stack: BTreeSet<ModulePath>,
        next: usize,
        components: Vec<Vec<ModulePath>>,
    }
    fn visit(state: &mut State, node: &ModulePath) {
        state.index.insert(node.clone(), state.next);
        state.low.insert(node.clone(), state.next);
        state.next += 1;
        state.stack.push(node.clone());
        state.on_stack.insert(node.clone());
        let targets: Vec<ModulePath> = state.edges.get(node).map(|t| t.keys().cloned().collect()).unwrap_or_default();
        for target in targets {
            if !state.index.contains_key(&target) {
                visit(state, &target);
                let low = state.low[&target].min(state.low[node]);
                state.low.insert(node.clone(), low);
            } else if state.on_stack.contains(&target) {
                let low = state.index[&target].min(state.low[node]);
                state.low.insert(node.clone(), low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(&member);
                let done = &member == node;
                component.push(member);
                if done {
                    break;
                }
            }
            state.components.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        components: Vec::new(),
    };
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::setup::root()
    }

    fn fixtures() -> PathBuf {
        root().join("xtask").join("tidy-fixtures")
    }

    #[test]
    fn crates_depend_only_as_the_layers_allow() {
        let packages = packages(&root().join("Cargo.toml")).unwrap();
        assert!(packages.iter().any(|p| p.name == "aml-core"), "cargo metadata listed no aml-core");
        let problems = forbidden_edges(&packages);
        assert!(problems.is_empty(), "forbidden crate edges:\n{}", problems.join("\n"));
    }

    #[test]
    fn a_forbidden_edge_is_caught() {
        let packages = packages(&fixtures().join("broken-edges").join("Cargo.toml")).unwrap();
        let problems = forbidden_edges(&packages);
        assert!(
            problems.iter().any(|p| p.contains("`aml-local` may not depend on `aml-azure`")),
            "the broken fixture passed: {problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("`aml-train` may not depend on `aml-local`")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("`aml-core` may not depend on `reqwest`")), "{problems:?}");
    }

    #[test]
    fn no_crate_has_an_import_cycle() {
        let mut problems = Vec::new();
        let crates = std::fs::read_dir(root().join("crates")).unwrap();
        let mut sources: Vec<PathBuf> = crates.flatten().map(|entry| entry.path().join("src")).collect();
        sources.push(root().join("xtask").join("src"));
        for src in sources {
            problems.extend(import_cycles(&src));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn an_import_cycle_is_caught() {
        let problems = import_cycles(&fixtures().join("cycle").join("src"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("crate::jobs -> crate::plan (Plan)"), "{}", problems[0]);
        assert!(problems[0].contains("crate::plan -> crate::jobs ("), "{}", problems[0]);
        assert!(problems[0].contains("Job)"), "{}", problems[0]);
    }

    #[test]
    fn paths_in_groups_strings_and_tests_are_read_as_code_reads_them() {
        let code = strip(
            "use crate::{a::X, b::{self, Y}};\nlet s = \"crate::c::Z\"; // crate::d\n#[cfg(test)]\nmod tests { use crate::e::W; }\n",
        );
        let mut paths = referenced_paths(&code, &vec!["m".into()], &BTreeSet::new());
        paths.sort();
        let expected: Vec<ModulePath> =
            vec![vec!["a".into(), "X".into()], vec!["b".into()], vec!["b".into(), "Y".into()]];
        assert_eq!(paths, expected);
    }
}
