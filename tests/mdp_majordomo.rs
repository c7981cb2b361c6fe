//! The `majordomo` example as a user runs it: HTTP in, through the MDP client, broker and
//! worker, `Hello, this has been a test` out.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::time::Duration;

use harness::*;

#[test]
fn the_majordomo_example_answers_an_http_request_through_mdp() {
    let examples = example_binaries(&["majordomo"]);
    let mut command = std::process::Command::new(examples.join("majordomo"));
    command
        .env("COMPYSITION_ADDR", "127.0.0.1:0")
        .env("MDP_BROKER", "tcp://127.0.0.1:0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("the example starts");
    let stdout = child.stdout.take().expect("piped");
    let _process = Process(child);
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let address = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the example says where it listens");
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.split('/').next().expect("host:port").to_string();
        }
    };
    // The worker registers in the background: ask until it answers (a 503 means not yet).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let response = loop {
        let mut stream = std::net::TcpStream::connect(&address).expect("the server accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout set");
        write!(
            stream,
            "GET /test_service HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        if response.starts_with("HTTP/1.1 200") || std::time::Instant::now() > deadline {
            break response;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with("\r\n\r\nHello, this has been a test"),
        "{response}"
    );
}
