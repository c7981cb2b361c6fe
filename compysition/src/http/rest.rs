//! [`RestTranslator`]: gives the flow's answers the statuses REST clients expect.
//!
//! A flow answers with a payload; whether that means "created" or "nothing to say" depends on
//! the request's method. Placed before the server's inbox, this actor sets the status (and the
//! `Location` of a created resource) so the actors before it need not know about HTTP.

use http::header::{HeaderValue, LOCATION};
use http::{Method, StatusCode};

use crate::actor::{Actor, Context};
use crate::event::Event;

use super::context::HttpContext;
use crate::port::{Inbox, Outbox};

use super::body::Body;

/// Sets REST statuses on answers: `201 Created` with a `Location` header for `POST`, and
/// `204 No Content` for an empty answer to `GET`, `PUT`, `PATCH` or `DELETE`. An answer whose
/// status the flow already set is left alone.
///
/// The `Location` of a created resource is the event attribute `location` when the flow set
/// one, otherwise the request path followed by the created resource's id: the attribute named
/// by [`id_attribute`](Self::id_attribute) (default `id`), or else the event's `meta_id`.
///
/// ```
/// use compysition::actors::RestTranslator;
///
/// let rest = RestTranslator::new().id_attribute("order_id");
/// # let _ = rest;
/// ```
#[derive(Clone, Debug)]
pub struct RestTranslator {
    id_attribute: String,
}

impl Default for RestTranslator {
    fn default() -> Self {
        Self::new()
    }
}

impl RestTranslator {
    /// Takes a created resource's id from the attribute `id`.
    pub fn new() -> Self {
        RestTranslator {
            id_attribute: "id".to_string(),
        }
    }

    /// Takes a created resource's id from the attribute `name`.
    pub fn id_attribute(mut self, name: impl Into<String>) -> Self {
        self.id_attribute = name.into();
        self
    }

    fn translate(&self, mut event: Event<Body>) -> Event<Body> {
        let Some(http) = event.extension::<HttpContext>() else {
            return event;
        };
        if http.status.is_some() {
            return event;
        }
        let method = http.method.clone();
        if method == Method::POST {
            let location = self.location(&event);
            if let Some(http) = event.extension_mut::<HttpContext>() {
                http.status = Some(StatusCode::CREATED);
                if let Some(location) = location {
                    http.response_headers.insert(LOCATION, location);
                }
            }
        } else if event.data.is_empty()
            && [Method::GET, Method::PUT, Method::PATCH, Method::DELETE].contains(&method)
        {
            if let Some(http) = event.extension_mut::<HttpContext>() {
                http.status = Some(StatusCode::NO_CONTENT);
            }
        }
        event
    }

    fn location(&self, event: &Event<Body>) -> Option<HeaderValue> {
        if let Some(location) = event.attribute("location") {
            return HeaderValue::from_str(location).ok();
        }
        let path = event.extension::<HttpContext>()?.path.trim_end_matches('/');
        let location = match event.attribute(&self.id_attribute) {
            Some(id) => format!("{path}/{}", encode_segment(id)),
            None => format!("{path}/{}", encode_segment(&event.meta_id().to_string())),
        };
        HeaderValue::from_str(&location).ok()
    }
}

/// Percent-encodes what may not stand in a path segment.
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Actor for RestTranslator {
    type Inboxes = Inbox<Body>;
    type Outboxes = Outbox<Body>;

    async fn run(self, ctx: Context, inbox: Inbox<Body>, outbox: Outbox<Body>) {
        let this = &self;
        let outbox = &outbox;
        ctx.serve(inbox, |event| async move {
            outbox.send(this.translate(event)).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(method: Method, body: Body) -> Event<Body> {
        let mut event = Event::new(body);
        event.insert_extension(HttpContext::new(method, "/orders"));
        event
    }

    #[test]
    fn post_answers_are_created_with_a_location() {
        let event = answer(Method::POST, Body::Text("ok".into())).with_attribute("id", "42 a");
        let event = RestTranslator::new().translate(event);
        let http = event.extension::<HttpContext>().expect("http context");
        assert_eq!(http.status, Some(StatusCode::CREATED));
        assert_eq!(http.response_headers[LOCATION], "/orders/42%20a");
    }

    #[test]
    fn empty_answers_have_no_content() {
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let event = RestTranslator::new().translate(answer(method.clone(), Body::Empty));
            assert_eq!(
                event.extension::<HttpContext>().and_then(|h| h.status),
                Some(StatusCode::NO_CONTENT),
                "{method}"
            );
        }
    }

    #[test]
    fn answers_with_content_or_a_status_are_left_alone() {
        let event = RestTranslator::new().translate(answer(Method::GET, Body::Text("x".into())));
        assert_eq!(
            event.extension::<HttpContext>().and_then(|h| h.status),
            None
        );
        let mut event = answer(Method::POST, Body::Empty);
        if let Some(http) = event.extension_mut::<HttpContext>() {
            http.status = Some(StatusCode::ACCEPTED);
        }
        let event = RestTranslator::new().translate(event);
        assert_eq!(
            event.extension::<HttpContext>().and_then(|h| h.status),
            Some(StatusCode::ACCEPTED)
        );
    }
}
