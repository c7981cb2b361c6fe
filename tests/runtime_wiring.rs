//! Mistakes the compiler cannot see are all reported by `start()`, never by a panic.

mod support;

use compysition::actors::{Null, Stdout};
use compysition::ports::{InPort, OutPort};
use compysition::prelude::*;
use compysition::{Error, TopologyError};
use support::feed;

fn problems(result: compysition::Result<()>) -> Vec<TopologyError> {
    match result {
        Err(Error::Topology(errors)) => errors.0,
        other => panic!("expected topology errors, got {other:?}"),
    }
}

#[tokio::test]
async fn start_rejects_an_unknown_actor_name_with_a_suggestion() {
    let mut director = Director::new();
    let (source, _tx) = feed::<String>(1);
    let source = director.register_actor("source", source);
    director.register_actor("output_one", Stdout::new());
    director.connect_queue(&source, InPort::<String>::named("output_on"));
    let problems = problems(director.start());
    assert_eq!(
        problems,
        [TopologyError::UnknownActor {
            name: "output_on".into(),
            suggestion: Some("output_one".into()),
        }]
    );
    assert_eq!(
        problems[0].to_string(),
        "no actor named `output_on`; did you mean `output_one`?"
    );
}

#[tokio::test]
async fn start_rejects_an_edge_to_a_port_that_does_not_exist() {
    let mut director = Director::new();
    let (source, _tx) = feed::<String>(1);
    let source = director.register_actor("source", source);
    director.register_actor("printer", Stdout::new());
    director.connect_queue(&source, InPort::<String>::named("printer").port("input"));
    let problems = problems(director.start());
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].to_string(),
        "actor `printer` has no inbox `input` (it has: inbox)"
    );
}

#[tokio::test]
async fn start_reports_every_mistake_at_once() {
    let mut director = Director::new();
    let (source, _tx) = feed::<String>(1);
    let source = director.register_actor("source", source);
    director.register_actor("sink", Null::<String>::new());
    director.register_actor("sink", Null::<String>::new());
    let pass = director.register_actor("pass", from_fn(|e: Event<u64>| async move { Ok(e) }));
    // Edges named by string are typed by the caller; a wrong type is caught at start.
    director.connect_queue(
        OutPort::<u64>::named("source"),
        InPort::<u64>::named("pass"),
    );
    director.connect_queue(
        OutPort::<String>::named("nobody"),
        InPort::<String>::named("sink"),
    );
    // `pass` has no error inbox.
    director.connect_error_queue(&source, pass.actor_ref());
    let text: Vec<String> = problems(director.start())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        [
            "actor `sink` is registered twice",
            "port `source.outbox` was named as `u64` but its payload is `String`",
            "no actor named `nobody`",
            "`source` !-> `pass`: actor `pass` has no error inbox",
        ]
    );
}

#[test]
fn start_outside_a_runtime_is_an_error_not_a_panic() {
    let mut director = Director::new();
    director.register_actor("sink", Null::<String>::new());
    assert!(matches!(director.start(), Err(Error::NoRuntime)));
}

#[tokio::test]
async fn starting_twice_is_an_error() {
    let mut director = Director::new();
    director.register_actor("sink", Null::<String>::new());
    director.start().expect("first start");
    assert!(matches!(director.start(), Err(Error::AlreadyStarted)));
    director.stop().await.expect("stops");
}
