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
//! The `Actor` impl comes from `#[actor]` on the struct's `impl` block (`handlers.rs`).

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

impl PortDeclaration {
    /// A port `name` of payload `payload` (a route of `routes!`, say).
    pub fn new(name: Ident, payload: Type) -> Self {
        PortDeclaration { name, payload }
    }
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

/// Checks the declarations, then expands the struct with its inbox and outbox sets.
pub fn expand(ports: PortDeclarations, structure: ItemStruct) -> syn::Result<TokenStream> {
    let parameters = check(&ports, &structure)?;
    let actor = &structure.ident;
    let names = PortTypes::of(actor);
    let inboxes = PortSet {
        actor,
        visibility: &structure.vis,
        set: &names.inboxes,
        refs: &names.inbox_refs,
        ports: &ports.inboxes,
        parameters: &parameters,
        direction: Direction::In,
        described: Described::Actor,
    };
    let outboxes = PortSet {
        set: &names.outboxes,
        refs: &names.outbox_refs,
        ports: &ports.outboxes,
        direction: Direction::Out,
        ..inboxes
    };
    let (inboxes, outboxes) = (inboxes.expand(), outboxes.expand());
    Ok(quote! {
        #structure
        #inboxes
        #outboxes
    })
}

/// Validation: the struct's parameters are types (see `generics.rs`) and no port name is
/// declared twice on one side. Every mistake is reported at once.
fn check(ports: &PortDeclarations, structure: &ItemStruct) -> syn::Result<TypeParameters> {
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
    // `None` only with an error, reported above.
    parameters.ok_or_else(|| syn::Error::new(Span::call_site(), "invalid parameters"))
}

#[derive(Clone, Copy)]
pub(crate) enum Direction {
    In,
    Out,
}

/// The runtime's names for one side of an actor.
struct Side {
    /// `Inbox` / `Outbox`: a field of the set.
    port: TokenStream,
    /// `InPort` / `OutPort`: a field of the references.
    reference: TokenStream,
    /// `InboxSet` / `OutboxSet`.
    set_trait: TokenStream,
    /// `SingleInbox` / `SingleOutbox`.
    single_trait: TokenStream,
    /// `PortSpec::inbox` / `PortSpec::outbox`, and `PortBundle::inbox` / `PortBundle::outbox`.
    method: Ident,
    /// "inboxes" / "outboxes", in the generated documentation.
    noun: &'static str,
}

impl Direction {
    fn side(self) -> Side {
        match self {
            Direction::In => Side {
                port: quote!(::compysition::__private::Inbox),
                reference: quote!(::compysition::__private::InPort),
                set_trait: quote!(::compysition::__private::InboxSet),
                single_trait: quote!(::compysition::__private::SingleInbox),
                method: Ident::new("inbox", Span::call_site()),
                noun: "inboxes",
            },
            Direction::Out => Side {
                port: quote!(::compysition::__private::Outbox),
                reference: quote!(::compysition::__private::OutPort),
                set_trait: quote!(::compysition::__private::OutboxSet),
                single_trait: quote!(::compysition::__private::SingleOutbox),
                method: Ident::new("outbox", Span::call_site()),
                noun: "outboxes",
            },
        }
    }
}

/// What a port set's documentation says it belongs to.
#[derive(Clone, Copy)]
pub(crate) enum Described<'a> {
    /// The ports of the `#[actor]` struct `actor`.
    Actor,
    /// A set of routes declared with `routes!`, documented by the user's own attributes.
    Routes(&'a [syn::Attribute]),
}

/// One side of an actor (its inboxes, or its outboxes), to expand into its types.
#[derive(Clone, Copy)]
pub(crate) struct PortSet<'a> {
    pub actor: &'a Ident,
    pub visibility: &'a syn::Visibility,
    /// The set's type, `<Actor>Inboxes` / `<Actor>Outboxes`.
    pub set: &'a Ident,
    /// The references' type, `<Actor>InboxRefs` / `<Actor>OutboxRefs`.
    pub refs: &'a Ident,
    pub ports: &'a [PortDeclaration],
    /// The struct's type parameters, which every port type takes too (empty for most actors).
    pub parameters: &'a TypeParameters,
    pub direction: Direction,
    pub described: Described<'a>,
}

