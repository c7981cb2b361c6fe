//! XSLT through the `Xslt` actor in a topology against the engine called directly, and the
//! Xml → Json conversion against serde_json, measured in the same run.
//!
//! Cases: every XSLTMark stylesheet with an input of its own name in
//! `../shared/conformance/libxslt/XSLTMark/`. For each, the baseline transforms the input with
//! the compiled stylesheet in a loop on one thread (the engine's own speed); the actor, at its
//! default settings, runs the same number of transforms as events flowing
//! `feed -> Xslt -> sink`. Rates are summed over all cases (total transforms / total time), and
//! each figure is the best of a few interleaved rounds.
//!
//! - One core: the benchmark runs itself again pinned to one CPU (`taskset -c 0`), so that the
//!   actor's runtime, its worker and the baseline all share one core.
//! - Two cores: unpinned; the actor transforms two events at once (one worker per CPU) against
//!   the same single-threaded baseline. The engine also runs on two threads at once, which
//!   shows how much the second core gave during the run (on a machine shared with other work,
//!   often far less than a core).
//!
//! ```text
//! cargo bench --bench xslt
//! RESULT xslt_actor transforms_per_sec=<n> baseline=<n> ratio=<r>
//! RESULT xslt_actor_two_cores transforms_per_sec=<n> baseline=<n> ratio=<r>
//! RESULT xml_to_json mb_per_sec=<n> baseline=<serde_json MB/s> ratio=<r>
//! ```

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use compysition::actors::Xslt;
use compysition::prelude::*;
use compysition::xml::{xml_to_json, Stylesheet, TransformOptions};
use compysition::{Bytes, Xml};

const XSLTMARK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/libxslt/XSLTMark"
);

/// How long the baseline of each case should run, per round.
const TARGET_PER_CASE: Duration = Duration::from_millis(200);

/// Rounds per case and mode; the best round counts.
const ROUNDS: usize = 3;

struct Case {
    name: String,
    xsl: Vec<u8>,
    input: Xml,
    count: usize,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(XSLTMARK);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the XSLTMark directory")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "xsl").then_some(name)
        })
        .filter(|name| {
            // A case is a stylesheet with an input of the same name; say which are not.
            let has_input = dir.join(format!("{name}.xml")).exists();
            if !has_input {
                println!("skip {name}: no {name}.xml input of its own");
            }
            has_input
        })
        .collect();
    names.sort();
    let mut cases = Vec::new();
    for name in names {
        let xsl = std::fs::read(dir.join(format!("{name}.xsl"))).expect("stylesheet");
        let input =
            match Xml::parse(&std::fs::read(dir.join(format!("{name}.xml"))).expect("input")) {
                Ok(input) => input,
                Err(error) => {
                    println!("skip {name}: input rejected: {error}");
                    continue;
                }
            };
        let stylesheet = match Stylesheet::compile(&xsl) {
            Ok(stylesheet) => stylesheet,
            Err(error) => {
                println!("skip {name}: {error}");
                continue;
            }
        };
        let options = TransformOptions::new();
        // Calibrate: enough transforms for the baseline to run about TARGET_PER_CASE.
        let started = Instant::now();
        let mut probes = 0;
        while started.elapsed() < TARGET_PER_CASE / 10 {
            let result = stylesheet
                .transform(input.as_bytes(), &options)
                .expect("input parses");
            if let Some(error) = result.error() {
                println!("skip {name}: {error}");
                probes = 0;
                break;
            }
            probes += 1;
        }
        if probes == 0 {
            continue;
        }
        let per_transform = started.elapsed() / probes;
        let count = (TARGET_PER_CASE.as_nanos() / per_transform.as_nanos().max(1)).clamp(20, 20_000)
            as usize;
        cases.push(Case {
            name,
            xsl,
            input,
            count,
        });
    }
    cases
}

