//! `#[actor]` on the `impl` block of an `#[actor]` struct: the `Actor` impl.
//!
//! ```text
//! #[actor]
//! impl Validator {
//!     #[inbox]
//!     async fn orders(&self, event: Event<Order>, out: &ValidatorOutboxes) -> Result<(), EventError> { … }
//!     #[errors]
//!     async fn failures(&self, event: ErrorEvent) { … }
//!     #[source]
//!     async fn produce(&self, ctx: &Context, out: &ValidatorOutboxes) { … }
//! }
//! ```
//!
//! - `#[inbox]` methods handle the inbox of the same name (declared on the struct); `#[errors]`
//!   handles the error inbox (the actor becomes a target of `!->`); `#[source]` methods run once,
//!   beside the handlers, and return when `ctx.stopped()` resolves.
//! - Handlers take `&self` and the event, then optionally the outboxes; they return
//!   `Result<(), EventError>` (an `Err` goes to the error outbox) or nothing. They run under
//!   `Context::serve` (the `#[errors]` handler under `Context::serve_errors`, counted apart), up
//!   to the actor's concurrency at once, so state they change lives behind
//!   a lock or an atomic.
//! - `run` serves every inbox at once and returns when all are closed and every source is done.
//! - A generic impl (`impl<T: Payload> Null<T>`) makes a generic `Actor` impl, with the same
//!   parameters and bounds, on the port types of the self type's arguments (`generics.rs`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, ReturnType, Type};

use super::generics::ImplTarget;
use super::ports::PortTypes;
use crate::errors::Errors;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Inbox,
    Errors,
    Source,
}

impl Role {
    fn of(attribute: &syn::Attribute) -> Option<Self> {
        let path = attribute.path();
        if path.is_ident("inbox") {
            Some(Role::Inbox)
        } else if path.is_ident("errors") {
            Some(Role::Errors)
        } else if path.is_ident("source") {
            Some(Role::Source)
        } else {
            None
        }
    }
}

struct Handler {
    role: Role,
    name: Ident,
    is_async: bool,
    /// Takes the outboxes after the event (or after the context, for a source).
    takes_outboxes: bool,
    /// Returns `Result<(), EventError>` rather than nothing.
    fallible: bool,
}

pub fn expand(mut implementation: ItemImpl) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let (actor, arguments) =
        match &*implementation.self_ty {
            Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
                let segment = &path.path.segments[0];
                (segment.ident.clone(), segment.arguments.clone())
            }
            other => return Err(syn::Error::new_spanned(
                other,
                "`#[actor]` goes on the inherent `impl` of an `#[actor]` struct: `impl Name { … }`",
            )),
        };
    if let Some((_, path, _)) = &implementation.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "`#[actor]` goes on the inherent `impl` of the struct, where its handlers are",
        ));
    }

    let mut handlers = Vec::new();
    for item in &mut implementation.items {
        let ImplItem::Fn(method) = item else {
            continue;
        };
        let mut roles = Vec::new();
        method.attrs.retain(|attribute| match Role::of(attribute) {
            Some(role) => {
                roles.push((role, attribute.span()));
                false
            }
            None => true,
        });
        match roles.as_slice() {
            [] => {}
            [(role, _)] => match check_handler(*role, method) {
                Ok(handler) => handlers.push(handler),
                Err(error) => errors.push(error),
            },
            [_, (_, second), ..] => errors.push(syn::Error::new(
                *second,
                "a method has one role: `#[inbox]`, `#[errors]` or `#[source]`",
            )),
        }
    }
    if handlers.is_empty() {
        errors.push(syn::Error::new_spanned(
            &implementation.self_ty,
            format!(
                "actor `{actor}` has no handler: mark its methods `#[inbox]` (one per inbox), \
                 `#[errors]` (its error inbox) or `#[source]` (runs once, producing events)"
            ),
        ));
    }
    let error_handlers: Vec<&Handler> =
        handlers.iter().filter(|h| h.role == Role::Errors).collect();
    if let [_, second, ..] = error_handlers.as_slice() {
        errors.push(syn::Error::new(
            second.name.span(),
            "an actor has one error inbox, so one `#[errors]` handler",
        ));
    }
    errors.finish()?;

    let target = ImplTarget::of(&implementation, &arguments);
    let actor_impl = actor_impl(&actor, &target, &handlers);
    Ok(quote! {
        #implementation
        #actor_impl
    })
}

