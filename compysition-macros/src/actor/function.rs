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
//! concurrency at once, a panic becoming an error event. A fallible one runs through
//! `Context::retrying` and implements `Retryable`, so `.retry(policy)` applies to it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ItemFn, ReturnType, Signature, Type};

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

/// Checks the function, then expands it into the actor struct, its handler and its `Actor`
/// impl.
pub fn expand(function: ItemFn) -> syn::Result<TokenStream> {
    let (input, returns) = check(&function.sig)?;
    let signature = &function.sig;
    let name = &signature.ident;
    let visibility = &function.vis;
    let (docs, handler) = handler(&function);
    let output = returns.payload();
    let send = send(signature, &returns);
    // Only a handler that can fail is worth retrying (`ActorExt::retry`).
    let retryable =
        matches!(returns, Returns::Fallible(_) | Returns::FallibleOptional(_)).then(|| {
            quote! {
                impl ::compysition::__private::Retryable for #name {
                    type Input = #input;
                }
            }
        });
    Ok(quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #visibility struct #name;

        impl #name {
            #handler
        }

        impl ::compysition::__private::Actor for #name {
            type Inboxes = ::compysition::__private::Inbox<#input>;
            type Outboxes = ::compysition::__private::Outbox<#output>;

            async fn run(
                self,
                ctx: ::compysition::__private::Context,
                inbox: ::compysition::__private::Inbox<#input>,
                outbox: ::compysition::__private::Outbox<#output>,
            ) {
                let outbox = &outbox;
                let ctx = &ctx;
                ctx.serve(inbox, |event: ::compysition::__private::Event<#input>| async move {
                    #send
                    ::core::result::Result::Ok(())
                })
                .await
            }
        }

        #retryable
    })
}

/// Validation: the function is not generic, takes one `Event<In>` and returns one of the
/// shapes `Returns` knows. Every mistake is reported at once; without one, the inbox payload
/// and what the function returns.
fn check(signature: &Signature) -> syn::Result<(&Type, Returns<'_>)> {
    let mut errors = Errors::default();
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &signature.generics,
            "an `#[actor]` function cannot be generic: its payload types make the actor's ports",
        ));
    }
    let input = errors.keep(input_payload(signature));
    let returns = errors.keep(returns(signature));
    errors.finish()?;
    let (Some(input), Some(returns)) = (input, returns) else {
        unreachable!("errors were reported above");
    };
    Ok((input, returns))
}

/// `In` in the function's one argument, `event: Event<In>`.
fn input_payload(signature: &Signature) -> syn::Result<&Type> {
    match signature.inputs.iter().collect::<Vec<_>>().as_slice() {
        [FnArg::Typed(input)] => event_payload(&input.ty).ok_or_else(|| {
            syn::Error::new_spanned(
                &input.ty,
                "an `#[actor]` function takes its event as `Event<T>`",
            )
        }),
        _ => Err(syn::Error::new(
            signature.paren_token.span.join(),
            "an `#[actor]` function takes exactly one argument, the event: `event: Event<T>`",
        )),
    }
}

/// What the function returns, or a mistake at its return type (at its name if it has none).
fn returns(signature: &Signature) -> syn::Result<Returns<'_>> {
    const RETURNS: &str = "an `#[actor]` function returns `Event<T>`, `Option<Event<T>>`, \
                           `Result<Event<T>, EventError>` or `Result<Option<Event<T>>, EventError>`";
    match &signature.output {
        ReturnType::Type(_, ty) => {
            Returns::parse(ty).ok_or_else(|| syn::Error::new_spanned(ty, RETURNS))
        }
        ReturnType::Default => Err(syn::Error::new(signature.ident.span(), RETURNS)),
    }
}

/// The function's documentation, which describes the actor, and the function itself renamed
/// `handle` (keeping its other attributes), to become `name::handle`.
fn handler(function: &ItemFn) -> (Vec<Attribute>, ItemFn) {
    let name = &function.sig.ident;
    let (docs, attributes): (Vec<_>, Vec<_>) = function
        .attrs
        .iter()
        .cloned()
        .partition(|a| a.path().is_ident("doc"));
    let mut handler = function.clone();
    handler.sig.ident = syn::Ident::new("handle", name.span());
    handler.attrs = attributes;
    handler.attrs.insert(
        0,
        syn::parse_quote!(
            #[doc = concat!("The handler of the [`", stringify!(#name), "`] actor, callable on its own.")]
        ),
    );
    (docs, handler)
}

/// The body of the actor's serving closure: calls the handler on `event` and sends what it
/// returns. A `?` on a fallible result is spanned on the return type, where an error type that
/// does not convert into `EventError` is reported.
fn send(signature: &Signature, returns: &Returns) -> TokenStream {
    let call = match signature.asyncness {
        Some(_) => quote!(Self::handle(event).await),
        None => quote!(Self::handle(event)),
    };
    let output_span = match &signature.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => signature.ident.span(),
    };
    match returns {
        Returns::Event(_) => quote!(outbox.send(#call).await;),
        Returns::Optional(_) => quote! {
            if let ::core::option::Option::Some(event) = #call {
                outbox.send(event).await;
            }
        },
        // A fallible handler runs through `Context::retrying`, which tries it again as the
        // actor's retry policy says; what it returns is sent once, after the last attempt.
        Returns::Fallible(_) => quote_spanned! {output_span=>
            let sent = ctx.retrying(event, |event| async move {
                ::core::result::Result::Ok::<_, ::compysition::__private::EventError>(#call?)
            });
            outbox.send(sent.await?).await;
        },
        Returns::FallibleOptional(_) => quote_spanned! {output_span=>
            let sent = ctx.retrying(event, |event| async move {
                ::core::result::Result::Ok::<_, ::compysition::__private::EventError>(#call?)
            });
            if let ::core::option::Option::Some(event) = sent.await? {
                outbox.send(event).await;
            }
        },
    }
}