/// The engine's own speed: the compiled stylesheet called in a loop on one thread, or the case's
/// transforms shared among `threads` threads at once. Spawned threads, like the pool threads the
/// actor uses: the main thread differs (libxml2 keeps its state there without thread-locals,
/// and the allocator gives it its own arena).
fn baseline(case: &Case, threads: usize) -> Duration {
    let stylesheet = Stylesheet::compile(&case.xsl).expect("compiles");
    let options = TransformOptions::new();
    // Threads take transforms from a shared count, as the actor's workers take events from a
    // shared queue: a thread that other load on the machine holds up leaves its share to the
    // others.
    let left = AtomicUsize::new(case.count);
    let transform_while_left = || {
        while left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            let result = stylesheet
                .transform(case.input.as_bytes(), &options)
                .expect("transforms");
            std::hint::black_box(result.output());
        }
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(transform_while_left);
        }
    });
    started.elapsed()
}

/// Sends `count` copies of one event, then finishes.
struct Feed {
    input: Xml,
    count: usize,
}

impl Actor for Feed {
    type Inboxes = ();
    type Outboxes = Outbox<Xml>;

    async fn run(self, _ctx: Context, (): (), outbox: Outbox<Xml>) {
        for _ in 0..self.count {
            outbox.send(Event::new(self.input.clone())).await;
        }
    }
}

/// Counts what arrives, results and errors alike.
struct Count(Arc<AtomicUsize>);

impl Actor for Count {
    type Inboxes = Inbox<Bytes>;
    type Outboxes = ();
    const ERROR_INBOX: bool = true;

    async fn run(self, mut ctx: Context, mut inbox: Inbox<Bytes>, (): ()) {
        let errors = ctx.take_error_inbox();
        let count_errors = async {
            if let Some(mut errors) = errors {
                while errors.recv().await.is_some() {
                    self.0.fetch_add(1, Ordering::Relaxed);
                }
            }
        };
        let count_events = async {
            while let Some(event) = inbox.recv().await {
                std::hint::black_box(&event.data);
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        };
        tokio::join!(count_errors, count_events);
    }
}

impl TakesErrors for Count {}

/// The same transforms as events through `feed -> Xslt -> count`, the actor at its defaults.
fn through_actor(case: &Case, runtime: &tokio::runtime::Runtime) -> Duration {
    let arrived = Arc::new(AtomicUsize::new(0));
    let elapsed = runtime.block_on(async {
        let mut director = Director::new();
        let feed = director.register_actor(
            "feed",
            Feed {
                input: case.input.clone(),
                count: case.count,
            },
        );
        let xslt =
            director.register_actor("xslt", Xslt::compile_bytes(&case.xsl).expect("compiles"));
        let count = director.register_actor("count", Count(Arc::clone(&arrived)));
        director.connect_queue(&feed, &xslt);
        director.connect_queue(&xslt, &count);
        director.connect_error_queue(&xslt, &count);
        let started = Instant::now();
        director.start().expect("valid topology");
        director.wait().await.expect("drains");
        started.elapsed()
    });
    assert_eq!(
        arrived.load(Ordering::Relaxed),
        case.count,
        "{}: every event arrives",
        case.name
    );
    elapsed
}

fn rate(transforms: usize, time: Duration) -> f64 {
    transforms as f64 / time.as_secs_f64()
}

fn xml_to_json_figures() {
    let mut document = String::from("<orders>");
    let mut n = 0;
    while document.len() < 8 * 1024 * 1024 {
        document.push_str(&format!(
            "<order id=\"{n}\" status=\"open\"><customer>Customer {n} &amp; Sons</customer>\
             <line sku=\"A-{n}\" qty=\"2\">Widget</line><line sku=\"B-{n}\" qty=\"1\">Gadget</line>\
             <note>Deliver before noon, ring twice.</note></order>\n"
        ));
        n += 1;
    }
    document.push_str("</orders>");
    let xml = Xml::parse(document.as_bytes()).expect("well-formed");
    let json_text = serde_json::to_vec(&*xml_to_json(&xml)).expect("serialises");
    let megabytes = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);

