//! `Splitter`: one event into many, one per item of a JSON array (at a JSON Pointer).
//!
//! Each piece is a copy of the event with one item as its payload: same id and `meta_id`,
//! same attributes, extensions and reply slot (a request that is split is answered by what
//! its pieces become, once an [`Aggregator`](super::Aggregator) puts them back together), plus
//! the attributes [`SPLIT_INDEX`] (from `0`) and [`SPLIT_COUNT`].

use std::sync::Arc;

use crate::actor::{Actor, Context};
use crate::error::EventError;
use crate::event::Event;
use crate::json::Json;
use crate::port::{Inbox, Outbox};

/// The attribute with a piece's place among its siblings, from `0`.
pub const SPLIT_INDEX: &str = "split_index";

/// The attribute with the number of pieces the event was split into.
pub const SPLIT_COUNT: &str = "split_count";

/// Splits each event into one event per item of a JSON array ([`Splitter::json_pointer`]).
///
/// An event whose pointer finds no array is a `Malformed` error (`400`); an empty array sends
/// nothing.
///
/// ```
/// use compysition::actors::Splitter;
///
/// let lines = Splitter::json_pointer("/order/lines");
/// # let _ = lines;
/// ```
#[derive(Clone, Debug)]
pub struct Splitter<T> {
    how: How,
    _payload: std::marker::PhantomData<fn(T)>,
}

#[derive(Clone, Debug)]
enum How {
    Pointer(Arc<str>),
}

impl Splitter<Json> {
    /// One event per item of the array at `pointer` (RFC 6901: `""` is the whole document,
    /// `/order/lines` a member's member).
    pub fn json_pointer(pointer: &str) -> Self {
        Splitter {
            how: How::Pointer(Arc::from(pointer)),
            _payload: std::marker::PhantomData,
        }
    }
}

/// Copies of `event`'s envelope, one per item, each numbered.
fn pieces<T, U>(event: &Event<T>, items: Vec<U>) -> Vec<Event<U>> {
    let count = items.len().to_string();
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let mut piece = event.keep_envelope().with_data(item);
            piece.set_attribute(SPLIT_INDEX, index.to_string());
            piece.set_attribute(SPLIT_COUNT, count.clone());
            piece
        })
        .collect()
}

impl Actor for Splitter<Json> {
    type Inboxes = Inbox<Json>;
    type Outboxes = Outbox<Json>;

    async fn run(self, ctx: Context, inbox: Inbox<Json>, outbox: Outbox<Json>) {
        let How::Pointer(pointer) = &self.how;
        let outbox = &outbox;
        ctx.serve(inbox, |event| async move {
            let items = match event.data.pointer(pointer) {
                Some(serde_json::Value::Array(items)) => items.clone(),
                _ => {
                    return Err(EventError::malformed(format!(
                        "no JSON array at `{pointer}` to split"
                    )))
                }
            };
            let items = items.into_iter().map(Json::new).collect();
            for piece in pieces(&event, items) {
                outbox.send(piece).await;
            }
            Ok(())
        })
        .await
    }
}
