// The handlers of an `#[actor]` impl must match the inboxes declared on its struct: a handler
// for an inbox that is not declared, and a declared inbox without a handler, are both errors.
use compysition::prelude::*;

#[actor(inboxes(orders: String, refunds: String), outboxes(ok: String))]
pub struct Clerk;

#[actor]
impl Clerk {
    #[inbox]
    async fn orders(&self, event: Event<String>, out: &ClerkOutboxes) -> Result<(), EventError> {
        out.ok.send(event).await;
        Ok(())
    }

    #[inbox]
    async fn refnds(&self, event: Event<String>) {
        let _ = event;
    }
}



#[actor(inboxes(left: String, right: String))]
pub struct Pair;

#[actor]
impl Pair {
    #[inbox]
    async fn left(&self, event: Event<String>) {
        let _ = event;
    }
}
fn main() {}
