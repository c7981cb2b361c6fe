//! The built-in actors, grouped as in the Python project.
//!
//! - Sources and sinks: [`EventGenerator`], [`Data`], [`Stdout`], [`Null`], [`EventLogger`].
//! - XML/JSON (features `xml`, `xslt`, `json-schema`): `Xslt`, `Xsd`, `JsonSchema`, `XmlToJson`,
//!   `JsonToXml`, `XPathAttributeModifier`, `JsonPathAttributeModifier`.
//! - ZeroMQ (feature `mdp`): `MdpBroker`, `MdpClient`, `MdpWorker`, `MdpBrokerRegistrationService`.
//! - HTTP (feature `http`): `HttpServer`, `BasicAuth`, `RestTranslator`, `HttpMethodRouter`.

mod data;
mod event_generator;
mod event_logger;
mod null;
mod stdout;

#[cfg(feature = "json-schema")]
pub use crate::xml::JsonSchema;
#[cfg(feature = "xml")]
pub use crate::xml::{JsonPathAttributeModifier, JsonToXml, XmlToJson};
#[cfg(feature = "xslt")]
pub use crate::xml::{XPathAttributeModifier, Xsd, Xslt};
pub use data::Data;
pub use event_generator::{CronSchedule, EventGenerator, ParseCronError};
pub use event_logger::EventLogger;
pub use null::Null;
pub use stdout::Stdout;

#[cfg(feature = "http")]
pub use crate::http::{BasicAuth, HttpMethodRouter, HttpServer, RestTranslator};
#[cfg(feature = "mdp")]
pub use crate::mdp::{MdpBroker, MdpBrokerRegistrationService, MdpClient, MdpWorker};
