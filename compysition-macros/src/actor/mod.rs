//! `#[actor]`: a handler function, or a struct and its `impl`, made into an actor.
//!
//! - on a function (`function.rs`): one inbox, one outbox, one error outbox;
//! - on a struct (`ports.rs`): its named inboxes and outboxes as typed structs;
//! - on the struct's `impl` (`handlers.rs`): the `Actor` impl that feeds each inbox to its
//!   handler method;
//! - for a generic struct and impl, `generics.rs` carries the type parameters onto the ports.
//!
//! Like `topology!`, each form parses into a small description, checks it (reporting every
//! mistake at once), then expands into code on the runtime, naming it through
//! `compysition::__private`.

mod function;
pub(crate) mod generics;
mod handlers;
pub(crate) mod ports;

use proc_macro2::TokenStream;
use syn::Item;

/// Expands the form that fits the item the attribute is on (the arguments declare ports, so
/// only a struct takes them).
pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    match syn::parse2::<Item>(item)? {
        Item::Fn(function) => {
            no_arguments(args, "on a function")?;
            function::expand(function)
        }
        Item::Struct(structure) => ports::expand(syn::parse2(args)?, structure),
        Item::Impl(implementation) => {
            no_arguments(args, "on an `impl` (ports are declared on the struct)")?;
            handlers::expand(implementation)
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`#[actor]` goes on a handler function, or on a struct and on its `impl`",
        )),
    }
}

/// The attribute has no arguments, or a mistake at them.
fn no_arguments(args: TokenStream, place: &str) -> syn::Result<()> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            args,
            format!("`#[actor]` takes no arguments {place}"),
        ))
    }
}

/// `T` in a type written `Event<T>` (any path ending in `Event`).
pub(crate) fn event_payload(ty: &syn::Type) -> Option<&syn::Type> {
    single_argument(ty, "Event")
}

/// The one type argument of a type written `Name<T>` (any path ending in `Name`).
pub(crate) fn single_argument<'a>(ty: &'a syn::Type, name: &str) -> Option<&'a syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let mut types = arguments.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}
