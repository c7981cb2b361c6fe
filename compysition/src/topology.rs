//! [`Topology`]: a wired graph of actors, ready to run. `topology!` evaluates to one; a
//! [`Director`] becomes one with [`Topology::new`].

use crate::director::{Director, StopHandle};
use crate::error::Result;
use crate::graph::Graph;

/// A wired graph of actors, not yet running.
pub struct Topology {
    director: Director,
}

impl Topology {
    /// The topology a director has built.
    pub fn new(director: Director) -> Self {
        Topology { director }
    }

    /// Runs until every source is exhausted and every event handled, or until stopped through a
    /// [`handle`](Self::handle) (then gracefully, within the shutdown timeout).
    pub async fn run(mut self) -> Result<()> {
        self.director.start()?;
        self.director.wait().await
    }

    /// Runs until SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(mut self) -> Result<()> {
        self.director.run_until_signal().await
    }

    /// Starts the actors and returns at once; the [`RunningTopology`] stops or awaits them.
    pub fn start(mut self) -> Result<RunningTopology> {
        self.director.start()?;
        Ok(RunningTopology {
            director: self.director,
        })
    }

    /// A handle that stops the topology from elsewhere (also before it runs).
    pub fn handle(&self) -> StopHandle {
        self.director.handle()
    }

    /// The graph: actors, ports, edges.
    pub fn graph(&self) -> Graph {
        self.director.graph()
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        self.graph().to_dot()
    }

    /// The graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        self.graph().to_mermaid()
    }

    /// The director underneath, for settings the macro does not cover.
    pub fn director_mut(&mut self) -> &mut Director {
        &mut self.director
    }
}

impl From<Director> for Topology {
    fn from(director: Director) -> Self {
        Topology::new(director)
    }
}

/// A started topology.
pub struct RunningTopology {
    director: Director,
}

impl RunningTopology {
    /// Stops gracefully and waits for every actor to finish.
    pub async fn stop(mut self) -> Result<()> {
        self.director.stop().await
    }

    /// Waits until the topology finishes by itself (or is stopped through a handle).
    pub async fn wait(mut self) -> Result<()> {
        self.director.wait().await
    }

    /// A handle that stops the topology from elsewhere.
    pub fn handle(&self) -> StopHandle {
        self.director.handle()
    }
}
