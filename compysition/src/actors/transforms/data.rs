//! `Data`: sets every event's payload to a fixed value, keeping the envelope.

use std::marker::PhantomData;

use crate::actor::{Actor, Context};
use crate::event::Event;
use crate::payload::Payload;
use crate::port::{Inbox, Outbox};

/// Replaces the payload of every event with a copy of a fixed value (the Python `Data` actor).
///
/// `Data::new(value)` takes events of the value's own type; [`Data::taking`] sets another input
/// type (the payload it takes is dropped, so no conversion is spent on it).
///
/// ```
/// use compysition::actors::Data;
/// use compysition::Bytes;
///
/// let same = Data::new("Hello, this has been a test".to_string());
/// let from_bytes = Data::new("Hello".to_string()).taking::<Bytes>();
/// # let _ = (same, from_bytes);
/// ```
pub struct Data<In, D> {
    data: D,
    _input: PhantomData<fn(In)>,
}

impl<D: Payload + Clone> Data<D, D> {
    /// Sets the payload to `data`.
    pub fn new(data: D) -> Self {
        Data {
            data,
            _input: PhantomData,
        }
    }
}

impl<In, D> Data<In, D> {
    /// The same actor, taking events of type `I`.
    pub fn taking<I>(self) -> Data<I, D> {
        Data {
            data: self.data,
            _input: PhantomData,
        }
    }
}

impl<In: Payload, D: Payload + Clone> Actor for Data<In, D> {
    type Inboxes = Inbox<In>;
    type Outboxes = Outbox<D>;

    async fn run(self, ctx: Context, inbox: Inbox<In>, outbox: Outbox<D>) {
        let data = &self.data;
        let outbox = &outbox;
        ctx.serve(inbox, |event: Event<In>| async move {
            outbox.send(event.with_data(data.clone())).await;
            Ok(())
        })
        .await
    }
}
