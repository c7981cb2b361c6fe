//! Majordomo across processes: the `mdp_broker` example in one process, two `mdp_worker`
//! examples in two more, and an `MdpClient` flow in the test. One worker is killed (SIGKILL, no
//! goodbye) in the middle of 10 000 requests: every request still ends in a reply or an error,
//! none hangs, and the surviving worker takes over the rest.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::time::Duration;

use compysition::actors::MdpClient;
use compysition::mdp::Frames;
use compysition::prelude::*;
use harness::*;

const REQUESTS: usize = 10_000;
const KILL_AFTER: usize = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_worker_mid_load_loses_no_request_and_the_other_takes_over() {
    let examples = tokio::task::spawn_blocking(|| example_binaries(&["mdp_broker", "mdp_worker"]))
        .await
        .expect("build step ran");
    let beat = ["--heartbeat-ms", "200", "--liveness", "3"];
    let mut broker_args = vec!["--bind", "tcp://127.0.0.1:0"];
    broker_args.extend(beat);
    let (_broker, broker_out) = spawn(examples.join("mdp_broker"), &broker_args);
    let line = broker_out
        .recv_timeout(Duration::from_secs(30))
        .expect("the broker says where it listens");
    let endpoint = line
        .rsplit(' ')
        .next()
        .expect("`... listening on ENDPOINT`")
        .to_string();
    let worker_args = |connections: &'static str| {
        let mut args = vec![
            "--connect",
            endpoint.as_str(),
            "--service",
            "echo",
            "--connections",
            connections,
        ];
        args.extend(beat);
        args
    };
    let (mut doomed, _) = spawn(examples.join("mdp_worker"), &worker_args("4"));
    let (_survivor, _) = spawn(examples.join("mdp_worker"), &worker_args("4"));

    let mut flow = ClientFlow::start(
        MdpClient::connect(&endpoint)
            .expect("valid endpoint")
            .timeout(Duration::from_secs(1))
            .retries(3)
            .with_concurrency(32),
    );
    // Both workers up: MMI says so for the first; a short pause would not prove the second, so
    // the load itself shows it (the killed worker must have been serving for the kill to matter).
    let mut up = false;
    for _ in 0..200 {
        let reply = flow
            .ask("mmi.service", Frames::single("echo".to_string()))
            .await
            .expect("the broker answers MMI");
        if reply.data == Frames::single("200".to_string()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(up, "the workers registered");

    let mut sent = std::collections::HashMap::with_capacity(REQUESTS);
    for n in 0..REQUESTS {
        let event = Event::new(Frames::new([n.to_string()])).with_service("echo");
        sent.insert(event.id(), n);
        flow.requests.send(event).expect("feeder runs");
    }
    let (mut replies, mut errors, mut replies_after_kill) = (0usize, Vec::new(), 0usize);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    for done in 0..REQUESTS {
        if done == KILL_AFTER {
            doomed.0.kill().expect("SIGKILL the first worker");
            let _ = doomed.0.wait();
        }
        let outcome = tokio::time::timeout_at(deadline, flow.outcomes.recv())
            .await
            .unwrap_or_else(|_| panic!("request {done} of {REQUESTS} hangs"))
            .expect("collector runs");
        match outcome {
            Ok(reply) => {
                let n = sent.remove(&reply.id()).expect("a reply to a request sent");
                assert_eq!(reply.data, Frames::new([n.to_string()]), "its own reply");
                replies += 1;
                if done >= KILL_AFTER {
                    replies_after_kill += 1;
                }
            }
            Err(failed) => {
                sent.remove(&failed.id())
                    .expect("an error for a request sent");
                errors.push(failed.error().map(ToString::to_string).unwrap_or_default());
            }
        }
    }
    println!(
        "{replies} replies ({replies_after_kill} after the kill), {} errors: {errors:?}",
        errors.len()
    );
    assert!(sent.is_empty(), "every request ended");
    assert_eq!(replies + errors.len(), REQUESTS);
    assert!(
        errors.len() <= 8,
        "at most the requests in the killed worker's hands fail"
    );
    assert!(
        replies_after_kill >= REQUESTS - KILL_AFTER - 8,
        "the surviving worker took over"
    );
    flow.director.stop().await.expect("the client flow stops");
}