    // Best of several interleaved rounds, as for the transforms.
    let best = |work: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                work();
                started.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX)
    };
    let ours = megabytes(xml.as_bytes().len())
        / best(&|| {
            std::hint::black_box(xml_to_json(&xml));
        })
        .as_secs_f64();
    let serde = megabytes(json_text.len())
        / best(&|| {
            let value: serde_json::Value = serde_json::from_slice(&json_text).expect("JSON");
            std::hint::black_box(value);
        })
        .as_secs_f64();
    let parse = megabytes(document.len())
        / best(&|| {
            std::hint::black_box(Xml::parse(document.as_bytes()).expect("well-formed"));
        })
        .as_secs_f64();

    println!(
        "xml_to_json: {:.1} MB of XML ({n} orders) -> {:.1} MB of JSON; Xml::parse (the well-formedness check) {parse:.0} MB/s",
        megabytes(document.len()),
        megabytes(json_text.len())
    );
    println!(
        "RESULT xml_to_json mb_per_sec={ours:.1} baseline={serde:.1} ratio={:.2}",
        ours / serde
    );
}

/// Set in the pinned copy of this benchmark that measures the one-core figures.
const ONE_CORE_PHASE: &str = "COMPYSITION_XSLT_BENCH_ONE_CORE";

/// Baseline and actor on every case; prints the table and the `RESULT` line. With `threads`
/// above one, it also measures the engine on that many threads at once: what the machine's
/// other cores actually gave during the run (on a shared machine, often much less than a core
/// each), against which the actor's figure can be read.
fn compare(label: &str, runtime: &tokio::runtime::Runtime, threads: usize) {
    let cases = cases();
    println!(
        "{label}: {} cases, {} CPU(s) available",
        cases.len(),
        cpus()
    );
    let parallel_column = (threads > 1).then(|| format!(" {:>14}", format!("engine x{threads}/s")));
    println!(
        "{:<12} {:>8} {:>14} {:>14}{}",
        "case",
        "count",
        "baseline/s",
        "actor/s",
        parallel_column.unwrap_or_default()
    );
    let mut total = 0;
    let (mut base_time, mut actor_time, mut parallel_time) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for case in &cases {
        // Interleaved rounds, best of each: the figures compare the ways of running, not the
        // moments at which other load on the machine happened to hit one of them.
        let (mut base, mut actor, mut parallel) = (Duration::MAX, Duration::MAX, None);
        for _ in 0..ROUNDS {
            base = base.min(baseline(case, 1));
            actor = actor.min(through_actor(case, runtime));
            if threads > 1 {
                let this_round = baseline(case, threads);
                parallel = Some(parallel.map_or(this_round, |best: Duration| best.min(this_round)));
            }
        }
        let parallel_column = parallel
            .map(|parallel| format!(" {:>14.0}", rate(case.count, parallel)))
            .unwrap_or_default();
        println!(
            "{:<12} {:>8} {:>14.0} {:>14.0}{parallel_column}",
            case.name,
            case.count,
            rate(case.count, base),
            rate(case.count, actor),
        );
        total += case.count;
        base_time += base;
        actor_time += actor;
        parallel_time += parallel.unwrap_or_default();
    }
    let (baseline_rate, actor_rate) = (rate(total, base_time), rate(total, actor_time));
    if threads > 1 {
        let parallel_rate = rate(total, parallel_time);
        println!(
            "{label}: the engine on {threads} threads at once ran {:.2}x its one-thread rate; \
             the actor reached {:.2} of that",
            parallel_rate / baseline_rate,
            actor_rate / parallel_rate
        );
    }
    println!(
        "RESULT {label} transforms_per_sec={actor_rate:.0} baseline={baseline_rate:.0} ratio={:.2}",
        actor_rate / baseline_rate
    );
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs this benchmark again pinned to CPU 0; whether that worked.
fn one_core_in_pinned_copy() -> bool {
    let Ok(this) = std::env::current_exe() else {
        return false;
    };
    std::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(this)
        .arg("--bench")
        .env(ONE_CORE_PHASE, "1")
        .status()
        .is_ok_and(|status| status.success())
}

fn main() {
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    if std::env::var_os(ONE_CORE_PHASE).is_some() {
        compare("xslt_actor", &current_thread(), 1);
        return;
    }
    if !one_core_in_pinned_copy() {
        println!("taskset did not run: the one-core figures are measured unpinned");
        compare("xslt_actor", &current_thread(), 1);
    }
    let two_cores = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    compare("xslt_actor_two_cores", &two_cores, 2);
    xml_to_json_figures();
}