impl PortSet<'_> {
    /// The set and references structs, then their impls.
    pub fn expand(&self) -> TokenStream {
        let side = self.direction.side();
        let structs = self.structs(&side);
        let set_impl = self.set_impl(&side);
        let single = self.single_impl(&side);
        quote! {
            #structs
            #set_impl
            #single
        }
    }

    /// The set (what the actor runs with) and its references (what wiring names), one field
    /// per port.
    fn structs(&self, side: &Side) -> TokenStream {
        let (actor, visibility, set, refs) = (self.actor, self.visibility, self.set, self.refs);
        let Side {
            port,
            reference,
            noun,
            ..
        } = side;
        let names = self.ports.iter().map(|p| &p.name);
        let labels: Vec<String> = self.ports.iter().map(|p| p.name.to_string()).collect();
        let payloads = self.ports.iter().map(|p| &p.payload);
        let (set_doc, refs_doc, user_docs) = match self.described {
            Described::Actor => (
                format!("The {noun} of [`{actor}`], as it runs with them."),
                format!(
                    "References to the {noun} of [`{actor}`], for wiring: `handle.{noun}().<name>`."
                ),
                &[][..],
            ),
            Described::Routes(attributes) => (
                // A blank line first: the user's documentation is a paragraph of its own.
                format!(
                    "\nThe routes of a router, one outbox each, as the router runs with them \
                     (`{actor}::<route>` names one in its rules)."
                ),
                format!(
                    "References to the routes of [`{actor}`], for wiring: \
                     `handle.outboxes().<route>`, `router.<route> -> …` in `topology!`."
                ),
                attributes,
            ),
        };
        let field_docs: Vec<String> = labels.iter().map(|l| format!("`{l}`")).collect();
        let (ref_names, ref_payloads) = (names.clone(), payloads.clone());
        let arguments = self.parameters.arguments();
        let marker_field = self.parameters.marker_field();
        let field_names: Vec<&Ident> = self.ports.iter().map(|p| &p.name).collect();
        let (refs_derive, refs_impls) = self.parameters.refs_traits(refs, &field_names);
        quote! {
            #(#user_docs)*
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
                    pub #ref_names: #reference<#ref_payloads>,
                )*
                #marker_field
            }

            #refs_impls
        }
    }

    /// `InboxSet` / `OutboxSet`: the ports' specs, their references, and the set assembled from
    /// the bundle the director hands over.
    fn set_impl(&self, side: &Side) -> TokenStream {
        let (set, refs) = (self.set, self.refs);
        let Side {
            reference,
            set_trait,
            method,
            ..
        } = side;
        let names: Vec<&Ident> = self.ports.iter().map(|p| &p.name).collect();
        let labels: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let payloads: Vec<&Type> = self.ports.iter().map(|p| &p.payload).collect();
        // An empty set does not look at its arguments.
        let (actor_ref, bundle) = if names.is_empty() {
            (quote!(_), quote!(_))
        } else {
            let actor_ref = Ident::new("actor", Span::mixed_site());
            let bundle = Ident::new("ports", Span::mixed_site());
            (quote!(#actor_ref), quote!(#bundle))
        };
        let arguments = self.parameters.arguments();
        let marker = self.parameters.marker_value();
        let bounds = self.parameters.bounds(&payloads);
        quote! {
            impl #arguments #set_trait for #set #arguments #bounds {
                type Refs = #refs #arguments;

                fn specs() -> ::std::vec::Vec<::compysition::__private::PortSpec> {
                    ::std::vec![#(::compysition::__private::PortSpec::#method::<#payloads>(#labels)),*]
                }

                fn refs(#actor_ref: &::compysition::__private::ActorRef) -> #refs #arguments {
                    #refs {
                        #(#names: #reference::new(#actor_ref.clone(), ::core::option::Option::Some(#labels)),)*
                        #marker
                    }
                }

                fn assemble(
                    #bundle: &mut ::compysition::__private::PortBundle,
                ) -> ::core::result::Result<Self, ::compysition::__private::PortMismatch> {
                    ::core::result::Result::Ok(#set {
                        #(#names: #bundle.#method::<#payloads>()?,)*
                        #marker
                    })
                }
            }
        }
    }

    /// `SingleInbox` / `SingleOutbox` for a lone port (an edge may leave its name out), and
    /// `NoInboxes` for a source's empty inbox set.
    fn single_impl(&self, side: &Side) -> TokenStream {
        let set = self.set;
        let single_trait = &side.single_trait;
        let arguments = self.parameters.arguments();
        let payloads: Vec<&Type> = self.ports.iter().map(|p| &p.payload).collect();
        let bounds = self.parameters.bounds(&payloads);
        // `do_not_recommend` keeps these impls out of the compiler's lists of implementors, so a
        // wiring error names `Inbox<T>` and `()`, not every `#[actor]` in the build.
        match self.ports {
            [port] => {
                let payload = &port.payload;
                quote! {
                    #[diagnostic::do_not_recommend]
                    impl #arguments #single_trait for #set #arguments #bounds {
                        type Payload = #payload;
                    }
                }
            }
            [] if matches!(self.direction, Direction::In) => quote! {
                #[diagnostic::do_not_recommend]
                impl #arguments ::compysition::__private::NoInboxes for #set #arguments #bounds {}
            },
            _ => TokenStream::new(),
        }
    }
}
