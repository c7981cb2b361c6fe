//! The `one_way` example as a user runs it: two printers fed by one generator, each line in
//! the Python README's format, and Ctrl-C (SIGINT) stops it cleanly.

#[path = "mdp_peers/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{example_binaries, spawn};

/// `[YYYY-MM-DD HH:MM:SS.ffffff] ` and what follows it, if `line` starts so.
fn after_timestamp(line: &str) -> Option<&str> {
    let stamp = line.get(..28)?;
    let shape_ok = stamp.char_indices().all(|(i, c)| match i {
        0 => c == '[',
        5 | 8 => c == '-',
        11 => c == ' ',
        14 | 17 => c == ':',
        20 => c == '.',
        27 => c == ']',
        _ => c.is_ascii_digit(),
    });
    (shape_ok && line[28..].starts_with(' ')).then(|| &line[29..])
}

#[test]
fn one_way_prints_both_copies_and_stops_on_sigint() {
    let examples = example_binaries(&["one_way"]);
    let (mut process, lines) = spawn(examples.join("one_way"), &[]);
    let (mut one, mut two) = (false, false);
    while !(one && two) {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the example prints within its first ticks");
        match after_timestamp(&line) {
            Some("I am number one: test") => one = true,
            Some("I am number two: test") => two = true,
            _ => panic!("unexpected line {line:?}"),
        }
    }
    // The shell's own `kill`: every machine with a shell has it.
    let sent = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", process.0.id())])
        .status()
        .expect("sh runs");
    assert!(sent.success());
    // std offers no wait with a timeout: look at the child until it has exited.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = process.0.try_wait().expect("the child can be waited on") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
}
