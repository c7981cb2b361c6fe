//! Transforms: actors that take an event and send it on with its payload changed, keeping the
//! envelope (id, `meta_id`, service, attributes), so an answer still finds its request after
//! any number of them.

mod data;
#[cfg(feature = "xml")]
mod xml_json;

pub use data::{Data, DataInboxRefs, DataInboxes, DataOutboxRefs, DataOutboxes};
#[cfg(feature = "xml")]
pub use xml_json::{JsonToXml, XmlToJson};