/// Checks a handler's signature: `&self`, then the event (or, for a source, the context), then
/// optionally the outboxes; returning nothing or `Result<(), EventError>`.
fn check_handler(role: Role, method: &ImplItemFn) -> syn::Result<Handler> {
    let signature = &method.sig;
    let shape = match role {
        Role::Inbox => "`#[inbox] async fn name(&self, event: Event<T>, out: &ActorOutboxes) -> Result<(), EventError>` (the outboxes are optional)",
        Role::Errors => "`#[errors] async fn name(&self, event: ErrorEvent, out: &ActorOutboxes) -> Result<(), EventError>` (the outboxes are optional)",
        Role::Source => "`#[source] async fn name(&self, ctx: &Context, out: &ActorOutboxes)`",
    };
    let wrong = |span: Span| syn::Error::new(span, format!("expected {shape}"));
    if !signature.generics.params.is_empty() {
        return Err(wrong(signature.generics.span()));
    }
    let mut inputs = signature.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        Some(other) => return Err(wrong(other.span())),
        None => return Err(wrong(signature.paren_token.span.join())),
    }
    let rest: Vec<&FnArg> = inputs.collect();
    let takes_outboxes = match (role, rest.as_slice()) {
        (Role::Source, [_ctx, _out]) => true,
        (Role::Source, _) => return Err(wrong(signature.paren_token.span.join())),
        (_, [_event]) => false,
        (_, [_event, _out]) => true,
        (_, _) => return Err(wrong(signature.paren_token.span.join())),
    };
    let fallible = match (&signature.output, role) {
        (ReturnType::Default, _) => false,
        // The compiler checks it against `Result<(), EventError>`.
        (ReturnType::Type(..), Role::Inbox | Role::Errors) => true,
        (ReturnType::Type(_, ty), Role::Source) => return Err(wrong(ty.span())),
    };
    Ok(Handler {
        role,
        name: signature.ident.clone(),
        is_async: signature.asyncness.is_some(),
        takes_outboxes,
        fallible,
    })
}

