//! `BasicAuth` in front of a flow, over a real socket: `401` with a challenge for bad
//! credentials, the flow for good ones, and never a credential in the logs.

mod http_client;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use compysition::actors::{BasicAuth, HttpServer};
use compysition::actors::{EventLogger, Stdout};
use compysition::http::{Body, Challenge, UserTable};
use compysition::prelude::*;
use compysition::RunningTopology;
use http::Method;
use http_client::{send, Reply};
use tracing::Level;

const PASSWORD: &str = "wonderland";
/// `alice:wonderland` in base64, as a client sends it.
const TOKEN: &str = "YWxpY2U6d29uZGVybGFuZA==";
/// `alice:looking-glass`.
const WRONG_TOKEN: &str = "YWxpY2U6bG9va2luZy1nbGFzcw==";

/// Everything logged or printed in this test binary.
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static CAPTURED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    Arc::clone(CAPTURED.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&sink)))
            .init();
        buffer
    }))
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `wsgi -> [logger -> auth -> greet -> wsgi, printer]; auth !-> wsgi;` — the logger logs every
/// event and the printer prints whole events (with their HTTP context) into the capture.
fn start(auth: BasicAuth) -> (SocketAddr, RunningTopology) {
    let capture = captured();
    let server = HttpServer::bind("127.0.0.1:0").expect("a free port");
    let addr = server.local_addr().expect("bound");
    let mut director = Director::new();
    let wsgi = director.register_actor("wsgi", server);
    let logger = director.register_actor("logger", EventLogger::<Body>::new().level(Level::TRACE));
    let printer = director.register_actor(
        "printer",
        Stdout::new().complete(true).writer(Capture(capture)),
    );
    let auth = director.register_actor("auth", auth);
    let greet = director.register_actor(
        "greet",
        from_fn(|event: Event<Body>| async move {
            let user = event.attribute("user").unwrap_or("nobody").to_string();
            Ok(event.with_data(Body::Text(format!("hello, {user}"))))
        }),
    );
    director.connect_queue(&wsgi, (&logger, &printer));
    director.connect_queue(&logger, &auth);
    director.connect_queue(&auth, &greet);
    director.connect_queue(&greet, &wsgi);
    director.connect_error_queue(&auth, &wsgi);
    let running = Topology::new(director).start().expect("starts");
    (addr, running)
}

async fn get(addr: SocketAddr, authorization: Option<&str>) -> Reply {
    let header;
    let headers: Vec<(&str, &str)> = match authorization {
        Some(token) => {
            header = format!("Basic {token}");
            vec![("authorization", header.as_str())]
        }
        None => Vec::new(),
    };
    send(addr, Method::GET, "/greeting", &headers, "").await
}

fn assert_challenged(reply: &Reply, realm: &str, message: &str) {
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(&*format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
    );
    assert_eq!(reply.json()["errors"][0]["message"], message);
}

fn assert_no_credentials_logged() {
    let logs = captured();
    let logs = logs.lock().unwrap_or_else(PoisonError::into_inner);
    let logs = String::from_utf8_lossy(&logs);
    // Whole events were printed, their Authorization header redacted.
    assert!(logs.contains(r#""authorization": Sensitive"#), "{logs}");
    for secret in [PASSWORD, "looking-glass", TOKEN, WRONG_TOKEN] {
        assert!(!logs.contains(secret), "`{secret}` was logged:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_credentials_reach_the_flow_with_the_user_set() {
    let (addr, running) = start(BasicAuth::with_users([("alice", PASSWORD)]));
    let reply = get(addr, Some(TOKEN)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello, alice");
    running.stop().await.expect("stops");
    assert_no_credentials_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_401_with_a_challenge_and_never_logged() {
    let (addr, running) = start(BasicAuth::with_users([("alice", PASSWORD)]).realm("orders"));
    assert_challenged(
        &get(addr, Some(WRONG_TOKEN)).await,
        "orders",
        "invalid credentials",
    );
    // An unknown user is rejected the same way.
    let mallory = "bWFsbG9yeTp3b25kZXJsYW5k"; // mallory:wonderland
    assert_challenged(
        &get(addr, Some(mallory)).await,
        "orders",
        "invalid credentials",
    );
    assert_challenged(&get(addr, None).await, "orders", "credentials required");
    assert_challenged(
        &get(addr, Some("not base64!")).await,
        "orders",
        "malformed Basic credentials",
    );
    running.stop().await.expect("stops");
    assert_no_credentials_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argon2_hashed_passwords_are_accepted() {
    // Small parameters keep the test fast; real tables use the argon2 defaults.
    let params = Params::new(256, 1, 1, None).expect("valid parameters");
    let salt = SaltString::from_b64("c2FsdHlzYWx0eXNhbHR5").expect("valid salt");
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("hashes")
        .to_string();
    let table = UserTable::new()
        .user_with_hash("alice", &hash)
        .expect("a valid hash");
    let (addr, running) = start(BasicAuth::new(table));
    assert_eq!(get(addr, Some(TOKEN)).await.status, 200);
    assert_eq!(get(addr, Some(WRONG_TOKEN)).await.status, 401);
    running.stop().await.expect("stops");
    assert_no_credentials_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_always_names_the_realm_as_a_quoted_string() {
    let realm = "say \"hi\" \\ line\nbreak café";
    let (addr, running) = start(BasicAuth::with_users([("alice", PASSWORD)]).realm(realm));
    assert_challenged(
        &get(addr, None).await,
        r#"say \"hi\" \\ line?break caf?"#,
        "credentials required",
    );
    running.stop().await.expect("stops");
    assert_no_credentials_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realm_from_any_unauthorized_error_reaches_the_challenge() {
    // An authentication step of the flow's own, not a BasicAuth: its realm is not cleaned
    // when set.
    let server = HttpServer::bind("127.0.0.1:0").expect("a free port");
    let addr = server.local_addr().expect("bound");
    let mut director = Director::new();
    let wsgi = director.register_actor("wsgi", server);
    let gate = director.register_actor(
        "gate",
        from_fn(|_: Event<Body>| async move {
            Err::<Event<Body>, _>(
                EventError::unauthorized("go away").with_extension(Challenge::basic("tab\there")),
            )
        }),
    );
    director.connect_queue(&wsgi, &gate);
    director.connect_queue(&gate, &wsgi);
    director.connect_error_queue(&gate, &wsgi);
    let running = Topology::new(director).start().expect("starts");
    assert_challenged(&get(addr, None).await, "tab?here", "go away");
    running.stop().await.expect("stops");
}
