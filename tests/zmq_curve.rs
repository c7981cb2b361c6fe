//! The ZeroMQ connectors over CURVE (RFC 26), against pyzmq's libzmq in both directions: our
//! bound PUSH as the CURVE server for a pyzmq PULL, our PULL as a CURVE client of a bound
//! pyzmq PUSH; and a peer whose key is not on the allow-list gets nothing through.

#[path = "zmq_peers/harness.rs"]
mod harness;

use compysition::actors::{ZmqPull, ZmqPush};
use compysition::curve::{AllowList, CurveClient, CurveServer, KeyPair};
use harness::*;

const BODIES: &[&[&[u8]]] = &[&[b"sealed"], &[b"two", b"frames"], &[b""]];

/// A key pair in Z85, as the python peer takes it.
fn z85_pair(keys: &KeyPair) -> [String; 2] {
    [keys.public().to_z85(), keys.secret().to_z85()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_curve_push_serves_a_pyzmq_curve_pull() {
    let (server, client) = (KeyPair::generate(), KeyPair::generate());
    let server_public = server.public().to_z85();
    let allow = AllowList::new().with(*client.public());
    let push = ZmqPush::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .curve_server(CurveServer::new(server, allow));
    let stats = push.stats();
    let [public, secret] = z85_pair(&client);
    let python = PythonPeer::spawn(
        "pull",
        Place::Connect(push.endpoint()),
        &[
            "--curve-public",
            &public,
            "--curve-secret",
            &secret,
            "--curve-server-key",
            &server_public,
        ],
    );
    let (_flow, events) = sink_flow(push, 16);
    for body in BODIES {
        events.send(message(body)).await.expect("the feed runs");
    }
    for body in BODIES {
        assert_eq!(python.next_message(), owned(body));
    }
    assert_eq!(stats.messages_sent(), BODIES.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_curve_pull_is_fed_by_a_pyzmq_curve_push() {
    let (server, client) = (KeyPair::generate(), KeyPair::generate());
    let [public, secret] = z85_pair(&server);
    let server_public = *server.public();
    let mut python = PythonPeer::spawn(
        "push",
        ANY_PORT,
        &["--curve-public", &public, "--curve-secret", &secret],
    );
    let pull = ZmqPull::connect(&python.endpoint)
        .expect("a valid endpoint")
        .curve_client(CurveClient::new(client, server_public));
    let (_flow, mut events) = source_flow(pull);
    for body in BODIES {
        python.send(body);
    }
    for body in BODIES {
        assert_eq!(next_event(&mut events).await, owned(body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_not_on_the_allow_list_gets_nothing_through() {
    let (server, allowed, stranger) = (
        KeyPair::generate(),
        KeyPair::generate(),
        KeyPair::generate(),
    );
    let server_public = *server.public();
    let pull = ZmqPull::bind("tcp://127.0.0.1:0")
        .expect("a free port")
        .curve_server(CurveServer::new(
            server,
            AllowList::new().with(*allowed.public()),
        ));
    let pull_stats = pull.stats();
    let endpoint = pull.endpoint().to_owned();
    let (_pulling, mut received) = source_flow(pull);
    // A plaintext peer and a peer with a key the server does not allow: both refused.
    let plain = ZmqPush::connect(&endpoint).expect("a valid endpoint");
    let (_plain_flow, plain_events) = sink_flow(plain, 16);
    let strange = ZmqPush::connect(&endpoint)
        .expect("a valid endpoint")
        .curve_client(CurveClient::new(stranger, server_public));
    let (_strange_flow, strange_events) = sink_flow(strange, 16);
    let _ = plain_events.try_send(message(&[b"plain"]));
    let _ = strange_events.try_send(message(&[b"strange"]));
    assert!(
        eventually(|| pull_stats.refused_connections() >= 2).await,
        "both refused: {pull_stats:?}"
    );
    // The allowed key gets its message through the same socket.
    let allowed = ZmqPush::connect(&endpoint)
        .expect("a valid endpoint")
        .curve_client(CurveClient::new(allowed, server_public));
    let (_allowed_flow, allowed_events) = sink_flow(allowed, 16);
    allowed_events
        .send(message(&[b"allowed"]))
        .await
        .expect("the feed runs");
    assert_eq!(next_event(&mut received).await, owned(&[b"allowed"]));
    assert_eq!(
        pull_stats.messages_received(),
        1,
        "nothing else came through"
    );
}
