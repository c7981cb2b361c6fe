//! Hostile documents against the `Xml` payload and its conversions: each gets a clear 400, or is
//! handled within bounds; none crashes the process or leaks a file's contents.

use compysition::xml::xml_to_json;
use compysition::{Bytes, Convert, Json, Xml};

/// A file with content that must never show up anywhere, and the path to it.
struct Secret {
    path: std::path::PathBuf,
    content: String,
}

impl Secret {
    fn new(tag: &str) -> Secret {
        let content = format!("secret-{tag}-{}", std::process::id());
        let path =
            std::env::temp_dir().join(format!("compysition-{tag}-{}.txt", std::process::id()));
        std::fs::write(&path, &content).expect("temp file");
        Secret { path, content }
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn an_external_entity_is_refused_without_reading_the_file() {
    let secret = Secret::new("xxe");
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    for target in [
        secret.path.to_string_lossy().into_owned(),
        "/etc/hostname".to_string(),
    ] {
        let document = format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file://{target}\">]>\n<r>&x;</r>");
        let error = Xml::parse(document.as_bytes()).expect_err("external entity");
        assert_eq!(error.status().as_u16(), 400);
        assert!(error.message().contains("line 1, column 1"), "{error}");
        assert!(error.message().contains("declares entities"), "{error}");
        assert!(!error.message().contains(&secret.content));
        if !hostname.trim().is_empty() {
            assert!(!error.message().contains(hostname.trim()));
        }
    }
}

#[test]
fn a_billion_laughs_document_is_refused_at_once() {
    let mut document =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let previous = if level == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", level - 1)
        };
        document.push_str(&format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    document.push_str("]>\n<lolz>&lol9;</lolz>");
    let error = Xml::parse(document.as_bytes()).expect_err("entity bomb");
    assert_eq!(error.status().as_u16(), 400);
    assert!(error.message().contains("declares entities"), "{error}");
}

#[test]
fn an_undeclared_entity_reference_is_refused() {
    let error = Xml::parse(b"<r>&lol9;</r>").expect_err("undefined entity");
    assert!(
        error.message().contains("undefined entity &lol9;"),
        "{error}"
    );
}

#[test]
fn invalid_utf8_is_a_400_naming_where() {
    let error = Convert::<Xml>::convert(Bytes::from_static(b"<r>\n  <a>ok\xC3\x28</a>\n</r>"))
        .expect_err("invalid UTF-8");
    assert_eq!(error.status().as_u16(), 400);
    assert!(
        error.message().contains("line 2, column 8") && error.message().contains("UTF-8"),
        "{error}"
    );
}

#[test]
fn a_deeply_nested_document_is_refused_before_anything_recurses() {
    let depth = 100_000;
    let document = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let error = Xml::parse(document.as_bytes()).expect_err("too deep");
    assert!(error.message().contains("deeper than 256"), "{error}");
}

#[test]
fn a_50_mb_document_parses_and_converts() {
    let description = "a widget &amp; a gadget, ".repeat(24);
    let item = format!(
        "<item id=\"0000000\"><name>widget &amp; gadget</name><qty>12</qty><description>{description}</description></item>\n"
    );
    let count = 50 * 1024 * 1024 / item.len();
    let mut document = String::with_capacity(count * item.len() + 32);
    document.push_str("<items>\n");
    for i in 0..count {
        document.push_str(&item.replacen("0000000", &format!("{i:07}"), 1));
    }
    document.push_str("</items>");
    assert!(document.len() >= 50 * 1024 * 1024 - item.len());

    let xml = Xml::parse(document.as_bytes()).expect("well-formed");
    let json: Json = xml_to_json(&xml);
    let items = json["items"]["item"].as_array().expect("repeated items");
    assert_eq!(items.len(), count);
    assert_eq!(items[count - 1]["@id"], format!("{:07}", count - 1));
    assert_eq!(items[0]["name"], "widget & gadget");
    assert!(items[0]["description"]
        .as_str()
        .is_some_and(|d| d.ends_with("a widget & a gadget,")));
}

#[test]
fn a_truncated_document_names_where_it_ends() {
    let error = Xml::parse(b"<r>\n<a x='1'>").expect_err("truncated");
    assert!(error.message().contains("line 2"), "{error}");
}
