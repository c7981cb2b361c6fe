//! `XmlToJson` and `JsonToXml`: the xmltodict conversions as actors, for flows that want the
//! conversion to be a visible step (with its own error edge) rather than an edge conversion.

use std::marker::PhantomData;

use crate::actor::{Actor, Context};
use crate::json::Json;
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};
use crate::xml::{json_to_xml, xml_to_json, Xml};

/// Converts each `Xml` event to `Json` by the xmltodict convention (see
/// [`xml_to_json`](crate::xml::xml_to_json)). It cannot fail: every document has a JSON form.
/// Large documents are converted off the async workers.
#[derive(Clone, Copy, Debug, Default)]
pub struct XmlToJson {
    _private: PhantomData<()>,
}

impl XmlToJson {
    /// The converter.
    pub fn new() -> Self {
        XmlToJson::default()
    }
}

impl Actor for XmlToJson {
    type Inboxes = Inbox<Xml>;
    type Outboxes = Outbox<Json>;

    async fn run(self, ctx: Context, inbox: Inbox<Xml>, outbox: Outbox<Json>) {
        let outbox = &outbox;
        let pool = &CpuPool::per_cpu();
        ctx.serve(inbox, |event| async move {
            let deadline = event.deadline();
            let (envelope, xml) = event.split();
            let size = xml.as_bytes().len();
            let json = pool
                .run_sized_until(size, deadline, move || Ok(xml_to_json(&xml)))
                .await?;
            outbox.send(envelope.with_data(json)).await;
            Ok(())
        })
        .await
    }
}

/// Converts each `Json` event to `Xml` by the xmltodict convention (see
/// [`json_to_xml`](crate::xml::json_to_xml)); JSON without an XML form is a 400.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonToXml {
    _private: PhantomData<()>,
}

impl JsonToXml {
    /// The converter.
    pub fn new() -> Self {
        JsonToXml::default()
    }
}

impl Actor for JsonToXml {
    type Inboxes = Inbox<Json>;
    type Outboxes = Outbox<Xml>;

    async fn run(self, ctx: Context, inbox: Inbox<Json>, outbox: Outbox<Xml>) {
        let outbox = &outbox;
        ctx.serve(inbox, |event| async move {
            let (envelope, json) = event.split();
            let xml = json_to_xml(&json)?;
            outbox.send(envelope.with_data(xml)).await;
            Ok(())
        })
        .await
    }
}
