//! libxslt's own regression triples (`../shared/conformance/libxslt/`), run through the engine
//! the `Xslt` actor uses and byte-compared with the expected output.
//!
//! Pairing and parse flags are those of the suite's README: `REC/NAME.xsl` on `REC/NAME.xml`;
//! every `general/DOC*.xsl` on `docs/DOC.xml` with a template depth limit of 200; inputs parsed
//! with entity substitution, DTD loading and DTD default attributes (trusted test data, unlike
//! event payloads); expected output `NAME.out`, empty when there is no result. Where the suite
//! expects error text (`NAME.err`), the transform must have captured messages too (their wording
//! comes from libxslt and is not compared).

use std::path::{Path, PathBuf};

use compysition::xml::{Stylesheet, TransformOptions};

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/libxslt");

/// The namespace of the reference tool's built-in test extension module, which only that tool
/// registers.
const TEST_MODULE_NAMESPACE: &str = "\"http://xmlsoft.org/XSLT/\"";

struct Case {
    name: String,
    /// The directory the reference run worked in; paths below are relative to it, as there.
    dir: PathBuf,
    stylesheet: PathBuf,
    input: PathBuf,
    expected: PathBuf,
    max_depth: Option<u32>,
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

fn cases() -> Vec<Case> {
    let suite = Path::new(SUITE);
    let mut cases = Vec::new();
    let rec = suite.join("REC");
    for input in files_with_extension(&rec, "xml") {
        let name = stem(&input);
        let stylesheet = rec.join(format!("{name}.xsl"));
        if stylesheet.exists() {
            cases.push(Case {
                name: format!("REC/{name}"),
                dir: rec.clone(),
                expected: format!("{name}.out").into(),
                stylesheet: format!("{name}.xsl").into(),
                input: format!("{name}.xml").into(),
                max_depth: None,
            });
        }
    }
    let general = suite.join("general");
    let stylesheets = files_with_extension(&general, "xsl");
    for input in files_with_extension(&suite.join("docs"), "xml") {
        let doc = stem(&input);
        for stylesheet in stylesheets.iter().filter(|s| stem(s).starts_with(&doc)) {
            let name = stem(stylesheet);
            cases.push(Case {
                name: format!("general/{name}"),
                dir: general.clone(),
                expected: format!("{name}.out").into(),
                stylesheet: format!("{name}.xsl").into(),
                input: format!("../docs/{doc}.xml").into(),
                max_depth: Some(200),
            });
        }
    }
    cases
}

enum Verdict {
    Pass,
    Skip(String),
    Fail(String),
}

fn run(case: &Case) -> Verdict {
    // Relative URIs in the results (unparsed-entity-uri(), say) are resolved against the input's
    // relative path, as in the reference run: work from the same directory. This binary holds
    // this one test, so changing the process's directory disturbs nothing else.
    std::env::set_current_dir(&case.dir).expect("the case's directory");
    let xsl = std::fs::read_to_string(&case.stylesheet).unwrap_or_default();
    if xsl.contains(TEST_MODULE_NAMESPACE) {
        return Verdict::Skip(
            "needs the reference tool's own test extension module (http://xmlsoft.org/XSLT/)"
                .into(),
        );
    }
    let expected = std::fs::read(&case.expected).unwrap_or_default();
    let expected_messages =
        std::fs::read_to_string(case.expected.with_extension("err")).unwrap_or_default();
    let mut messages = String::new();
    let actual = match Stylesheet::from_file(&case.stylesheet) {
        // A stylesheet that does not compile gives no result.
        Err(error) => {
            messages = error.to_string();
            Vec::new()
        }
        Ok(stylesheet) => {
            messages.push_str(stylesheet.warnings());
            let mut options = TransformOptions::new()
                .substitute_entities(true)
                .load_dtd(true)
                .base_url(&case.input.to_string_lossy())
                .expect("a path without NUL");
            if let Some(depth) = case.max_depth {
                options = options.max_depth(depth);
            }
            let input = std::fs::read(&case.input).expect("readable input");
            match stylesheet.transform(&input, &options) {
                Ok(result) => {
                    messages.push_str(result.messages());
                    result.output().to_vec()
                }
                Err(error) => {
                    messages.push_str(error.message());
                    Vec::new()
                }
            }
        }
    };
    if !expected_messages.trim().is_empty() && messages.trim().is_empty() {
        Verdict::Fail(format!(
            "expected messages like:\n{expected_messages}\nbut none were captured"
        ))
    } else if actual == expected {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "expected:\n{}\nactual:\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&actual)
        ))
    }
}

#[test]
fn every_triple_gives_the_expected_bytes() {
    let cases = cases();
    assert!(cases.len() > 250, "the suite was not found at {SUITE}");
    let (mut passed, mut skipped, mut failed) = (0, Vec::new(), Vec::new());
    for case in &cases {
        match run(case) {
            Verdict::Pass => passed += 1,
            Verdict::Skip(reason) => skipped.push((case.name.clone(), reason)),
            Verdict::Fail(diff) => failed.push((case.name.clone(), diff)),
        }
    }
    // Straight to stderr, past the test harness's capture: the count and the skips belong in
    // every run's log, not only in a failing one's.
    let mut report = format!(
        "libxslt conformance: {passed} of {} cases byte-identical, {} skipped, {} failed\n",
        cases.len(),
        skipped.len(),
        failed.len(),
    );
    for (name, reason) in &skipped {
        report.push_str(&format!("  skipped {name}: {reason}\n"));
    }
    for (name, diff) in &failed {
        report.push_str(&format!("  FAILED {name}\n{diff}\n"));
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes());
    assert!(failed.is_empty(), "{} cases failed", failed.len());
}
