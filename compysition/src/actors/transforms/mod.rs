//! Transforms: actors that take an event and send it on with its payload changed, keeping the
//! envelope (id, `meta_id`, service, attributes), so an answer still finds its request after
//! any number of them.

mod data;

pub use data::{Data, DataInboxRefs, DataInboxes, DataOutboxRefs, DataOutboxes};
