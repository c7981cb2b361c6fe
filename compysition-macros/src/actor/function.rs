//! `#[actor]` on a handler function.
//!
//! ```text
//! #[actor]
//! async fn request_executor(event: Event<Xml>) -> Result<Event<Xml>, EventError> { … }
//! ```
//!
//! becomes a unit struct `request_executor` (the actor: usable wherever an actor is expected,
//! `executor = request_executor;`), the function itself as `request_executor::handle`, and an
//! `Actor` impl with one inbox of `Event<Xml>`, one outbox of `Event<Xml>` and the error outbox
//! every actor has. What the function returns decides what is sent:
//!
//! | returns                                   | sends                         | `Err`          |
//! | ----------------------------------------- | ----------------------------- | -------------- |
//! | `Event<T>`                                | the event                     |                |
//! | `Option<Event<T>>`                        | the event, or nothing         |                |
//! | `Result<Event<T>, E>`                     | the event                     | error outbox   |
//! | `Result<Option<Event<T>>, E>`             | the event, or nothing         | error outbox   |
//!
//! (`E: Into<EventError>`.) The function runs under `Context::serve`: up to the actor's
//! concurrency at once, a panic becoming an error event.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

use super::{event_payload, single_argument};
use crate::errors::Errors;

/// What a handler returns, and the payload of the events it sends.
enum Returns<'a> {
    Event(&'a Type),
    Optional(&'a Type),
    Fallible(&'a Type),
    FallibleOptional(&'a Type),
}

impl<'a> Returns<'a> {
    fn parse(ty: &'a Type) -> Option<Self> {
        if let Some(payload) = event_payload(ty) {
            return Some(Returns::Event(payload));
        }
        if let Some(payload) = single_argument(ty, "Option").and_then(event_payload) {
            return Some(Returns::Optional(payload));
        }
        let ok = result_ok_type(ty)?;
        if let Some(payload) = event_payload(ok) {
            return Some(Returns::Fallible(payload));
        }
        let payload = single_argument(ok, "Option").and_then(event_payload)?;
        Some(Returns::FallibleOptional(payload))
    }

    fn payload(&self) -> &'a Type {
        match self {
            Returns::Event(t)
            | Returns::Optional(t)
            | Returns::Fallible(t)
            | Returns::FallibleOptional(t) => t,
        }
    }
}

/// `T` in `Result<T, E>`.
fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = arguments
        .args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [ok, _error] => Some(ok),
        _ => None,
    }
}

pub fn expand(function: ItemFn) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let signature = &function.sig;
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &signature.generics,
            "an `#[actor]` function cannot be generic: its payload types make the actor's ports",
        ));
    }
    let input = match signature.inputs.iter().collect::<Vec<_>>().as_slice() {
        [FnArg::Typed(input)] => match event_payload(&input.ty) {
            Some(payload) => Some(payload),
            None => {
                errors.push(syn::Error::new_spanned(
                    &input.ty,
                    "an `#[actor]` function takes its event as `Event<T>`",
                ));
                None
            }
        },
        _ => {
            errors.push(syn::Error::new(
                signature.paren_token.span.join(),
                "an `#[actor]` function takes exactly one argument, the event: `event: Event<T>`",
            ));
            None
        }
    };
    const RETURNS: &str = "an `#[actor]` function returns `Event<T>`, `Option<Event<T>>`, \
                           `Result<Event<T>, EventError>` or `Result<Option<Event<T>>, EventError>`";
    let returns = match &signature.output {
        ReturnType::Type(_, ty) => match Returns::parse(ty) {
            Some(returns) => Some(returns),
            None => {
                errors.push(syn::Error::new_spanned(ty, RETURNS));
                None
            }
        },
        ReturnType::Default => {
            errors.push(syn::Error::new(signature.ident.span(), RETURNS));
            None
        }
    };
    errors.finish()?;
    let (Some(input), Some(returns)) = (input, returns) else {
        unreachable!("errors were reported above");
    };

    let name = &signature.ident;
    let visibility = &function.vis;
    // Documentation describes the actor; other attributes belong to the function.
    let (docs, attributes): (Vec<_>, Vec<_>) = function
        .attrs
        .iter()
        .cloned()
        .partition(|a| a.path().is_ident("doc"));
    let output = returns.payload();
    let mut handler = function.clone();
    handler.sig.ident = syn::Ident::new("handle", name.span());
    handler.attrs = attributes;
    handler.attrs.insert(
        0,
        syn::parse_quote!(
            #[doc = concat!("The handler of the [`", stringify!(#name), "`] actor, callable on its own.")]
        ),
    );

    let call = match signature.asyncness {
        Some(_) => quote!(Self::handle(event).await),
        None => quote!(Self::handle(event)),
    };
    let output_span = match &signature.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    };
    let send = match returns {
        Returns::Event(_) => quote!(outbox.send(#call).await;),
        Returns::Optional(_) => quote! {
            if let ::core::option::Option::Some(event) = #call {
                outbox.send(event).await;
            }
        },
        Returns::Fallible(_) => quote_spanned! {output_span=>
            outbox.send(#call?).await;
        },
        Returns::FallibleOptional(_) => quote_spanned! {output_span=>
            if let ::core::option::Option::Some(event) = #call? {
                outbox.send(event).await;
            }
        },
    };

    Ok(quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #visibility struct #name;

        impl #name {
            #handler
        }

        impl ::compysition::Actor for #name {
            type Inboxes = ::compysition::Inbox<#input>;
            type Outboxes = ::compysition::Outbox<#output>;

            async fn run(
                self,
                ctx: ::compysition::Context,
                inbox: ::compysition::Inbox<#input>,
                outbox: ::compysition::Outbox<#output>,
            ) {
                let outbox = &outbox;
                ctx.serve(inbox, |event: ::compysition::Event<#input>| async move {
                    #send
                    ::core::result::Result::Ok(())
                })
                .await
            }
        }
    })
}
