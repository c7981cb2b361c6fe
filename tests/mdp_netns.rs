//! Across hosts for real: the broker, an echo worker and a client, each an example process in
//! a network namespace of its own, joined by point-to-point links that hold every packet 50 ms
//! and drop 5 % of them (`tests/netns/lossy_link.py`: TUN devices and a relay, since this
//! kernel has no netem). A thousand requests, every one answered with its own body.
//!
//! The test creates and removes the namespaces itself; it needs root and `ip(8)`, as the
//! project's CI machine has.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const REQUESTS: u32 = 1000;
/// How long the whole run may take: 1 000 requests, 50 at once, each crossing four links of
/// 50 ms plus retransmissions.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Namespaces that are removed when the test ends, however it ends.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn create(names: &[&str]) -> Result<Namespaces, String> {
        let mut created = Namespaces(Vec::new());
        for name in names {
            ip(&["netns", "add", name])?;
            created.0.push((*name).to_owned());
            ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        Ok(created)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let status = Command::new("ip")
        .args(args)
        .status()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ip {} failed: {status}", args.join(" ")))
    }
}

/// A child process that is stopped when the test ends.
struct Running {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
        let stdout = child.stdout.take().map(BufReader::new);
        Running { child, stdout }
    }

    /// The next line it prints.
    fn line(&mut self) -> String {
        let mut line = String::new();
        if let Some(stdout) = &mut self.stdout {
            let _ = stdout.read_line(&mut line);
        }
        line.trim().to_owned()
    }

    /// Asks it to stop (SIGTERM) and returns what it printed after.
    fn terminate(&mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let mut rest = String::new();
        if let Some(stdout) = &mut self.stdout {
            let _ = std::io::Read::read_to_string(stdout, &mut rest);
        }
        rest
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An example program, built beside this test.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    dir.join("examples").join(name)
}

fn in_namespace(namespace: &str, program: PathBuf, args: &[&str]) -> Command {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", namespace])
        .arg(program)
        .args(args);
    command
}

/// A lossy link between two namespaces, started and ready.
fn link(a: (&str, &str), b: (&str, &str), device: &str, seed: &str) -> Running {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/netns/lossy_link.py");
    let mut command = Command::new("python3");
    command.arg(script).args([a.0, a.1, b.0, b.1]).args([
        "--delay-ms",
        "50",
        "--loss",
        "0.05",
        "--seed",
        seed,
        "--device",
        device,
    ]);
    let mut link = Running::start(command);
    assert_eq!(
        link.line(),
        "ready",
        "the link between {} and {} is up",
        a.0,
        b.0
    );
    link
}

/// `dropped=N` from a link's last words.
fn dropped(report: &str) -> u64 {
    report
        .split_whitespace()
        .find_map(|field| field.strip_prefix("dropped="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_thousand_requests_across_three_slow_lossy_hosts_are_all_answered() {
    let tag = std::process::id();
    let (broker, worker, client) = (
        format!("cpy{tag}b"),
        format!("cpy{tag}w"),
        format!("cpy{tag}c"),
    );
    let _spaces = Namespaces::create(&[&broker, &worker, &client])
        .expect("network namespaces (root and ip(8) are needed)");
    let mut client_link = link(
        (&client, "10.77.1.1"),
        (&broker, "10.77.1.2"),
        "lossyc",
        "1",
    );
    let mut worker_link = link(
        (&worker, "10.77.2.1"),
        (&broker, "10.77.2.2"),
        "lossyw",
        "2",
    );

    let mut broker_process = Running::start(in_namespace(
        &broker,
        example("mdp_broker"),
        &["--bind", "tcp://0.0.0.0:5555"],
    ));
    assert!(broker_process.line().contains("5555"), "the broker listens");
    let _worker_process = Running::start(in_namespace(
        &worker,
        example("mdp_worker"),
        &[
            "--connect",
            "tcp://10.77.2.2:5555",
            "--service",
            "echo",
            "--connections",
            "16",
        ],
    ));
    let requests = REQUESTS.to_string();
    let mut client_process = Running::start(in_namespace(
        &client,
        example("mdp_client"),
        &[
            "--connect",
            "tcp://10.77.1.2:5555",
            "--service",
            "echo",
            "--requests",
            &requests,
            "--concurrency",
            "50",
            "--timeout-ms",
            "5000",
            "--retries",
            "3",
        ],
    ));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = client_process
            .child
            .try_wait()
            .expect("the client's status")
        {
            break status;
        }
        assert!(
            started.elapsed() < RUN_LIMIT,
            "the client still runs after {RUN_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let report = client_process.line();
    assert_eq!(report, format!("answered={REQUESTS} wrong=0 failed=0"));
    assert!(status.success(), "{status}");
    // The loss was real: both links dropped packets.
    let (client_side, worker_side) = (client_link.terminate(), worker_link.terminate());
    assert!(dropped(&client_side) > 0, "client link: {client_side}");
    assert!(dropped(&worker_side) > 0, "worker link: {worker_side}");
    println!(
        "{REQUESTS} requests in {:?}; client link {client_side}; worker link {worker_side}",
        started.elapsed()
    );
    broker_process.terminate();
}
