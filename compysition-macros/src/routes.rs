//! `routes!`: a router's named routes in one declaration.
//!
//! ```text
//! routes! {
//!     /// The lanes an order can take.
//!     pub OrderLanes: Xml { express, bulk, standard }
//! }
//! ```
//!
//! generates what `#[actor(outboxes(express: Xml, bulk: Xml, standard: Xml))]` would for an
//! actor's outboxes, named after the set itself: `OrderLanes` (one `pub` outbox field per route,
//! what the router runs with) and `OrderLanesRefs` (the same fields as typed port references),
//! so that `router.express -> …` in `topology!` is a field access the compiler checks, with its
//! "a field with a similar name exists" for a misspelt route. Beside them:
//!
//! - one associated constant per route, `OrderLanes::express`, of type `Route<OrderLanes>`, which
//!   the router's rules name (a misspelt one is an unknown associated item, also with the
//!   compiler's suggestion);
//! - the `RouteSet` impl: the payload, the route names, and the outbox of a route by index.
//!
//! Route names are the names of ports and constants at once, so they are lower-case
//! identifiers by convention and the constants allow `non_upper_case_globals`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, Attribute, Ident, Token, Type, Visibility};

use crate::actor::generics::TypeParameters;
use crate::actor::ports::{Described, Direction, PortDeclaration, PortSet};
use crate::errors::Errors;

/// A route set holds at most this many routes: the router keeps the routes an event matched in
/// one `u64`.
const MAX_ROUTES: usize = 64;

/// `#[attrs] vis Name: Payload { route, … }`.
pub struct RoutesInput {
    attributes: Vec<Attribute>,
    visibility: Visibility,
    name: Ident,
    payload: Type,
    routes: Vec<Ident>,
    braces: Span,
}

impl Parse for RoutesInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attributes = input.call(Attribute::parse_outer)?;
        let visibility = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![:]>()?;
        let payload = input.parse()?;
        let content;
        let braces = braced!(content in input).span.join();
        let routes: Punctuated<Ident, Token![,]> =
            content.parse_terminated(Ident::parse, Token![,])?;
        if !input.is_empty() {
            return Err(input.error("expected the end of `routes!` after the `{ … }` of routes"));
        }
        Ok(RoutesInput {
            attributes,
            visibility,
            name,
            payload,
            routes: routes.into_iter().collect(),
            braces,
        })
    }
}

/// Checks the routes (every mistake at once), then expands the set.
pub fn expand(input: RoutesInput) -> syn::Result<TokenStream> {
    check(&input)?;
    let RoutesInput {
        attributes,
        visibility,
        name,
        payload,
        routes,
        ..
    } = &input;
    let refs = format_ident!("{}Refs", name, span = name.span());
    let ports: Vec<PortDeclaration> = routes
        .iter()
        .map(|route| PortDeclaration::new(route.clone(), payload.clone()))
        .collect();
    let parameters = TypeParameters::of(&syn::Generics::default())?;
    let set = PortSet {
        actor: name,
        visibility,
        set: name,
        refs: &refs,
        ports: &ports,
        parameters: &parameters,
        direction: Direction::Out,
        described: Described::Routes(attributes),
    }
    .expand();
    let labels: Vec<String> = routes.iter().map(Ident::to_string).collect();
    let docs = labels.iter().map(|l| format!("The `{l}` route."));
    let indices = 0..routes.len();
    let arms = routes
        .iter()
        .enumerate()
        .map(|(i, route)| quote!(#i => ::core::option::Option::Some(&self.#route),));
    Ok(quote! {
        #set

        #[allow(non_upper_case_globals)]
        impl #name {
            #(
                #[doc = #docs]
                #visibility const #routes: ::compysition::__private::Route<#name> =
                    ::compysition::__private::Route::new(#indices);
            )*
        }

        impl ::compysition::__private::RouteSet for #name {
            type Payload = #payload;
            const ROUTES: &'static [&'static str] = &[#(#labels),*];

            fn outbox(
                &self,
                route: usize,
            ) -> ::core::option::Option<&::compysition::__private::Outbox<#payload>> {
                match route {
                    #(#arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    })
}

/// At least one route, at most [`MAX_ROUTES`], none twice, none named like the set's own
/// constant `NAMES`.
fn check(input: &RoutesInput) -> syn::Result<()> {
    let mut errors = Errors::default();
    if input.routes.is_empty() {
        errors.push(syn::Error::new(
            input.braces,
            "a route set needs at least one route: `Name: Payload { route, … }`",
        ));
    }
    if input.routes.len() > MAX_ROUTES {
        errors.push(syn::Error::new(
            input.routes[MAX_ROUTES].span(),
            format!("a route set holds at most {MAX_ROUTES} routes"),
        ));
    }
    for (i, route) in input.routes.iter().enumerate() {
        if input.routes[..i].contains(route) {
            errors.push(syn::Error::new(
                route.span(),
                format!("route `{route}` is declared twice"),
            ));
        }
        if route == "NAMES" {
            errors.push(syn::Error::new(
                route.span(),
                "`NAMES` is taken: the set's constant that lists its routes",
            ));
        }
    }
    errors.finish()
}
