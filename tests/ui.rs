//! Wiring mistakes are compile errors: each case in `tests/ui/` must fail to compile with the
//! errors in its `.stderr` file (regenerate with `TRYBUILD=overwrite`, then read them).

#[test]
fn wiring_mistakes_are_reported_at_compile_time() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
