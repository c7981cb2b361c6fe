//! The type parameters of a generic `#[actor]` struct, carried onto its port types.
//!
//! ```text
//! #[actor(inboxes(inbox: In), outboxes(outbox: D))]
//! pub struct Data<In, D> { … }
//!
//! #[actor]
//! impl<In: Payload, D: Payload + Clone> Data<In, D> { … }
//! ```
//!
//! Every port type of the struct (`DataInboxes<In, D>`, `DataOutboxRefs<In, D>`, …) takes all
//! the struct's type parameters, in their order, so that `#[actor]` on the impl, which does not
//! see the struct, names them from its self type alone (`Data<In, D>` → `DataInboxes<In, D>`).
//! A private marker field uses every parameter, also in a set whose ports use none (a sink's
//! outboxes). The port traits are implemented where each port's payload type is a `Payload`
//! (what a port needs); the bounds of the struct stay on the struct, those of the impl on the
//! `Actor` impl. Lifetimes and const parameters are refused: an actor is `'static`, and its
//! ports are typed by payload types.
//!
//! For a struct without parameters every piece here is empty: the expansion is the concrete one.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericParam, Generics, Ident, ItemImpl, PathArguments, Type};

/// The type parameters of an `#[actor]` struct.
pub struct TypeParameters(Vec<Ident>);

impl TypeParameters {
    pub fn of(generics: &Generics) -> syn::Result<Self> {
        let mut parameters = Vec::new();
        for parameter in &generics.params {
            match parameter {
                GenericParam::Type(parameter) => parameters.push(parameter.ident.clone()),
                GenericParam::Lifetime(_) | GenericParam::Const(_) => {
                    return Err(syn::Error::new_spanned(
                        parameter,
                        "the parameters of an `#[actor]` struct are types (an actor is \
                         `'static`, and its ports are typed by payloads)",
                    ))
                }
            }
        }
        Ok(TypeParameters(parameters))
    }

    /// `<A, B>`, after `impl` and after the name of a port type.
    pub fn arguments(&self) -> TokenStream {
        if self.0.is_empty() {
            return TokenStream::new();
        }
        let parameters = &self.0;
        quote!(<#(#parameters),*>)
    }

    /// The marker field, in a port type's declaration.
    pub fn marker_field(&self) -> TokenStream {
        if self.0.is_empty() {
            return TokenStream::new();
        }
        let parameters = &self.0;
        quote!(_parameters: ::core::marker::PhantomData<fn() -> (#(#parameters,)*)>,)
    }

    /// The marker field, in a port type's construction.
    pub fn marker_value(&self) -> TokenStream {
        if self.0.is_empty() {
            return TokenStream::new();
        }
        quote!(_parameters: ::core::marker::PhantomData,)
    }

    /// The where clause of the port trait impls of a set with these payload types.
    pub fn bounds(&self, payloads: &[&Type]) -> TokenStream {
        if self.0.is_empty() {
            return TokenStream::new();
        }
        let parameters = &self.0;
        quote!(where #(#parameters: 'static,)* #(#payloads: ::compysition::__private::Payload,)*)
    }

    /// `Clone` and `Debug` of a references struct: derived for a concrete actor; written out for
    /// a generic one, where a derive would ask them of the type parameters too.
    pub fn refs_traits(&self, refs: &Ident, names: &[&Ident]) -> (TokenStream, TokenStream) {
        if self.0.is_empty() {
            return (quote!(#[derive(Clone, Debug)]), TokenStream::new());
        }
        let arguments = self.arguments();
        let marker = self.marker_value();
        let label = refs.to_string();
        let labels: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let impls = quote! {
            impl #arguments ::core::clone::Clone for #refs #arguments {
                fn clone(&self) -> Self {
                    #refs { #(#names: ::core::clone::Clone::clone(&self.#names),)* #marker }
                }
            }

            impl #arguments ::core::fmt::Debug for #refs #arguments {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(#label) #(.field(#labels, &self.#names))* .finish()
                }
            }
        };
        (TokenStream::new(), impls)
    }
}

/// The actor an `#[actor]` impl is for, as the generated impls name it and its port types.
pub struct ImplTarget {
    /// `impl<T: Payload>`'s parameters, the self type `Null<T>` and the where clause.
    pub header: (TokenStream, TokenStream, TokenStream),
    /// The arguments of the port types: `<T>`.
    pub arguments: TokenStream,
    /// The arguments of the port types where no parameter is in scope (the `const` that checks
    /// every inbox has a handler): `::<()>`. Port types have no bounds, so `()` does.
    pub placeholders: TokenStream,
}

impl ImplTarget {
    /// `arguments`: those of the self type's one path segment.
    pub fn of(implementation: &ItemImpl, arguments: &PathArguments) -> Self {
        let (parameters, _, where_clause) = implementation.generics.split_for_impl();
        let self_ty = &implementation.self_ty;
        let (arguments, count) = match arguments {
            PathArguments::AngleBracketed(list) => (quote!(#list), list.args.len()),
            PathArguments::None | PathArguments::Parenthesized(_) => (TokenStream::new(), 0),
        };
        let placeholders = if count == 0 {
            TokenStream::new()
        } else {
            let units = (0..count).map(|_| quote!(()));
            quote!(::<#(#units),*>)
        };
        ImplTarget {
            header: (quote!(#parameters), quote!(#self_ty), quote!(#where_clause)),
            arguments,
            placeholders,
        }
    }
}
