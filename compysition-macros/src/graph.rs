//! Checks on names, ports and reachability, and the checked graph `expand.rs` turns into code.
//!
//! Every mistake found here is a `syn::Error` spanned on the user's token and naming actors by
//! the user's names; all of them are collected, so one build shows them all. What depends on
//! the actors' types (payloads, port names, error inboxes, whether an actor answers requests)
//! is left to the compiler: this pass only records where each such check must point.
//!
//! `check` runs the passes in the order their mistakes are reported: `declare` (names),
//! `Edges::add_chain` for each chain (port placement, names resolved, repeated edges), then
//! `Edges::mark` and `report_unconnected` on the whole graph, and `answered_actors`
//! (reachability).

use std::collections::{HashMap, HashSet, VecDeque};

use proc_macro2::Span;
use syn::{Expr, Ident};

use crate::errors::Errors;
use crate::parse::{Arrow, ArrowKind, Chain, Endpoint, Stage, Statement, TopologyInput};

/// A topology whose names all resolve.
pub struct Graph {
    pub capacity: Option<usize>,
    pub actors: Vec<Actor>,
    /// Data edges, grouped by the outbox they leave from.
    pub outboxes: Vec<OutboxEdges>,
    pub error_edges: Vec<ErrorEdge>,
}

/// A declared actor, and what the edges say about it.
pub struct Actor {
    pub name: Ident,
    pub expr: Expr,
    pub is_log: bool,
    /// Some edge touches it.
    pub connected: bool,
    /// Some edge (data or error) leads into it, or it is the log actor.
    pub fed: bool,
    /// Some data edge leaves it.
    pub feeds: bool,
    /// A path of edges leads from its outbox back to it.
    pub answered: bool,
    /// Named in an edge that was dropped for another mistake: what is known of its edges is
    /// incomplete, so checks on them would only repeat that mistake.
    pub tainted: bool,
}

/// The data edges that leave one outbox.
pub struct OutboxEdges {
    pub edges: Vec<DataEdge>,
    /// Where a copy is needed: the second edge of the outbox (the one that makes it a fan-out).
    pub fan_out: Option<Span>,
}

/// An edge from an outbox to an inbox (`->`).
pub struct DataEdge {
    pub from: Port,
    pub to: Port,
    pub arrow: Span,
    pub capacity: Option<usize>,
}

/// One end of a data edge.
pub struct Port {
    /// Index into `Graph::actors`.
    pub actor: usize,
    /// The actor's name as written at this end of the edge.
    pub written: Ident,
    pub port: Option<Ident>,
}

/// An edge from an error outbox to an error inbox (`!->`).
pub struct ErrorEdge {
    pub from: usize,
    pub to: usize,
    /// The target's name as written, where a missing error inbox is reported.
    pub to_written: Ident,
}

/// Resolves names and checks the graph. Returns the graph of everything that resolved, and
/// every problem found: the caller expands both, so that the compiler's own checks on the valid
/// part are reported in the same build as these.
pub fn check(input: TopologyInput) -> (Graph, Errors) {
    let mut problems = Errors::default();
    let (mut declared, chains) = declare(input.statements, &mut problems);
    let mut edges = Edges::default();
    for chain in &chains {
        edges.add_chain(chain, &declared, &mut problems);
    }
    edges.mark(&mut declared.actors);
    report_unconnected(&mut declared.actors, &mut problems);
    let answered = answered_actors(declared.actors.len(), &edges.data, &edges.errors);
    for (actor, answered) in declared.actors.iter_mut().zip(answered) {
        actor.answered = answered;
    }
    let graph = Graph {
        capacity: input.capacity.map(|c| c.value),
        actors: declared.actors,
        outboxes: group_by_outbox(edges.data),
        error_edges: edges.errors,
    };
    (graph, problems)
}

/// The declared actors, in declaration order, and where each name is.
struct Declared {
    actors: Vec<Actor>,
    by_name: HashMap<String, usize>,
}

