//! `#[actor(inboxes(…), outboxes(…))]` on a struct: the actor's named ports as typed structs.
//!
//! ```text
//! #[actor(inboxes(orders: Order), outboxes(ok: Order, rejected: Order))]
//! pub struct Validator { … }
//! ```
//!
//! generates, beside the struct and with its visibility:
//!
//! - `ValidatorInboxes { pub orders: Inbox<Order> }` and `ValidatorOutboxes { pub ok:
//!   Outbox<Order>, pub rejected: Outbox<Order> }`: what the actor runs with, so handlers send on
//!   `out.ok` and `out.rejected`;
//! - `ValidatorInboxRefs` / `ValidatorOutboxRefs`: the same fields as typed port references, so
//!   that `handle.outboxes().rejected` (and `validator.rejected -> …` in `topology!`) is checked
//!   by the compiler;
//! - the `InboxSet` / `OutboxSet` impls, plus `SingleInbox` / `SingleOutbox` when there is one
//!   port (an edge may then leave its name out) and `NoInboxes` when there is none (a source).
//!
//! A generic struct's port types take its type parameters (`NullInboxes<T>`, see
//! `generics.rs`). The `Actor` impl comes from `#[actor]` on the struct's `impl` block
//! (`handlers.rs`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Ident, ItemStruct, Token, Type};

use super::generics::TypeParameters;
use crate::errors::Errors;

/// `inboxes(name: Type, …), outboxes(name: Type, …)`, both optional.
pub struct PortDeclarations {
    inboxes: Vec<PortDeclaration>,
    outboxes: Vec<PortDeclaration>,
}

pub struct PortDeclaration {
    name: Ident,
    payload: Type,
}

impl Parse for PortDeclaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = input.parse()?;
        input.parse::<Token![:]>()?;
        let payload = input.parse()?;
        Ok(PortDeclaration { name, payload })
    }
}

impl Parse for PortDeclarations {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut declarations = PortDeclarations {
            inboxes: Vec::new(),
            outboxes: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let kind: Ident = input.parse()?;
            let list = match kind.to_string().as_str() {
                "inboxes" => &mut declarations.inboxes,
                "outboxes" => &mut declarations.outboxes,
                _ => {
                    return Err(syn::Error::new(
                        kind.span(),
                        "expected `inboxes(name: Type, …)` or `outboxes(name: Type, …)`",
                    ))
                }
            };
            if seen.contains(&kind.to_string()) {
                return Err(syn::Error::new(
                    kind.span(),
                    format!("`{kind}` is already declared"),
                ));
            }
            seen.push(kind.to_string());
            let content;
            parenthesized!(content in input);
            let ports: Punctuated<PortDeclaration, Token![,]> =
                content.parse_terminated(PortDeclaration::parse, Token![,])?;
            list.extend(ports);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(declarations)
    }
}

/// The names of the types generated for the actor `name`.
pub struct PortTypes {
    pub inboxes: Ident,
    pub outboxes: Ident,
    inbox_refs: Ident,
    outbox_refs: Ident,
}

impl PortTypes {
    pub fn of(actor: &Ident) -> Self {
        PortTypes {
            inboxes: format_ident!("{}Inboxes", actor, span = actor.span()),
            outboxes: format_ident!("{}Outboxes", actor, span = actor.span()),
            inbox_refs: format_ident!("{}InboxRefs", actor, span = actor.span()),
            outbox_refs: format_ident!("{}OutboxRefs", actor, span = actor.span()),
        }
    }
}

pub fn expand(ports: PortDeclarations, structure: ItemStruct) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let parameters = TypeParameters::of(&structure.generics)
        .map_err(|error| errors.push(error))
        .ok();
    for list in [&ports.inboxes, &ports.outboxes] {
        for (i, port) in list.iter().enumerate() {
            if list[..i].iter().any(|p| p.name == port.name) {
                errors.push(syn::Error::new(
                    port.name.span(),
                    format!("port `{}` is declared twice", port.name),
                ));
            }
        }
    }
    errors.finish()?;
    let Some(parameters) = parameters else {
        unreachable!("errors were reported above");
    };

    let actor = &structure.ident;
    let names = PortTypes::of(actor);
    let inboxes = port_set(
        actor,
        &structure.vis,
        &names.inboxes,
        &names.inbox_refs,
        &ports.inboxes,
        &parameters,
        Direction::In,
    );
    let outboxes = port_set(
        actor,
        &structure.vis,
        &names.outboxes,
        &names.outbox_refs,
        &ports.outboxes,
        &parameters,
        Direction::Out,
    );
    Ok(quote! {
        #structure
        #inboxes
        #outboxes
    })
}

