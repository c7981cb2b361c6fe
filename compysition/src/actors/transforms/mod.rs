//! Transforms: actors that take an event and send it on with its payload changed, keeping the
//! envelope (id, `meta_id`, service, attributes), so an answer still finds its request after
//! any number of them. The enrichers among them change the envelope instead: [`SetAttribute`]
//! and [`MapAttribute`] set attributes, [`Template`] makes the payload from them.

mod attributes;
mod data;
mod template;
#[cfg(feature = "xml")]
mod xml_json;

pub use attributes::{
    MapAttribute, MapAttributeInboxRefs, MapAttributeInboxes, MapAttributeOutboxRefs,
    MapAttributeOutboxes, SetAttribute, SetAttributeInboxRefs, SetAttributeInboxes,
    SetAttributeOutboxRefs, SetAttributeOutboxes,
};
pub use data::{Data, DataInboxRefs, DataInboxes, DataOutboxRefs, DataOutboxes};
pub use template::{
    Template, TemplateInboxRefs, TemplateInboxes, TemplateOutboxRefs, TemplateOutboxes,
};
#[cfg(feature = "xml")]
pub use xml_json::{JsonToXml, XmlToJson};