fn actor_impl(actor: &Ident, target: &ImplTarget, handlers: &[Handler]) -> TokenStream {
    let types = PortTypes::of(actor);
    let (inboxes, outboxes) = (&types.inboxes, &types.outboxes);
    // All but the self type empty for a concrete actor (see `generics.rs`).
    let (parameters, self_ty, where_clause) = &target.header;
    let (arguments, placeholders) = (&target.arguments, &target.placeholders);
    let ctx = Ident::new("ctx", Span::mixed_site());
    let this = Ident::new("this", Span::mixed_site());
    let out = Ident::new("out", Span::mixed_site());
    let error_inbox = Ident::new("error_inbox", Span::mixed_site());
    let has_errors = handlers.iter().any(|h| h.role == Role::Errors);

    let inbox_names: Vec<&Ident> = handlers
        .iter()
        .filter(|h| h.role == Role::Inbox)
        .map(|h| &h.name)
        .collect();
    let tasks: Vec<(Ident, TokenStream)> = handlers
        .iter()
        .enumerate()
        .map(|(i, handler)| {
            let task = format_ident!("task_{}", i, span = Span::mixed_site());
            let method = &handler.name;
            let outboxes_arg = handler.takes_outboxes.then(|| quote!(, #out));
            let event = Ident::new("event", Span::mixed_site());
            // A source takes the context, a handler the event; both maybe the outboxes.
            let first_arg = match handler.role {
                Role::Source => quote!(&#ctx),
                Role::Inbox | Role::Errors => quote!(#event),
            };
            let call = quote_spanned!(method.span() => #this.#method(#first_arg #outboxes_arg));
            let call = if handler.is_async {
                quote!(#call.await)
            } else {
                call
            };
            // What a handler's closure returns (a source's call is used as it is).
            let body = if handler.fallible {
                call.clone()
            } else {
                quote!({ #call; ::core::result::Result::Ok(()) })
            };
            let future = match handler.role {
                Role::Source => quote!(async { #call; }),
                Role::Inbox => {
                    let inbox = method;
                    let serve = quote!(#ctx.serve(inbox, |#event| async move { #body }));
                    quote!(async { let inbox = #inbox; #serve.await })
                }
                // Counted apart from the other inboxes (see `Context::serve_errors`).
                Role::Errors => {
                    let serve = quote!(#ctx.serve_errors(inbox, |#event| async move { #body }));
                    quote!(async {
                        if let ::core::option::Option::Some(inbox) = #error_inbox {
                            #serve.await
                        }
                    })
                }
            };
            (task, future)
        })
        .collect();
    let task_names: Vec<&Ident> = tasks.iter().map(|(name, _)| name).collect();
    let task_futures: Vec<&TokenStream> = tasks.iter().map(|(_, future)| future).collect();

    let take_error_inbox = has_errors.then(|| quote!(let #error_inbox = #ctx.take_error_inbox();));
    let error_const = has_errors.then(|| {
        quote!(
            const ERROR_INBOX: bool = true;
        )
    });
    let takes_errors = has_errors
        .then(|| quote!(impl #parameters ::compysition::TakesErrors for #self_ty #where_clause {}));
    // The compiler checks each handler's inbox by the field access (an unknown one is "no
    // field" at the method's name), and that every declared inbox has a handler in a `const`.
    let inboxes_param = Ident::new("inboxes", Span::mixed_site());
    let outboxes_param = Ident::new("outboxes", Span::mixed_site());
    let take_inboxes = inbox_names.iter().map(|name| {
        let field = quote_spanned!(name.span() => #inboxes_param.#name);
        quote!(let #name = #field;)
    });
    let handled: Vec<String> = inbox_names.iter().map(|n| n.to_string()).collect();
    let handlers_check = quote_spanned! {actor.span()=>
        const _: () = ::compysition::wiring::check_handlers(#inboxes #placeholders::NAMES, &[#(#handled),*]);
    };
    let join = join_all(&task_names);

    quote! {
        impl #parameters ::compysition::Actor for #self_ty #where_clause {
            type Inboxes = #inboxes #arguments;
            type Outboxes = #outboxes #arguments;
            #error_const

            async fn run(self, mut #ctx: ::compysition::Context, #inboxes_param: #inboxes #arguments, #outboxes_param: #outboxes #arguments) {
                #(#take_inboxes)*
                #take_error_inbox
                let #this = &self;
                let #out = &#outboxes_param;
                let #ctx = &#ctx;
                #(let #task_names = #task_futures;)*
                #join
            }
        }
        #takes_errors
        #handlers_check
    }
}

/// Awaits every task at once, with nothing but `core`: each is polled until it is done.
fn join_all(tasks: &[&Ident]) -> TokenStream {
    match tasks {
        [only] => quote!(#only.await;),
        _ => {
            let done: Vec<Ident> = (0..tasks.len())
                .map(|i| format_ident!("done_{}", i, span = Span::mixed_site()))
                .collect();
            quote! {
                #(let mut #tasks = ::core::pin::pin!(#tasks);)*
                #(let mut #done = false;)*
                ::core::future::poll_fn(|cx| {
                    #(
                        if !#done {
                            #done = ::core::future::Future::poll(#tasks.as_mut(), cx).is_ready();
                        }
                    )*
                    if #(#done)&&* {
                        ::core::task::Poll::Ready(())
                    } else {
                        ::core::task::Poll::Pending
                    }
                })
                .await;
            }
        }
    }
}
