//! Procedural macros of compysition: `topology!` and `#[actor]`.
//!
//! The crate is re-exported by `compysition`; depend on that instead.