/// Declaration pass: registers every actor under its name (a name declared twice is a mistake
/// at the second declaration) and sets the chains aside for the edge pass.
fn declare(statements: Vec<Statement>, problems: &mut Errors) -> (Declared, Vec<Chain>) {
    let mut declared = Declared {
        actors: Vec::new(),
        by_name: HashMap::new(),
    };
    let mut chains = Vec::new();
    for statement in statements {
        let declaration = match statement {
            Statement::Declare(declaration) => declaration,
            Statement::Connect(chain) => {
                chains.push(chain);
                continue;
            }
        };
        let name = declaration.name.to_string();
        if declared.by_name.contains_key(&name) {
            problems.push(syn::Error::new(
                declaration.name.span(),
                format!(
                    "actor `{name}` is declared twice; each declaration needs a name of its own"
                ),
            ));
            continue;
        }
        declared.by_name.insert(name, declared.actors.len());
        declared.actors.push(Actor {
            is_log: declaration.is_log(),
            name: declaration.name,
            expr: declaration.actor,
            connected: false,
            fed: false,
            feeds: false,
            answered: false,
            tainted: false,
        });
    }
    (declared, chains)
}

impl Declared {
    /// The actor an endpoint names, or a mistake at the name (with the closest declared one).
    fn resolve(&self, endpoint: &Endpoint, problems: &mut Errors) -> Option<usize> {
        let name = endpoint.actor.to_string();
        if let Some(&index) = self.by_name.get(&name) {
            return Some(index);
        }
        let mut message = format!("no actor named `{name}` is declared in this topology");
        // `closest` picks by distance, then name: the map's order does not matter.
        if let Some(close) = closest(&name, self.by_name.keys().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        problems.push(syn::Error::new(endpoint.actor.span(), message));
        None
    }
}

/// The edges found so far, and what is needed to find repeated ones.
#[derive(Default)]
struct Edges {
    data: Vec<DataEdge>,
    errors: Vec<ErrorEdge>,
    seen_data: HashSet<(usize, Option<String>, usize, Option<String>)>,
    seen_errors: HashSet<(usize, usize)>,
    /// Actors named in an edge that was dropped for another mistake.
    tainted: Vec<usize>,
}

impl Edges {
    /// Edge pass for one chain: checks where its port names stand, resolves each name once (so
    /// an unknown one is reported once), then adds an edge for every pair of adjacent stages.
    fn add_chain(&mut self, chain: &Chain, declared: &Declared, problems: &mut Errors) {
        let ports_make_sense = check_chain_ports(chain, problems);
        let stages: Vec<Vec<(&Endpoint, Option<usize>)>> = std::iter::once(&chain.head)
            .chain(chain.links.iter().map(|link| &link.stage))
            .map(|stage| {
                stage
                    .endpoints()
                    .iter()
                    .map(|endpoint| (endpoint, declared.resolve(endpoint, problems)))
                    .collect()
            })
            .collect();
        let capacity = chain.capacity.map(|c| c.value);
        for (position, link) in chain.links.iter().enumerate() {
            for &(from, from_index) in &stages[position] {
                for &(to, to_index) in &stages[position + 1] {
                    match (from_index, to_index, ports_make_sense) {
                        (Some(from_index), Some(to_index), true) => {
                            let ends = ((from, from_index), (to, to_index));
                            self.add(link.arrow, ends, capacity, problems);
                        }
                        _ => self
                            .tainted
                            .extend([from_index, to_index].into_iter().flatten()),
                    }
                }
            }
        }
    }

    /// One resolved edge, unless it repeats one already added (a mistake at its arrow).
    fn add(
        &mut self,
        arrow: Arrow,
        ((from, from_index), (to, to_index)): ((&Endpoint, usize), (&Endpoint, usize)),
        capacity: Option<usize>,
        problems: &mut Errors,
    ) {
        match arrow.kind {
            ArrowKind::Data => {
                let key = (
                    from_index,
                    from.port.as_ref().map(Ident::to_string),
                    to_index,
                    to.port.as_ref().map(Ident::to_string),
                );
                if !self.seen_data.insert(key) {
                    let edge = format!("{} -> {}", describe(from), describe(to));
                    problems.push(syn::Error::new(
                        arrow.span,
                        format!("edge `{edge}` is declared twice; every event would arrive twice"),
                    ));
                    return;
                }
                self.data.push(DataEdge {
                    from: Port::at(from, from_index),
                    to: Port::at(to, to_index),
                    arrow: arrow.span,
                    capacity,
                });
            }
            ArrowKind::Errors => {
                if !self.seen_errors.insert((from_index, to_index)) {
                    problems.push(syn::Error::new(
                        arrow.span,
                        format!(
                            "error edge `{} !-> {}` is declared twice",
                            from.actor, to.actor
                        ),
                    ));
                    return;
                }
                self.errors.push(ErrorEdge {
                    from: from_index,
                    to: to_index,
                    to_written: to.actor.clone(),
                });
            }
        }
    }

