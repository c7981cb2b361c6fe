// An edge from an outbox of one payload type to an inbox of another, with no conversion between
// them: the error points at the edge and names both types, on a lone edge and in a fan-out.
use compysition::actors::{EventGenerator, Null};
use compysition::prelude::*;

pub struct Invoice;

fn main() {
    let _topology = topology! {
        generator = EventGenerator::once(7u32);
        counter = EventGenerator::once(8u32);
        invoices = Null::<Invoice>::new();
        numbers = Null::<u32>::new();
        more_invoices = Null::<Invoice>::new();
        generator -> invoices;
        counter -> [numbers, more_invoices];
    };
}
