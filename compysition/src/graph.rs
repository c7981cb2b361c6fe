//! The shape of a topology, and pictures of it in Graphviz DOT and Mermaid.

use std::fmt::Write as _;

/// The shape of a topology, for pictures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Actors and their ports.
    pub nodes: Vec<Node>,
    /// Edges, error edges included.
    pub edges: Vec<GraphEdge>,
}

/// An actor in a [`Graph`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its inbox names.
    pub inboxes: Vec<String>,
    /// Its outbox names.
    pub outboxes: Vec<String>,
}

/// An edge in a [`Graph`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphEdge {
    /// Sending actor.
    pub from: String,
    /// Its outbox, when named.
    pub from_port: Option<String>,
    /// Receiving actor.
    pub to: String,
    /// Its inbox, when named.
    pub to_port: Option<String>,
    /// An error edge (`!->`).
    pub errors: bool,
}

impl Graph {
    /// Graphviz DOT: data edges solid, error edges dashed red.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph topology {\n    rankdir=LR;\n    node [shape=box];\n");
        for node in &self.nodes {
            let _ = writeln!(out, "    \"{}\";", escape(&node.name));
        }
        for edge in &self.edges {
            let label = edge_label(edge);
            let style = if edge.errors {
                ", style=dashed, color=red"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    \"{}\" -> \"{}\" [label=\"{}\"{}];",
                escape(&edge.from),
                escape(&edge.to),
                escape(&label),
                style
            );
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart: data edges `-->`, error edges `-.->` labelled `errors`.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let id = |name: &str| -> String {
            name.chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        for node in &self.nodes {
            let _ = writeln!(
                out,
                "    {}[\"{}\"]",
                id(&node.name),
                node.name.replace('"', "'")
            );
        }
        for edge in &self.edges {
            let label = edge_label(edge);
            let arrow = if edge.errors { "-.->" } else { "-->" };
            if label.is_empty() {
                let _ = writeln!(out, "    {} {} {}", id(&edge.from), arrow, id(&edge.to));
            } else {
                let _ = writeln!(
                    out,
                    "    {} {}|{}| {}",
                    id(&edge.from),
                    arrow,
                    label,
                    id(&edge.to)
                );
            }
        }
        out
    }
}

fn edge_label(edge: &GraphEdge) -> String {
    if edge.errors {
        return "errors".to_string();
    }
    match (&edge.from_port, &edge.to_port) {
        (Some(f), Some(t)) if f != "outbox" || t != "inbox" => format!("{f} → {t}"),
        (Some(f), None) if f != "outbox" => f.clone(),
        (None, Some(t)) if t != "inbox" => format!("→ {t}"),
        _ => String::new(),
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