    /// Records on each actor whether some edge touches it, feeds it or leaves it.
    fn mark(&self, actors: &mut [Actor]) {
        for edge in &self.data {
            actors[edge.from.actor].connected = true;
            actors[edge.from.actor].feeds = true;
            actors[edge.to.actor].connected = true;
            actors[edge.to.actor].fed = true;
        }
        for edge in &self.errors {
            actors[edge.from].connected = true;
            actors[edge.to].connected = true;
            actors[edge.to].fed = true;
        }
        for &index in &self.tainted {
            actors[index].tainted = true;
            actors[index].connected = true;
        }
    }
}

impl Port {
    /// The end of an edge at `endpoint`, which names the actor at `actor`.
    fn at(endpoint: &Endpoint, actor: usize) -> Self {
        Port {
            actor,
            written: endpoint.actor.clone(),
            port: endpoint.port.clone(),
        }
    }
}

/// Whole-graph pass: an actor no edge touches is a mistake at its declaration (but for the log
/// actor, which the topology's log records feed).
fn report_unconnected(actors: &mut [Actor], problems: &mut Errors) {
    for actor in actors {
        if actor.is_log {
            actor.fed = true;
            actor.connected = true;
        } else if !actor.connected {
            let name = &actor.name;
            problems.push(syn::Error::new(
                name.span(),
                format!(
                    "actor `{name}` is declared but connected to nothing: add an edge such as \
                     `{name} -> …` or `… -> {name}`, or remove the declaration"
                ),
            ));
        }
    }
}

/// Port names are allowed where they are unambiguous: at the start of a chain (an outbox) and
/// at its end (an inbox), and never on an error edge (error outbox and error inbox are single).
/// Returns whether they are all where they make sense.
fn check_chain_ports(chain: &Chain, problems: &mut Errors) -> bool {
    let mut fine = true;
    let stages: Vec<&Stage> = std::iter::once(&chain.head)
        .chain(chain.links.iter().map(|l| &l.stage))
        .collect();
    let last = stages.len() - 1;
    for (position, stage) in stages.iter().enumerate() {
        let before = position.checked_sub(1).map(|i| chain.links[i].arrow.kind);
        let after = chain.links.get(position).map(|l| l.arrow.kind);
        for endpoint in stage.endpoints() {
            let Some(port) = &endpoint.port else {
                continue;
            };
            let actor = &endpoint.actor;
            if before == Some(ArrowKind::Errors) || after == Some(ArrowKind::Errors) {
                fine = false;
                problems.push(syn::Error::new(
                    port.span(),
                    format!(
                        "an error edge joins error outbox and error inbox, which have no names: \
                         write `{actor}` instead of `{actor}.{port}` here"
                    ),
                ));
            } else if position != 0 && position != last {
                fine = false;
                problems.push(syn::Error::new(
                    port.span(),
                    format!(
                        "`{actor}.{port}` is in the middle of a chain, where it would name both \
                         an inbox and an outbox: split the chain, as in `… -> {actor}.{port};` \
                         and `{actor}.<outbox> -> …;`"
                    ),
                ));
            }
        }
    }
    fine
}

/// For each actor, whether some path of edges leads from its data outboxes back to it (error
/// edges count: an actor downstream may answer by failing).
fn answered_actors(count: usize, data: &[DataEdge], errors: &[ErrorEdge]) -> Vec<bool> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut data_next: Vec<Vec<usize>> = vec![Vec::new(); count];
    for edge in data {
        next[edge.from.actor].push(edge.to.actor);
        data_next[edge.from.actor].push(edge.to.actor);
    }
    for edge in errors {
        next[edge.from].push(edge.to);
    }
    (0..count)
        .map(|start| {
            let mut seen = vec![false; count];
            let mut queue: VecDeque<usize> = data_next[start].iter().copied().collect();
            while let Some(actor) = queue.pop_front() {
                if actor == start {
                    return true;
                }
                if !std::mem::replace(&mut seen[actor], true) {
                    queue.extend(next[actor].iter().copied());
                }
            }
            false
        })
        .collect()
}

