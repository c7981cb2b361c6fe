//! Procedural macros of compysition: `topology!` and `#[actor]`.
//!
//! The crate is re-exported by `compysition`; depend on that instead, and read the macros'
//! documentation there. `topology!` goes through three passes, one module each: `parse`
//! (syntax → AST), `graph` (names, ports, reachability: every mistake collected) and `expand`
//! (AST → calls on the runtime, through `compysition::__private`). `#[actor]` lives in `actor`,
//! `routes!` (a router's named routes) in `routes`.

mod actor;
mod errors;
mod expand;
mod graph;
mod parse;
mod routes;

use proc_macro::TokenStream;

/// Declares a topology and evaluates to a `compysition::Topology`. See `compysition::topology!`.
#[proc_macro]
pub fn topology(input: TokenStream) -> TokenStream {
    match syn::parse::<parse::TopologyInput>(input) {
        Ok(input) => {
            let (graph, mistakes) = graph::check(input);
            expand::topology(&graph, mistakes.into_compile_errors()).into()
        }
        Err(syntax) => expand::syntax_errors(syntax.to_compile_error()).into(),
    }
}

/// Turns a handler function, or a struct and its `impl`, into an actor. See
/// `compysition::actor`.
#[proc_macro_attribute]
pub fn actor(args: TokenStream, item: TokenStream) -> TokenStream {
    actor::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a router's routes: a set of named outboxes, one constant per route. See
/// `compysition::routes!`.
#[proc_macro]
pub fn routes(input: TokenStream) -> TokenStream {
    syn::parse::<routes::RoutesInput>(input)
        .and_then(routes::expand)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
