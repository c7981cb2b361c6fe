//! A small xsltproc-like tool on the engine the `Xslt` actor uses.
//!
//! ```text
//! cargo run --example transform -- [--stringparam NAME VALUE]... [--noent] [--loaddtd] STYLESHEET INPUT
//! ```
//!
//! Writes the result to stdout exactly as the stylesheet's `xsl:output` asks, and everything
//! else (`xsl:message` output, errors) to stderr; exits non-zero when the stylesheet does not
//! compile (2), the input is rejected (3) or the transform fails (4). Without `--noent` and
//! `--loaddtd` the input is parsed as safely as an event payload: no entity declarations, no
//! DTD loading, no network.

use std::io::Write;
use std::process::ExitCode;

use compysition::xml::{Stylesheet, TransformOptions};
use compysition::Xml;

const USAGE: &str =
    "usage: transform [--stringparam NAME VALUE]... [--noent] [--loaddtd] STYLESHEET INPUT";

struct Arguments {
    params: Vec<(String, String)>,
    substitute_entities: bool,
    load_dtd: bool,
    stylesheet: String,
    input: String,
}

fn parse_arguments(mut args: impl Iterator<Item = String>) -> Result<Arguments, String> {
    let mut params = Vec::new();
    let (mut substitute_entities, mut load_dtd) = (false, false);
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--stringparam" => match (args.next(), args.next()) {
                (Some(name), Some(value)) => params.push((name, value)),
                _ => return Err("--stringparam needs a NAME and a VALUE".into()),
            },
            "--noent" => substitute_entities = true,
            "--loaddtd" => load_dtd = true,
            "-h" | "--help" => return Err(String::new()),
            option if option.starts_with("--") => return Err(format!("unknown option {option}")),
            _ => files.push(arg),
        }
    }
    match <[String; 2]>::try_from(files) {
        Ok([stylesheet, input]) => Ok(Arguments {
            params,
            substitute_entities,
            load_dtd,
            stylesheet,
            input,
        }),
        Err(_) => Err("expected a STYLESHEET and an INPUT".into()),
    }
}

fn main() -> ExitCode {
    let arguments = match parse_arguments(std::env::args().skip(1)) {
        Ok(arguments) => arguments,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("transform: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    let stylesheet = match Stylesheet::from_file(&arguments.stylesheet) {
        Ok(stylesheet) => stylesheet,
        Err(error) => {
            eprintln!("transform: {error}");
            return ExitCode::from(2);
        }
    };
    if !stylesheet.warnings().is_empty() {
        eprintln!("{}", stylesheet.warnings());
    }
    match run(&stylesheet, &arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

fn run(stylesheet: &Stylesheet, arguments: &Arguments) -> Result<(), (u8, String)> {
    let input = std::fs::read(&arguments.input).map_err(|e| {
        (
            3,
            format!("transform: cannot read {}: {e}", arguments.input),
        )
    })?;
    let trusted = arguments.substitute_entities || arguments.load_dtd;
    let mut options = TransformOptions::new()
        .substitute_entities(arguments.substitute_entities)
        .load_dtd(arguments.load_dtd)
        .base_url(&arguments.input)
        .map_err(|e| (1, format!("transform: {e}")))?;
    for (name, value) in &arguments.params {
        options = options
            .param(name, value)
            .map_err(|e| (1, format!("transform: {e}")))?;
    }
    // An untrusted input gets exactly the checks an event payload gets.
    let checked;
    let input: &[u8] = if trusted {
        &input
    } else {
        checked =
            Xml::parse(&input).map_err(|e| (3, format!("{}: {}", arguments.input, e.message())))?;
        checked.as_bytes()
    };
    let result = stylesheet
        .transform(input, &options)
        .map_err(|e| (3, format!("{}: {}", arguments.input, e.message())))?;
    if let Some(error) = result.error() {
        return Err((4, error.message().to_string()));
    }
    if !result.messages().is_empty() {
        eprintln!("{}", result.messages());
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(result.output())
        .and_then(|()| stdout.flush())
        .map_err(|e| (4, format!("transform: cannot write the result: {e}")))
}
