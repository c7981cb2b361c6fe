//! How long `topology!` takes to parse, check and expand a 200-actor topology, against the time
//! the same tokens take just to be parsed as a plain Rust block of statements (the baseline: the
//! least any macro reading them must spend), measured in the same run.
//!
//! The macro's passes are compiled in here from `compysition-macros/src/` (a proc-macro crate
//! exports nothing but its macros), and run on `proc_macro2`'s own token streams.
//!
//! ```text
//! cargo bench --bench topology_expansion
//! RESULT topology_expansion actors=200 expand_ms=<n> baseline_ms=<n> ratio=<ours/baseline>
//! ```

// The macro's modules carry unit tests that a benchmark compiles but does not run.
#![allow(dead_code)]

#[path = "../compysition-macros/src/errors.rs"]
mod errors;
#[path = "../compysition-macros/src/expand.rs"]
mod expand;
#[path = "../compysition-macros/src/graph.rs"]
mod graph;
#[path = "../compysition-macros/src/parse.rs"]
mod parse;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use proc_macro2::TokenStream;

const ACTORS: usize = 200;
const ROUNDS: usize = 20;

/// A 200-actor topology: a source, a chain of stages with a fan-out every tenth stage into a
/// side sink, error edges from every fifth stage, and a final sink.
fn topology_source() -> String {
    let stages = ACTORS - 2 - ACTORS / 10;
    let mut source = String::from("#![capacity = 100]\n");
    source.push_str("source = EventGenerator::once(1u32);\n");
    for i in 0..stages {
        let _ = writeln!(source, "stage_{i} = stage;");
    }
    for i in (0..stages).step_by(10) {
        let _ = writeln!(source, "side_{i} = Null::<u32>::new();");
    }
    source.push_str("sink = Collect::new();\n");
    source.push_str("source");
    for i in 0..stages {
        let _ = write!(source, " -> stage_{i}");
    }
    source.push_str(" -> sink;\n");
    for i in (0..stages).step_by(10) {
        let _ = writeln!(source, "#[capacity = 10] stage_{i} -> side_{i};");
    }
    for i in (0..stages).step_by(5) {
        let _ = writeln!(source, "stage_{i} !-> sink;");
    }
    source
}

fn expand(tokens: TokenStream) -> TokenStream {
    let input: parse::TopologyInput = syn::parse2(tokens).expect("the generated topology parses");
    let (graph, mistakes) = graph::check(input);
    if let Err(mistakes) = mistakes.finish() {
        panic!("the generated topology has mistakes: {mistakes}");
    }
    expand::topology(&graph, TokenStream::new())
}

/// The baseline: the same tokens read as Rust statements (`name = expr;` parses as an
/// assignment, `a -> b` does not, so each statement is taken as raw tokens up to its `;`).
fn parse_as_statements(tokens: TokenStream) -> usize {
    syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream| {
            let _ = syn::Attribute::parse_inner(input)?;
            let mut statements = 0;
            while !input.is_empty() {
                let _ = syn::Attribute::parse_outer(input)?;
                if input.peek(syn::Ident) && input.peek2(syn::Token![=]) {
                    let _: syn::Ident = input.parse()?;
                    let _: syn::Token![=] = input.parse()?;
                    let _: syn::Expr = input.parse()?;
                } else {
                    while !input.peek(syn::Token![;]) {
                        let _: proc_macro2::TokenTree = input.parse()?;
                    }
                }
                let _: syn::Token![;] = input.parse()?;
                statements += 1;
            }
            Ok(statements)
        },
        tokens,
    )
    .expect("the generated topology reads as statements")
}

fn main() {
    let source = topology_source();
    let tokens: TokenStream = source.parse().expect("the generated topology lexes");
    let (mut ours, mut baseline) = (Duration::MAX, Duration::MAX);
    let mut expanded_len = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        expanded_len = expand(tokens.clone()).into_iter().count();
        ours = ours.min(start.elapsed());
        let start = Instant::now();
        let statements = parse_as_statements(tokens.clone());
        baseline = baseline.min(start.elapsed());
        assert!(statements > ACTORS);
    }
    assert!(expanded_len > 0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "RESULT topology_expansion actors={ACTORS} expand_ms={:.2} baseline_ms={:.2} ratio={:.2}",
        ms(ours),
        ms(baseline),
        ms(ours) / ms(baseline)
    );
}
