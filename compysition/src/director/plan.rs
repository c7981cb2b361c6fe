//! The first step of `start()`: resolve every edge to the indexes of its actors and ports,
//! collecting every mistake (unknown names with the closest registered one, unknown or
//! ambiguous ports, payload mismatches, fan-outs of payloads that cannot be copied, error edges
//! to actors without an error inbox) so that one `start()` reports them all.

use std::collections::BTreeMap;

use crate::error::{Error, Result, TopologyError, TopologyErrors};
use crate::port::shorten_type_name;
use crate::port::{ActorRef, PortKind, PortSpec};

use super::Director;

impl Director {
    /// Resolves every edge to port indexes, collecting every mistake.
    pub(super) fn plan(&mut self) -> Result<Plan> {
        let mut problems = std::mem::take(&mut self.problems);
        let mut data_edges = Vec::new();
        for (i, edge) in self.edges.iter().enumerate() {
            let from = self.resolve(&edge.from, edge.from_port, Direction::Outbox, &mut problems);
            let to = self.resolve(&edge.to, edge.to_port, Direction::Inbox, &mut problems);
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let sent = &self.actors[from.0].outboxes[from.1];
            let taken = &self.actors[to.0].inboxes[to.1];
            let mut fits = true;
            for (actor, spec, declared) in
                [(&edge.from, sent, edge.sent), (&edge.to, taken, edge.taken)]
            {
                if spec.payload_id() != declared.0 {
                    fits = false;
                    problems.push(TopologyError::PayloadMismatch {
                        port: format!("{}.{}", actor.name, spec.name()),
                        declared: shorten_type_name(declared.1),
                        actual: shorten_type_name(spec.payload()),
                    });
                }
            }
            if !fits {
                continue;
            }
            data_edges.push(PlannedEdge {
                record: i,
                from,
                to,
            });
        }
        // An outbox with several edges needs copies; an exclusive edge must be alone.
        let mut per_outbox: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for edge in &data_edges {
            per_outbox.entry(edge.from).or_default().push(edge.record);
        }
        for ((actor, port), records) in &per_outbox {
            let exclusive = records.iter().any(|&r| !self.edges[r].copyable);
            if records.len() > 1 && exclusive {
                let spec = &self.actors[*actor].outboxes[*port];
                problems.push(TopologyError::FanOutOfUniquePayload {
                    outbox: format!("{}.{}", self.actors[*actor].name, spec.name()),
                    edges: records.len(),
                    payload: spec.payload(),
                });
            }
        }
        let mut error_edges = Vec::new();
        for edge in &self.error_edges {
            let from = self.find(&edge.from, &mut problems);
            let to = self.find(&edge.to, &mut problems);
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if !self.actors[to].error_inbox {
                problems.push(TopologyError::NoErrorInbox {
                    from: edge.from.name.to_string(),
                    to: edge.to.name.to_string(),
                });
                continue;
            }
            error_edges.push((from, to));
        }
        if !problems.is_empty() {
            return Err(Error::Topology(TopologyErrors(problems)));
        }
        Ok(Plan {
            data_edges,
            error_edges,
        })
    }

    fn find(&self, actor: &ActorRef, problems: &mut Vec<TopologyError>) -> Option<usize> {
        match self.by_name.get(&actor.name) {
            Some(&index) => Some(index),
            None => {
                let error = TopologyError::UnknownActor {
                    name: actor.name.to_string(),
                    suggestion: closest(&actor.name, self.by_name.keys().map(|k| &**k)),
                };
                if !problems.contains(&error) {
                    problems.push(error);
                }
                None
            }
        }
    }

    fn resolve(
        &self,
        actor: &ActorRef,
        port: Option<&'static str>,
        direction: Direction,
        problems: &mut Vec<TopologyError>,
    ) -> Option<(usize, usize)> {
        let index = self.find(actor, problems)?;
        let ports = match direction {
            Direction::Inbox => &self.actors[index].inboxes,
            Direction::Outbox => &self.actors[index].outboxes,
        };
        let names = || {
            ports
                .iter()
                .map(|p| p.name().to_string())
                .collect::<Vec<_>>()
        };
        let found = match port {
            Some(name) => ports.iter().position(|p| p.name() == name),
            None => lone_port(ports),
        };
        if found.is_none() {
            problems.push(match port {
                None if ports.len() > 1 => TopologyError::AmbiguousPort {
                    actor: actor.name.to_string(),
                    direction: direction.label(),
                    available: names(),
                },
                _ => TopologyError::UnknownPort {
                    actor: actor.name.to_string(),
                    direction: direction.label(),
                    port: port.unwrap_or(direction.label()).to_string(),
                    available: names(),
                },
            });
        }
        found.map(|port| (index, port))
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Inbox,
    Outbox,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Inbox => "inbox",
            Direction::Outbox => "outbox",
        }
    }
}

/// The edges resolved to port indexes: what `launch` wires.
pub(super) struct Plan {
    pub(super) data_edges: Vec<PlannedEdge>,
    /// (from, to) actor indexes of the error edges.
    pub(super) error_edges: Vec<(usize, usize)>,
}

/// A data edge: its record, and the (actor, port) indexes of its ends.
pub(super) struct PlannedEdge {
    pub(super) record: usize,
    pub(super) from: (usize, usize),
    pub(super) to: (usize, usize),
}

/// The only data port, if there is exactly one.
pub(super) fn lone_port(ports: &[PortSpec]) -> Option<usize> {
    let mut data = ports
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind() == PortKind::Data);
    match (data.next(), data.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The registered name closest to a mistyped one, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn typos_get_a_suggestion() {
        let names = ["output_one", "output_two", "generator"];
        assert_eq!(
            closest("genrator", names.into_iter()),
            Some("generator".into())
        );
        assert_eq!(closest("zzz", names.into_iter()), None);
    }
}
