//! `Data`: sets every event's payload to a fixed value, keeping the envelope.

use std::marker::PhantomData;

use compysition_macros::actor;

use crate::event::Event;
use crate::payload::Payload;

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
#[actor(inboxes(inbox: In), outboxes(outbox: D))]
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

#[actor]
impl<In: Payload, D: Payload + Clone> Data<In, D> {
    #[inbox]
    async fn inbox(&self, event: Event<In>, out: &DataOutboxes<In, D>) {
        out.outbox.send(event.with_data(self.data.clone())).await;
    }
}
