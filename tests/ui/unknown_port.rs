// A port name the actor does not have: the error points at the port.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;

#[derive(Clone)]
pub struct Order;

#[actor(inboxes(orders: Order), outboxes(ok: Order, rejected: Order))]
pub struct Validator;

#[actor]
impl Validator {
    #[inbox]
    async fn orders(&self, event: Event<Order>, out: &ValidatorOutboxes) -> Result<(), EventError> {
        out.ok.send(event).await;
        Ok(())
    }
}

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once(Order);
        validator = Validator;
        accepted = Null::<Order>::new();
        refused = Null::<Order>::new();
        generator -> validator.order;
        validator.ok -> accepted;
        validator.rejectd -> refused;
    };
}
