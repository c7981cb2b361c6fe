//! The checked graph → code on the runtime's API, every path through `compysition::__private`:
//! what the expansion needs is kept apart from the public API, so that neither ties the other.
//!
//! `topology! { … }` becomes a block that registers every actor on a `Director`, connects every
//! edge, sets the capacities and evaluates to `Topology::new(director)`; nothing of the macro is
//! left at run time. The expansion never re-validates: the compiler does the type-level checks
//! on the calls emitted here, and each call is spanned on the user's tokens so its error points
//! there:
//!
//! | call                                       | what the compiler checks     | spanned on      |
//! | ------------------------------------------ | ---------------------------- | --------------- |
//! | `handle.outbox()` / `handle.inbox()`       | the actor has one such port  | the actor name  |
//! | `handle.outboxes().port`                   | the port exists              | the port name   |
//! | `connect_queue_exclusive(from, to)`        | the payloads convert         | the arrow       |
//! | `connect_queue(&from, to)` (fan-out)       | the payload can be copied    | the fan-out     |
//! | `connect_error_queue(&from, &to)`          | the target takes errors      | the target name |
//! | `__private::check_*(…)`                    | feeds and answer paths       | the declaration |
//!
//! The director is a hygienic local (`Span::mixed_site()`): the actor expressions cannot see
//! it. The handles are not, so that errors point at the user's tokens (see `Handle`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::graph::{DataEdge, Graph, OutboxEdges, Port};