#[derive(Clone, Copy)]
enum Direction {
    In,
    Out,
}

fn port_set(
    actor: &Ident,
    visibility: &syn::Visibility,
    set: &Ident,
    refs: &Ident,
    ports: &[PortDeclaration],
    parameters: &TypeParameters,
    direction: Direction,
) -> TokenStream {
    let (port, reference, set_trait, single_trait, spec, take, noun) = match direction {
        Direction::In => (
            quote!(::compysition::Inbox),
            quote!(::compysition::InPort),
            quote!(::compysition::InboxSet),
            quote!(::compysition::SingleInbox),
            quote!(inbox),
            quote!(inbox),
            "inboxes",
        ),
        Direction::Out => (
            quote!(::compysition::Outbox),
            quote!(::compysition::OutPort),
            quote!(::compysition::OutboxSet),
            quote!(::compysition::SingleOutbox),
            quote!(outbox),
            quote!(outbox),
            "outboxes",
        ),
    };
    let names: Vec<&Ident> = ports.iter().map(|p| &p.name).collect();
    let labels: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let payloads: Vec<&Type> = ports.iter().map(|p| &p.payload).collect();
    let set_doc = format!("The {noun} of [`{actor}`], as it runs with them.");
    let refs_doc =
        format!("References to the {noun} of [`{actor}`], for wiring: `handle.{noun}().<name>`.");
    let field_docs: Vec<String> = labels.iter().map(|l| format!("`{l}`")).collect();
    // All empty for a concrete actor (see `generics.rs`).
    let arguments = parameters.arguments();
    let (marker_field, marker) = (parameters.marker_field(), parameters.marker_value());
    let bounds = parameters.bounds(&payloads);
    let (refs_derive, refs_impls) = parameters.refs_traits(refs, &names);
    // `do_not_recommend` keeps these impls out of the compiler's lists of implementors, so a
    // wiring error names `Inbox<T>` and `()`, not every `#[actor]` in the build.
    let single = match payloads.as_slice() {
        [payload] => quote! {
            #[diagnostic::do_not_recommend]
            impl #arguments #single_trait for #set #arguments #bounds {
                type Payload = #payload;
            }
        },
        [] if matches!(direction, Direction::In) => quote! {
            #[diagnostic::do_not_recommend]
            impl #arguments ::compysition::wiring::NoInboxes for #set #arguments #bounds {}
        },
        _ => TokenStream::new(),
    };
    // An empty set does not look at its arguments.
    let (actor_ref, bundle) = if names.is_empty() {
        (quote!(_), quote!(_))
    } else {
        let actor_ref = Ident::new("actor", Span::mixed_site());
        let bundle = Ident::new("ports", Span::mixed_site());
        (quote!(#actor_ref), quote!(#bundle))
    };
    quote! {
        #[doc = #set_doc]
        #visibility struct #set #arguments {
            #(
                #[doc = #field_docs]
                pub #names: #port<#payloads>,
            )*
            #marker_field
        }

        impl #arguments #set #arguments {
            /// The port names, in declaration order.
            pub const NAMES: &'static [&'static str] = &[#(#labels),*];
        }

        #[doc = #refs_doc]
        #refs_derive
        #visibility struct #refs #arguments {
            #(
                #[doc = #field_docs]
                pub #names: #reference<#payloads>,
            )*
            #marker_field
        }

        #refs_impls

        impl #arguments #set_trait for #set #arguments #bounds {
            type Refs = #refs #arguments;

            fn specs() -> ::std::vec::Vec<::compysition::PortSpec> {
                ::std::vec![#(::compysition::PortSpec::#spec::<#payloads>(#labels)),*]
            }

            fn refs(#actor_ref: &::compysition::ActorRef) -> #refs #arguments {
                #refs {
                    #(#names: #reference::new(#actor_ref.clone(), ::core::option::Option::Some(#labels)),)*
                    #marker
                }
            }

            fn assemble(
                #bundle: &mut ::compysition::PortBundle,
            ) -> ::core::result::Result<Self, ::compysition::PortMismatch> {
                ::core::result::Result::Ok(#set {
                    #(#names: #bundle.#take::<#payloads>()?,)*
                    #marker
                })
            }
        }

        #single
    }
}