/// Groups data edges by the outbox they leave from. An edge that names no port leaves from the
/// actor's only outbox, so it shares that outbox with every other edge of the actor.
fn group_by_outbox(edges: Vec<DataEdge>) -> Vec<OutboxEdges> {
    let unnamed: HashSet<usize> = edges
        .iter()
        .filter(|e| e.from.port.is_none())
        .map(|e| e.from.actor)
        .collect();
    let mut groups: Vec<OutboxEdges> = Vec::new();
    let mut index: HashMap<(usize, Option<String>), usize> = HashMap::new();
    for edge in edges {
        let port = match &edge.from.port {
            Some(port) if !unnamed.contains(&edge.from.actor) => Some(port.to_string()),
            _ => None,
        };
        let slot = *index.entry((edge.from.actor, port)).or_insert_with(|| {
            groups.push(OutboxEdges {
                edges: Vec::new(),
                fan_out: None,
            });
            groups.len() - 1
        });
        let group = &mut groups[slot];
        if group.edges.len() == 1 {
            group.fan_out = Some(edge.arrow);
        }
        group.edges.push(edge);
    }
    groups
}

/// An endpoint as the user wrote it, `actor` or `actor.port`.
fn describe(endpoint: &Endpoint) -> String {
    match &endpoint.port {
        Some(port) => format!("{}.{}", endpoint.actor, port),
        None => endpoint.actor.to_string(),
    }
}

/// The declared name closest to a mistyped one, if it is close enough to be a typo: at most a
/// third of the longer name's length in single-character edits (at least one), the nearest
/// first, and of those the first in alphabetical order. (The `Director`'s run-time check suggests
/// names by the same rule.)
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = |candidate: &str| (candidate.len().max(name.len()) / 3).max(1);
    candidates
        .map(|candidate| (strsim::levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= limit(candidate))
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(source: &str) -> syn::Result<Graph> {
        let (graph, problems) = check(syn::parse_str(source).expect("valid syntax"));
        problems.finish().map(|()| graph)
    }

    fn messages(source: &str) -> Vec<String> {
        match graph(source) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn typos_get_the_closest_name() {
        let names = ["generator", "output_one", "output_two"];
        assert_eq!(closest("genrator", names.into_iter()), Some("generator"));
        assert_eq!(closest("output_on", names.into_iter()), Some("output_one"));
        assert_eq!(closest("zzz", names.into_iter()), None);
        // One edit from both: the first in alphabetical order.
        assert_eq!(closest("hat", ["cat", "bat"].into_iter()), Some("bat"));
        // Too far for a short name: a third of 3 characters is one edit.
        assert_eq!(closest("xyz", ["abc"].into_iter()), None);
        assert_eq!(closest("abd", ["abc"].into_iter()), Some("abc"));
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let found = messages("a = A; a = B; c = C; a -> d; e -> a;");
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("`a` is declared twice"));
        assert!(found.iter().any(|m| m.contains("no actor named `d`")));
        assert!(found.iter().any(|m| m.contains("no actor named `e`")));
        assert!(found
            .iter()
            .any(|m| m.contains("`c` is declared but connected to nothing")));
    }

    #[test]
    fn a_cycle_through_an_error_edge_answers() {
        let graph = graph("s = S; a = A; b = B; s -> a -> b; b !-> s;").expect("valid");
        let answered: Vec<bool> = graph.actors.iter().map(|a| a.answered).collect();
        // s -> a -> b !-> s: s and a are on the cycle; b sends nothing on.
        assert_eq!(answered, [true, true, false]);
    }

    #[test]
    fn a_fan_out_is_found_across_statements() {
        let graph = graph("a = A; b = B; c = C; a -> b; a -> c;").expect("valid");
        assert_eq!(graph.outboxes.len(), 1);
        assert!(graph.outboxes[0].fan_out.is_some());
    }

    #[test]
    fn named_outboxes_are_separate_unless_one_edge_names_none() {
        let separate = graph("a = A; b = B; c = C; a.x -> b; a.y -> c;").expect("valid");
        assert_eq!(separate.outboxes.len(), 2);
        let shared = graph("a = A; b = B; c = C; a.x -> b; a -> c;").expect("valid");
        assert_eq!(shared.outboxes.len(), 1);
    }

    #[test]
    fn chains_with_groups_connect_every_pair() {
        let graph = graph("a = A; b = B; c = C; d = D; a -> [b, c] -> d;").expect("valid");
        let edges: Vec<(usize, usize)> = graph
            .outboxes
            .iter()
            .flat_map(|o| o.edges.iter().map(|e| (e.from.actor, e.to.actor)))
            .collect();
        assert_eq!(edges, [(0, 1), (0, 2), (1, 3), (2, 3)]);
    }
}
