// `#[actor]` on a struct's impl: handlers must match the ports declared on the struct and have
// a handler's signature.
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

    #[inbox]
    async fn audit(&mut self, event: Event<String>) {
        let _ = event;
    }

    #[source]
    async fn produce(&self) {}
}

#[actor(outboxes(ok: String))]
pub struct Idle;

#[actor]
impl Idle {
    fn helper(&self) {}
}

fn main() {}
