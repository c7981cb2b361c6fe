//! The layers of `ARCHITECTURE.md`, checked: every file of the runtime crate imports only
//! from its own layer and the layers below it, and the core names no protocol crate.
//!
//! The check reads the sources, as a reviewer would: each `crate::<module>` path outside
//! comments is an import of that module's layer, and each path that starts with a protocol
//! crate's name (`http::`, `hyper::`, …) is an import of that crate.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Which top-level modules each module may import (besides itself). The core is listed
/// first; `lib.rs`, the crate's facade, re-exports from everything and is not checked.
const MAY_IMPORT: &[(&str, &[&str])] = &[
    // The core: events, ports, actors, the Director, errors, payloads, the CPU pool, the
    // request/answer slot.
    ("actor", CORE),
    ("deadline", CORE),
    ("director", CORE),
    ("error", CORE),
    ("event", CORE),
    ("extensions", CORE),
    ("graph", CORE),
    ("id", CORE),
    ("logging", CORE),
    ("payload", CORE),
    ("pool", CORE),
    ("port", CORE),
    ("reply", CORE),
    ("retry", CORE),
    ("timestamp", CORE),
    ("topology", CORE),
    // The DSL's compile-time checks, on the core (reached through `__private`).
    ("wiring", CORE),
    // Formats and protocols, each on the core and the ones below it.
    ("json", &["json"]),
    ("xml", &["json", "xml"]),
    ("zmtp", &["zmtp"]),
    ("http", &["json", "xml", "http"]),
    ("zeromq", &["json", "xml", "http", "zmtp", "zeromq"]),
    ("mdp", &["json", "xml", "http", "zmtp", "zeromq", "mdp"]),
    // Built-in actors, on everything below them.
    (
        "actors",
        &["json", "xml", "http", "zmtp", "zeromq", "mdp", "actors"],
    ),
];

const CORE: &[&str] = &[
    "actor",
    "deadline",
    "director",
    "error",
    "event",
    "extensions",
    "graph",
    "id",
    "logging",
    "payload",
    "pool",
    "port",
    "reply",
    "retry",
    "timestamp",
    "topology",
    "wiring",
];

/// Crates that belong to a protocol or a format: the core uses none of them.
const PROTOCOL_CRATES: &[&str] = &[
    "http",
    "hyper",
    "hyper_util",
    "http_body_util",
    "h2",
    "quick_xml",
    "jsonschema",
    "argon2",
    "blake2",
    "subtle",
    "base64",
];

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compysition/src")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to: `director/launch.rs` → `director`.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a path inside src");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The source without comments (line, block and doc comments), so that prose naming a module
/// is not taken for an import. String literals are kept: they name no module.
fn without_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The module each item re-exported at the crate root comes from (`Xml` → `xml`), read from
/// `lib.rs`'s `pub use` statements, so that `crate::Xml` counts as an import of `xml`.
fn root_items(lib: &str) -> BTreeMap<String, String> {
    let mut items = BTreeMap::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let Some(path) = statement
            .strip_prefix("pub use ")
            .or_else(|| statement.split_once("\npub use ").map(|(_, p)| p))
        else {
            continue;
        };
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let last = name.trim().rsplit("::").next().unwrap_or_default();
            let last = last.split(" as ").last().unwrap_or_default().trim();
            if !last.is_empty() {
                items.insert(last.to_string(), module.to_string());
            }
        }
    }
    items
}

/// Every `crate::<name>` in the code, with its line.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && !name.is_empty() {
                found.push((number + 1, name));
            }
            rest = after;
        }
    }
    found
}

/// Every path that starts with one of `crates` (`http::…`, `use hyper::…`), with its line.
fn external_paths(code: &str, crates: &[&str]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        for name in crates {
            let needle = format!("{name}::");
            let mut rest = line;
            while let Some(at) = rest.find(&needle) {
                let before = rest[..at].chars().next_back();
                // `crate::http::` and `super::http::` are modules of ours, not the crate.
                let ours = rest[..at].ends_with("crate::") || rest[..at].ends_with("super::");
                let part_of_a_name =
                    before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
                if !ours && !part_of_a_name {
                    found.push((number + 1, name.to_string()));
                }
                rest = &rest[at + needle.len()..];
            }
        }
    }
    found
}

#[test]
fn every_file_imports_only_its_own_layer_and_the_ones_below() {
    let root = source_root();
    let rules: BTreeMap<&str, &[&str]> = MAY_IMPORT.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let lib = without_comments(&fs::read_to_string(root.join("lib.rs")).expect("lib.rs"));
    let root_items = root_items(&lib);
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("inside src");
        let module = module_of(relative);
        if module == "lib" {
            continue;
        }
        let Some(allowed) = rules.get(module.as_str()) else {
            violations.push(format!(
                "{}: module `{module}` has no layer in ARCHITECTURE.md (add it to MAY_IMPORT)",
                relative.display()
            ));
            continue;
        };
        let code = without_comments(&fs::read_to_string(file).expect("readable source"));
        for (line, imported) in crate_paths(&code) {
            // `crate::Xml` is `crate::xml::Xml`; an unknown root item is the facade's own.
            // Lower-case names are modules (a macro of the same name is no module).
            let imported = if imported.starts_with(char::is_lowercase) {
                imported
            } else {
                match root_items.get(&imported) {
                    Some(module) => module.clone(),
                    None => continue,
                }
            };
            let core = CORE.contains(&imported.as_str());
            if imported != module && !core && !allowed.contains(&imported.as_str()) {
                violations.push(format!(
                    "{}:{line}: `{module}` imports `crate::{imported}`, a layer above it",
                    relative.display()
                ));
            }
        }
        if CORE.contains(&module.as_str()) {
            for (line, name) in external_paths(&code, PROTOCOL_CRATES) {
                violations.push(format!(
                    "{}:{line}: the core names the protocol crate `{name}`",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_an_import_and_ignores_prose() {
    let code = without_comments(
        "// crate::http is named here\n/* and crate::xml here */\nuse crate::mdp::Frames;\nlet s = \"// not a comment\"; http::Method::GET;",
    );
    assert_eq!(crate_paths(&code), vec![(3, "mdp".to_string())]);
    assert_eq!(
        external_paths(&code, &["http"]),
        vec![(4, "http".to_string())]
    );
    assert_eq!(external_paths("use super::http::Body;", &["http"]), vec![]);
}
