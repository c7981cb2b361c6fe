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
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, PathArguments, ReturnType, Type};

use super::generics::ImplTarget;
use super::ports::PortTypes;
use crate::errors::Errors;

/// What a method of the impl is to the actor, by its attribute.
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

/// A method with a role, as far as the expansion needs to know it.
struct Handler {
    role: Role,
    name: Ident,
    is_async: bool,
    /// Takes the outboxes after the event (or after the context, for a source).
    takes_outboxes: bool,
    /// Returns `Result<(), EventError>` rather than nothing.
    fallible: bool,
}

/// Reads the handlers off the impl (checking it and each of them, every mistake reported at
/// once), then expands the impl, stripped of the role attributes, and the `Actor` impl.
pub fn expand(mut implementation: ItemImpl) -> syn::Result<TokenStream> {
    let (actor, arguments) = actor_name(&implementation)?;
    let mut errors = Errors::default();
    check_impl(&implementation, &mut errors);
    let handlers = take_handlers(&mut implementation, &mut errors);
    check_roles(&actor, &implementation, &handlers, &mut errors);
    errors.finish()?;
    let target = ImplTarget::of(&implementation, &arguments);
    let actor_impl = actor_impl(&actor, &target, &handlers);
    Ok(quote! {
        #implementation
        #actor_impl
    })
}

/// The struct the impl is for, a plain name (the types `#[actor]` generated for it are named
/// after it), and the type arguments it is written with (`Null<T>` → `<T>`).
fn actor_name(implementation: &ItemImpl) -> syn::Result<(Ident, PathArguments)> {
    match &*implementation.self_ty {
        Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            let segment = &path.path.segments[0];
            Ok((segment.ident.clone(), segment.arguments.clone()))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`#[actor]` goes on the inherent `impl` of an `#[actor]` struct: `impl Name { … }`",
        )),
    }
}

/// The impl is inherent (its generics and bounds go to the `Actor` impl, see `generics.rs`).
fn check_impl(implementation: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, _)) = &implementation.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "`#[actor]` goes on the inherent `impl` of the struct, where its handlers are",
        ));
    }
}

/// Every method marked with a role, checked, its role attribute removed (the compiler does not
/// know `#[inbox]`, `#[errors]` and `#[source]`).
fn take_handlers(implementation: &mut ItemImpl, errors: &mut Errors) -> Vec<Handler> {
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
            [(role, _)] => handlers.extend(errors.keep(check_handler(*role, method))),
            [_, (_, second), ..] => errors.push(syn::Error::new(
                *second,
                "a method has one role: `#[inbox]`, `#[errors]` or `#[source]`",
            )),
        }
    }
    handlers
}

/// The actor has some handler, and at most one `#[errors]` handler (it has one error inbox).
fn check_roles(
    actor: &Ident,
    implementation: &ItemImpl,
    handlers: &[Handler],
    errors: &mut Errors,
) {
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

/// The locals of the generated `run`, hygienic (`Span::mixed_site()`): the handlers' own code
/// cannot see or shadow them.
struct Locals {
    ctx: Ident,
    this: Ident,
    out: Ident,
    event: Ident,
    error_inbox: Ident,
    inboxes: Ident,
    outboxes: Ident,
}

impl Locals {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            ctx: local("ctx"),
            this: local("this"),
            out: local("out"),
            event: local("event"),
            error_inbox: local("error_inbox"),
            inboxes: local("inboxes"),
            outboxes: local("outboxes"),
        }
    }
}

