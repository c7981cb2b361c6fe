//! `topology!` syntax → a plain AST that keeps the user's tokens for error spans.
//!
//! ```text
//! topology      := inner-setting* statement*
//! inner-setting := "#![capacity = " INT "]"
//! statement     := outer-setting* (declaration | chain) ";"
//! outer-setting := "#[capacity = " INT "]"            (edge statements only)
//! declaration   := IDENT "=" EXPR                     (`log = EXPR` registers the log actor)
//! chain         := stage (arrow stage)+
//! arrow         := "->" | "!->"
//! stage         := endpoint | "[" endpoint ("," endpoint)* ","? "]"
//! endpoint      := IDENT ("." IDENT)?
//! ```
//!
//! Parsing checks only the syntax; what the names mean is `graph.rs`'s business.

use proc_macro2::Span;

use crate::errors::Errors;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Attribute, Expr, Ident, LitInt, Token};

/// The whole `topology! { … }` block.
pub struct TopologyInput {
    /// `#![capacity = N]`: the queue capacity of every inbox no edge sets one for.
    pub capacity: Option<Capacity>,
    pub statements: Vec<Statement>,
}

pub enum Statement {
    Declare(Declaration),
    Connect(Chain),
}

/// `name = expr;`
pub struct Declaration {
    pub name: Ident,
    pub actor: Expr,
}

impl Declaration {
    /// `log = …;` declares the actor that receives the topology's log records.
    pub fn is_log(&self) -> bool {
        self.name == "log"
    }
}

/// `a -> b !-> c -> [d, e];`
pub struct Chain {
    /// `#[capacity = N]` on the statement: applies to every edge of the chain.
    pub capacity: Option<Capacity>,
    pub head: Stage,
    pub links: Vec<Link>,
}

/// One arrow of a chain and the stage it leads to.
pub struct Link {
    pub arrow: Arrow,
    pub stage: Stage,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArrowKind {
    /// `->`: outbox to inbox.
    Data,
    /// `!->`: error outbox to error inbox.
    Errors,
}

#[derive(Clone, Copy)]
pub struct Arrow {
    pub kind: ArrowKind,
    pub span: Span,
}

/// One actor, or a bracketed group of them (fan-out or fan-in).
pub enum Stage {
    One(Endpoint),
    Group(Vec<Endpoint>),
}

impl Stage {
    pub fn endpoints(&self) -> &[Endpoint] {
        match self {
            Stage::One(endpoint) => std::slice::from_ref(endpoint),
            Stage::Group(endpoints) => endpoints,
        }
    }
}

/// `actor` or `actor.port`.
#[derive(Clone)]
pub struct Endpoint {
    pub actor: Ident,
    pub port: Option<Ident>,
}

/// A queue capacity, in events (1 or more).
#[derive(Clone, Copy)]
pub struct Capacity {
    pub value: usize,
}

impl Parse for TopologyInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // A broken setting or statement is reported and skipped, so one build shows every
        // syntax error.
        let mut errors = Errors::default();
        let mut capacity = None;
        for attribute in Attribute::parse_inner(input)? {
            match parse_capacity(&attribute) {
                Ok(setting) => {
                    if capacity.replace(setting).is_some() {
                        errors.push(syn::Error::new_spanned(
                            attribute,
                            "the topology's capacity is already set",
                        ));
                    }
                }
                Err(error) => errors.push(error),
            }
        }
        let mut statements = Vec::new();
        while !input.is_empty() {
            match input.parse() {
                Ok(statement) => statements.push(statement),
                Err(error) => {
                    errors.push(error);
                    skip_past_semicolon(input)?;
                }
            }
        }
        errors.finish()?;
        Ok(TopologyInput {
            capacity,
            statements,
        })
    }
}