/// The topology's code, with `mistakes` (the `compile_error!`s of the graph checks) inside it:
/// what did resolve is still expanded, so the compiler's checks on it run in the same build.
pub fn topology(graph: &Graph, mistakes: TokenStream) -> TokenStream {
    if graph.actors.is_empty() {
        return syntax_errors(mistakes);
    }
    let director = Ident::new("director", Span::mixed_site());
    let handles: Vec<Handle> = graph
        .actors
        .iter()
        .map(|actor| Handle(format!("__compysition_actor_{}", actor.name)))
        .collect();

    let capacity = graph
        .capacity
        .map(|capacity| quote!(#director.set_default_capacity(#capacity);));

    let registrations = graph.actors.iter().zip(&handles).map(|(actor, handle)| {
        let handle = handle.at(actor.name.span());
        let name = actor.name.to_string();
        let expr = &actor.expr;
        let register = if actor.is_log {
            quote_spanned!(actor.name.span() => register_log_actor)
        } else {
            quote_spanned!(actor.name.span() => register_actor)
        };
        quote!(let #handle = #director.#register(#name, #expr);)
    });

    let data_edges = graph
        .outboxes
        .iter()
        .flat_map(|outbox| outbox.edges.iter().map(move |edge| (outbox, edge)))
        .map(|(outbox, edge)| connect(&director, &handles, outbox, edge));

    let error_edges = graph.error_edges.iter().map(|edge| {
        let span = edge.to_written.span();
        let from = handles[edge.from].at(span);
        let to = handles[edge.to].at(span);
        let method = quote_spanned!(span => connect_error_queue);
        quote!(#director.#method(&#from, &#to);)
    });

    let probes = wiring_checks(graph, &handles);

    quote! {
        {
            #mistakes
            let mut #director = ::compysition::__private::Director::new();
            #capacity
            #(#registrations)*
            #(#data_edges)*
            #(#error_edges)*
            #probes
            ::compysition::__private::Topology::new(#director)
        }
    }
}

/// A block that reports `errors` and still has the type of a topology, so that the mistake is
/// not followed by errors about the block itself.
pub fn syntax_errors(errors: TokenStream) -> TokenStream {
    quote! {
        {
            #errors
            ::compysition::__private::Topology::new(::compysition::__private::Director::new())
        }
    }
}

/// One data edge: an exclusive edge when it is its outbox's only one (no copy needed), a
/// copying edge in a fan-out.
fn connect(
    director: &Ident,
    handles: &[Handle],
    outbox: &OutboxEdges,
    edge: &DataEdge,
) -> TokenStream {
    let arrow = edge.arrow;
    let from_port = out_port(&handles[edge.from.actor], &edge.from);
    let to_port = in_port(&handles[edge.to.actor], &edge.to);
    let from = Ident::new("__compysition_from", arrow);
    // A payload that does not convert is reported on the argument, so at the arrow.
    let to = Ident::new("__compysition_to", arrow);
    let call = match outbox.fan_out {
        None => {
            let method = quote_spanned!(arrow => connect_queue_exclusive);
            let capacity = edge.capacity.map(|c| quote!(.capacity(#c)));
            quote!(#director.#method(#from, #to) #capacity)
        }
        Some(fan_out) => {
            // A payload that cannot be copied is reported on the method, at the fan-out edge:
            // the same place for every edge of the outbox, so the compiler shows it once.
            //
            // The call carries the macro's own spans, located at the fan-out: an error on its
            // first argument is then shown there without rustc suggesting edits to the user's
            // tokens (its "consider borrowing" hint would rewrite the arrow).
            let here = Span::mixed_site().located_at(fan_out);
            let method = Ident::new("connect_queue", here);
            let capacity = edge.capacity.map(|c| quote!(.capacity(#c)));
            let director = Ident::new(&director.to_string(), director.span().located_at(fan_out));
            let from = Ident::new("__compysition_from", fan_out);
            let from = quote_spanned!(here => &#from);
            quote_spanned!(here => #director.#method(#from, #to) #capacity)
        }
    };
    let from = Ident::new("__compysition_from", outbox.fan_out.unwrap_or(arrow));
    quote! {
        {
            let #from = #from_port;
            let #to = #to_port;
            #call;
        }
    }
}

/// The outbox an edge leaves from: `handle.outboxes().port` when it names one (the compiler
/// checks that the port exists), otherwise the actor's only outbox (the compiler checks that
/// the actor has exactly one).
fn out_port(handle: &Handle, end: &Port) -> TokenStream {
    let span = end.written.span();
    let handle = handle.at(span);
    match &end.port {
        None => {
            quote_spanned!(span => ::compysition::__private::IntoOutPort::into_out_port(&#handle))
        }
        Some(port) => {
            let outboxes = quote_spanned!(port.span() => outboxes);
            quote!(#handle.#outboxes().#port)
        }
    }
}

/// The inbox an edge leads to, as `out_port`. (The two stay apart: every token of the call
/// must carry the user's span, which a path passed in from outside would not.)
fn in_port(handle: &Handle, end: &Port) -> TokenStream {
    let span = end.written.span();
    let handle = handle.at(span);
    match &end.port {
        None => {
            quote_spanned!(span => ::compysition::__private::IntoInPort::into_in_port(&#handle))
        }
        Some(port) => {
            let inboxes = quote_spanned!(port.span() => inboxes);
            quote!(#handle.#inboxes().#port)
        }
    }
}

/// The local variable holding an actor's handle.
///
/// It is named, not hygienic: the compiler reports a failed check on an argument at the span of
/// the variable inside it, so each use carries the span of the user's token it stands for (a
/// hygienic name would carry the macro's span, and the error would point at the whole block).
/// The `__compysition_` prefix keeps it out of the way of the user's names.
struct Handle(String);

impl Handle {
    fn at(&self, span: Span) -> Ident {
        Ident::new(&self.0, span)
    }
}

/// The checks that need facts about actor types (`compysition/src/wiring.rs`), for the actors
/// whose edges call for them. Emitted last, once every actor's type is inferred.
fn wiring_checks(graph: &Graph, handles: &[Handle]) -> TokenStream {
    let mut checks = Vec::new();
    for (actor, handle) in graph.actors.iter().zip(handles) {
        if !actor.connected || actor.tainted {
            continue; // already reported
        }
        let name = actor.name.span();
        let handle = handle.at(name);
        let handle = quote_spanned!(name => &#handle);
        if !actor.fed {
            checks.push(quote_spanned!(name => ::compysition::__private::check_fed(#handle);));
        }
        let probe =
            quote_spanned!(name => (&::compysition::__private::Probe::of(#handle)).answering());
        if !actor.feeds && !actor.is_log {
            checks.push(quote_spanned!(name => ::compysition::__private::check_output(#probe);));
        } else if !actor.answered && !actor.is_log {
            checks
                .push(quote_spanned!(name => ::compysition::__private::check_answer_path(#probe);));
        }
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    quote! {
        {
            use ::compysition::__private::{AnswererProbe as _, OtherActorProbe as _};
            #(#checks)*
        }
    }
}
