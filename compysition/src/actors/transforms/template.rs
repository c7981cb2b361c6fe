//! [`Template`]: replaces each event's payload with text made from its attributes
//! (`"{order_id} is {lane}"`), keeping the envelope — the Python project's payload modifiers
//! that set the data from attributes. The template is parsed once, when the actor is made.

use std::marker::PhantomData;
use std::sync::Arc;

use compysition_macros::actor;

use crate::error::{Error, EventError};
use crate::event::Event;
use crate::payload::Payload;

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Attribute(String),
}

/// Replaces the payload with text: the template, each `{name}` replaced by the event's
/// attribute `name`; `{{` and `}}` are literal braces. An event without one of the attributes
/// fails as `Malformed` (400), naming it. The result is a `String`, which an edge converts to
/// `Xml`, `Json` or `Bytes` for the next actor, parsing it when that is what it takes.
///
/// ```
/// use compysition::actors::Template;
/// use compysition::Event;
///
/// let answer = Template::<String>::new("{order_id} is {lane}")?;
/// let event = Event::new(String::new())
///     .with_attribute("order_id", "42")
///     .with_attribute("lane", "express");
/// assert_eq!(answer.render(&event)?, "42 is express");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[actor(inboxes(inbox: T), outboxes(outbox: String))]
pub struct Template<T> {
    pieces: Arc<[Piece]>,
    _payload: PhantomData<fn(T)>,
}

impl<T> Template<T> {
    /// Parses `template`; [`Error::Compile`] for a `{` without its `}`, a `}` without its `{`,
    /// or an empty `{}`.
    pub fn new(template: &str) -> crate::Result<Self> {
        let pieces = parse(template).map_err(|message| Error::Compile {
            what: format!("template \"{template}\""),
            message,
        })?;
        Ok(Template {
            pieces: pieces.into(),
            _payload: PhantomData,
        })
    }

    /// The text for `event`.
    pub fn render(&self, event: &Event<T>) -> Result<String, EventError> {
        let mut out = String::new();
        for piece in self.pieces.iter() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Attribute(name) => match event.attribute(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(EventError::malformed(format!(
                            "attribute `{name}` is missing (the payload's template needs it)"
                        )))
                    }
                },
            }
        }
        Ok(out)
    }
}

#[actor]
impl<T: Payload> Template<T> {
    #[inbox]
    async fn inbox(&self, event: Event<T>, out: &TemplateOutboxes<T>) -> Result<(), EventError> {
        let text = self.render(&event)?;
        out.outbox.send(event.with_data(text)).await;
        Ok(())
    }
}

fn parse(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let rest = &template[at + 1..];
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("the `{{` at {at} has no `}}`"))?;
                let name = rest[..end].trim();
                if name.is_empty() || name.contains('{') {
                    return Err(format!("the `{{` at {at} names no attribute"));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Attribute(name.to_string()));
                // Skip the name and its `}`.
                while chars.next_if(|&(i, _)| i <= at + 1 + end).is_some() {}
            }
            '}' => return Err(format!("the `}}` at {at} closes nothing (write `}}}}`)")),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn templates_parse_into_text_and_attributes() {
        assert_eq!(
            parse("{{id}}: {id} is { lane }!").expect("parses"),
            [
                Piece::Text("{id}: ".into()),
                Piece::Attribute("id".into()),
                Piece::Text(" is ".into()),
                Piece::Attribute("lane".into()),
                Piece::Text("!".into()),
            ]
        );
        assert_eq!(parse("").expect("parses"), []);
        for broken in ["{id", "id}", "{}", "{ }", "{a{b}"] {
            assert!(parse(broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn a_missing_attribute_is_malformed_and_named() {
        let template = Template::<()>::new("{order_id} is {lane}").expect("parses");
        let event = Event::new(()).with_attribute("order_id", "42");
        let error = template.render(&event).expect_err("no lane");
        assert_eq!(error.kind(), ErrorKind::Malformed);
        assert!(error.message().contains("`lane`"), "{error}");
        let event = event.with_attribute("lane", "bulk");
        assert_eq!(template.render(&event).expect("renders"), "42 is bulk");
    }

    #[test]
    fn a_broken_template_is_a_compile_error() {
        let error = Template::<()>::new("{order_id").err().expect("unclosed");
        assert!(matches!(error, Error::Compile { .. }), "{error}");
    }
}