impl Parse for Statement {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attributes = Attribute::parse_outer(input)?;
        let is_declaration =
            input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]);
        if is_declaration {
            if let Some(attribute) = attributes.first() {
                return Err(syn::Error::new_spanned(
                    attribute,
                    "`#[capacity = N]` belongs on an edge statement (`#[capacity = 10] a -> b;`), \
                     or use `#![capacity = N]` at the top for the whole topology",
                ));
            }
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let actor: Expr = input.parse()?;
            expect_semicolon(input, "after the actor expression")?;
            return Ok(Statement::Declare(Declaration { name, actor }));
        }

        let mut capacity = None;
        for attribute in &attributes {
            if capacity.replace(parse_capacity(attribute)?).is_some() {
                return Err(syn::Error::new_spanned(
                    attribute,
                    "this statement's capacity is already set",
                ));
            }
        }
        if !input.peek(Ident) && !input.peek(syn::token::Bracket) {
            return Err(input.error(
                "expected a declaration (`name = actor;`) or an edge (`a -> b;`, `a !-> b;`)",
            ));
        }
        let head: Stage = input.parse()?;
        let mut links = Vec::new();
        while input.peek(Token![->]) || (input.peek(Token![!]) && input.peek2(Token![->])) {
            let arrow = if input.peek(Token![!]) {
                let bang: Token![!] = input.parse()?;
                input.parse::<Token![->]>()?;
                Arrow {
                    kind: ArrowKind::Errors,
                    span: bang.span,
                }
            } else {
                let arrow: Token![->] = input.parse()?;
                Arrow {
                    kind: ArrowKind::Data,
                    span: arrow.spans[0],
                }
            };
            let stage: Stage = input.parse()?;
            links.push(Link { arrow, stage });
        }
        if links.is_empty() {
            return Err(input.error(
                "expected `->` or `!->`: a statement is a declaration (`name = actor;`) or an edge \
                 (`a -> b;`)",
            ));
        }
        expect_semicolon(input, "after the edge")?;
        Ok(Statement::Connect(Chain {
            capacity,
            head,
            links,
        }))
    }
}

impl Parse for Stage {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let members: Punctuated<Endpoint, Token![,]> =
                content.parse_terminated(Endpoint::parse, Token![,])?;
            if members.is_empty() {
                return Err(syn::Error::new(
                    bracket.span.join(),
                    "an empty group connects nothing: list the actors, as in `[a, b]`",
                ));
            }
            Ok(Stage::Group(members.into_iter().collect()))
        } else {
            Ok(Stage::One(input.parse()?))
        }
    }
}

impl Parse for Endpoint {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let actor: Ident = input.parse()?;
        let port = if input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Endpoint { actor, port })
    }
}

/// Skips the rest of a statement that failed to parse.
fn skip_past_semicolon(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((token, next)) = rest.token_tree() {
            rest = next;
            if matches!(&token, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';') {
                break;
            }
        }
        Ok(((), rest))
    })
}

fn expect_semicolon(input: ParseStream, after: &str) -> syn::Result<()> {
    if input.peek(Token![;]) {
        input.parse::<Token![;]>()?;
        Ok(())
    } else {
        Err(input.error(format!("expected `;` {after}")))
    }
}

/// `capacity = N` with `N >= 1`.
fn parse_capacity(attribute: &Attribute) -> syn::Result<Capacity> {
    let syn::Meta::NameValue(setting) = &attribute.meta else {
        return Err(unknown_setting(attribute));
    };
    if !setting.path.is_ident("capacity") {
        return Err(unknown_setting(attribute));
    }
    let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(literal),
        ..
    }) = &setting.value
    else {
        return Err(syn::Error::new_spanned(
            &setting.value,
            "the capacity is a whole number of events, as in `capacity = 100`",
        ));
    };
    let value = capacity_value(literal)?;
    Ok(Capacity { value })
}

fn capacity_value(literal: &LitInt) -> syn::Result<usize> {
    match literal.base10_parse::<usize>() {
        Ok(0) => Err(syn::Error::new(
            literal.span(),
            "a queue needs room for at least one event: the capacity must be 1 or more",
        )),
        Ok(value) => Ok(value),
        Err(error) => Err(syn::Error::new(literal.span(), error)),
    }
}

fn unknown_setting(attribute: &Attribute) -> syn::Error {
    syn::Error::new_spanned(
        attribute,
        "unknown setting: `topology!` takes `#![capacity = N]` (whole topology) and \
         `#[capacity = N]` (edges of one statement)",
    )
}