/// The `Actor` impl: `run` takes each handled inbox out of the inbox set, starts one task per
/// handler and awaits them all. With an `#[errors]` handler, the actor also takes the error
/// inbox and implements `TakesErrors`.
fn actor_impl(actor: &Ident, target: &ImplTarget, handlers: &[Handler]) -> TokenStream {
    let types = PortTypes::of(actor);
    let (inboxes, outboxes) = (&types.inboxes, &types.outboxes);
    // All but the self type empty for a concrete actor (see `generics.rs`).
    let (parameters, self_ty, where_clause) = &target.header;
    let arguments = &target.arguments;
    let locals = Locals::new();
    let Locals {
        ctx,
        this,
        out,
        error_inbox,
        inboxes: inboxes_param,
        outboxes: outboxes_param,
        ..
    } = &locals;
    let task_names: Vec<Ident> = (0..handlers.len())
        .map(|i| format_ident!("task_{}", i, span = Span::mixed_site()))
        .collect();
    let task_futures = handlers.iter().map(|handler| task(handler, &locals));
    // The compiler checks each handler's inbox by the field access (an unknown one is "no
    // field" at the method's name).
    let take_inboxes = handled_inboxes(handlers).map(|name| {
        let field = quote_spanned!(name.span() => #inboxes_param.#name);
        quote!(let #name = #field;)
    });
    let has_errors = handlers.iter().any(|h| h.role == Role::Errors);
    let take_error_inbox = has_errors.then(|| quote!(let #error_inbox = #ctx.take_error_inbox();));
    let error_const = has_errors.then(|| {
        quote!(
            const ERROR_INBOX: bool = true;
        )
    });
    let takes_errors = has_errors.then(|| {
        quote!(impl #parameters ::compysition::__private::TakesErrors for #self_ty #where_clause {})
    });
    let handlers_check = handlers_check(actor, &target.placeholders, handlers);
    let join = join_all(&task_names);

    quote! {
        impl #parameters ::compysition::__private::Actor for #self_ty #where_clause {
            type Inboxes = #inboxes #arguments;
            type Outboxes = #outboxes #arguments;
            #error_const

            async fn run(self, mut #ctx: ::compysition::__private::Context, #inboxes_param: #inboxes #arguments, #outboxes_param: #outboxes #arguments) {
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

/// The names of the inboxes the `#[inbox]` handlers handle.
fn handled_inboxes(handlers: &[Handler]) -> impl Iterator<Item = &Ident> {
    handlers
        .iter()
        .filter(|h| h.role == Role::Inbox)
        .map(|h| &h.name)
}

/// A `const` in which the compiler checks that every inbox declared on the struct has a
/// handler (a missing one stops the build, at the actor's name). `placeholders` stand for the
/// struct's type parameters, which are not in scope there.
fn handlers_check(actor: &Ident, placeholders: &TokenStream, handlers: &[Handler]) -> TokenStream {
    let inboxes = PortTypes::of(actor).inboxes;
    let handled: Vec<String> = handled_inboxes(handlers).map(Ident::to_string).collect();
    quote_spanned! {actor.span()=>
        const _: () = ::compysition::__private::check_handlers(#inboxes #placeholders::NAMES, &[#(#handled),*]);
    }
}

/// One handler's task, a future: a source's call, or its inbox served with the handler
/// (the error inbox counted apart, see `Context::serve_errors`).
fn task(handler: &Handler, locals: &Locals) -> TokenStream {
    let Locals {
        ctx,
        this,
        out,
        event,
        error_inbox,
        ..
    } = locals;
    let method = &handler.name;
    let outboxes_arg = handler.takes_outboxes.then(|| quote!(, #out));
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
    match handler.role {
        Role::Source => quote!(async { #call; }),
        Role::Inbox => {
            let serve = quote!(#ctx.serve(inbox, |#event| async move { #body }));
            quote!(async { let inbox = #method; #serve.await })
        }
        Role::Errors => {
            let serve = quote!(#ctx.serve_errors(inbox, |#event| async move { #body }));
            quote!(async {
                if let ::core::option::Option::Some(inbox) = #error_inbox {
                    #serve.await
                }
            })
        }
    }
}

/// Awaits every task at once, with nothing but `core`: each is polled until it is done.
fn join_all(tasks: &[Ident]) -> TokenStream {
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
