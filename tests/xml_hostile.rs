//! Hostile documents and hostile stylesheets: against the `Xml` payload and its conversions,
//! and against the XSLT engine the `Xslt` actor uses. Each gets a clear error, or is handled
//! within bounds; none crashes the process, and nothing is read, written or fetched that should
//! not be.

use std::path::PathBuf;

use std::time::{Duration, Instant};

use compysition::xml::{
    xml_to_json, Permissions, Stylesheet, TransformOptions, Transformed, XmlLimits,
};
use compysition::{Bytes, Convert, Json, Xml};

/// A fresh directory under the system temp dir, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> ScratchDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("compysition-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        ScratchDir(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file whose content must never show up anywhere, next to the host's own /etc/hostname:
/// the targets of the external-entity tests, with what must not leak from each.
fn secret_files(dir: &ScratchDir) -> Vec<(String, String)> {
    let content = format!("secret-{}", std::process::id());
    let path = dir.0.join("secret.txt");
    std::fs::write(&path, &content).expect("secret file");
    let mut targets = vec![(path.to_string_lossy().into_owned(), content)];
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    targets.push(("/etc/hostname".to_string(), hostname.trim().to_string()));
    targets
}

fn external_entity(target: &str) -> String {
    format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file://{target}\">]>\n<r>&x;</r>")
}

/// Ten levels of ten references each: 10^9 "lol"s once expanded.
fn billion_laughs() -> String {
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
    document
}

// ---------------------------------------------------------------- the Xml payload

#[test]
fn an_external_entity_is_refused_without_reading_the_file() {
    let dir = ScratchDir::new("xxe-payload");
    for (target, secret) in secret_files(&dir) {
        let error = Xml::parse(external_entity(&target).as_bytes()).expect_err("external entity");
        assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
        assert!(error.message().contains("line 1, column 1"), "{error}");
        assert!(error.message().contains("declares entities"), "{error}");
        if !secret.is_empty() {
            assert!(!error.message().contains(&secret));
        }
    }
}

#[test]
fn a_billion_laughs_document_is_refused_at_once() {
    let error = Xml::parse(billion_laughs().as_bytes()).expect_err("entity bomb");
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
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
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
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

/// One element with `count` distinct attributes.
fn wide_element(count: usize) -> String {
    let attributes: String = (0..count).map(|i| format!(" a{i}=\"{i}\"")).collect();
    format!("<r><wide{attributes}/></r>")
}

#[test]
fn an_element_with_30_000_attributes_is_refused_at_once() {
    // libxml2 takes about 7 s over this one (its duplicate check is quadratic): it must never
    // get it.
    let document = Bytes::from(wide_element(30_000));
    let started = Instant::now();
    let error = Xml::from_bytes(document).expect_err("too many attributes");
    let took = started.elapsed();
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
    assert!(
        error.message().ends_with(
            "element <wide> has more than 256 attributes (XmlLimits::attributes_per_element)"
        ),
        "{error}"
    );
    // A sanity bound only: the refusal reads 256 attributes, well under a millisecond.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Explicit limits may let it through.
    let wide = XmlLimits::default().attributes_per_element(30_000);
    assert!(Xml::from_bytes_with(Bytes::from(wide_element(30_000)), &wide).is_ok());
}

#[test]
fn an_ordinary_document_is_within_the_default_limits() {
    let document = r#"<?xml version="1.0" encoding="UTF-8"?>
<order xmlns="urn:orders" xmlns:x="urn:extra" id="42" status="open" x:channel="web">
  <customer name="Ada Lovelace" email="ada@example.org"/>
  <item sku="T-1" qty="2" price="3.50">Darjeeling &amp; Assam<![CDATA[ <blend> ]]></item>
  <note>first order</note>
</order>"#;
    let xml = Xml::from_bytes(Bytes::from(document)).expect("within the limits");
    assert_eq!(xml.as_str(), document);
    let wide = Bytes::from(wide_element(256));
    assert!(Xml::from_bytes(wide).is_ok());
}

#[test]
fn a_50_mb_document_parses_and_converts_to_json() {
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

// ---------------------------------------------------------------- the XSLT engine

const COPY: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:template match="/"><copy><xsl:value-of select="."/>|<xsl:copy-of select="/"/></copy></xsl:template>
</xsl:stylesheet>"#;

fn transform(xsl: &str, input: &[u8], options: &TransformOptions) -> Transformed {
    Stylesheet::compile(xsl)
        .expect("compiles")
        .transform(input, options)
        .expect("input parses")
}

#[test]
fn an_external_entity_in_raw_input_is_not_loaded() {
    // Bypassing the Xml payload's own refusal: the engine's parser must not load it either.
    let dir = ScratchDir::new("xxe-engine");
    for (target, secret) in secret_files(&dir) {
        let result = transform(
            COPY,
            external_entity(&target).as_bytes(),
            &TransformOptions::new(),
        );
        let output = String::from_utf8_lossy(result.output()).into_owned();
        if !secret.is_empty() {
            assert!(!output.contains(&secret), "{output}");
            assert!(
                !result.messages().contains(&secret),
                "{}",
                result.messages()
            );
        }
    }
}

#[test]
fn a_billion_laughs_input_does_not_expand() {
    let input = billion_laughs();
    // Default parsing keeps entity references as they are; even a trusted-input run with
    // substitution is stopped by libxml2's entity loop detection.
    let stylesheet = Stylesheet::compile(COPY).expect("compiles");
    for options in [
        TransformOptions::new(),
        TransformOptions::new().substitute_entities(true),
    ] {
        match stylesheet.transform(input.as_bytes(), &options) {
            Ok(result) => assert!(
                result.output().len() < 1 << 20,
                "expanded to {} bytes",
                result.output().len()
            ),
            Err(error) => {
                assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
                assert!(!error.message().is_empty());
            }
        }
    }
}

#[test]
fn invalid_utf8_input_is_a_400() {
    let error = Stylesheet::compile(COPY)
        .expect("compiles")
        .transform(b"<r>\xff</r>", &TransformOptions::new())
        .expect_err("not UTF-8");
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
    assert!(error.message().contains("UTF-8"), "{error}");
}

#[test]
fn a_50_mb_document_transforms() {
    let item = "<item><name>widget</name><qty>12</qty></item>\n";
    let count = 50 * 1024 * 1024 / item.len();
    let input = format!("<items>{}</items>", item.repeat(count));
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output method="text"/>
      <xsl:template match="/"><xsl:value-of select="count(/items/item)"/>:<xsl:value-of select="sum(//qty)"/></xsl:template>
    </xsl:stylesheet>"#;
    let result = transform(xsl, input.as_bytes(), &TransformOptions::new());
    assert_eq!(result.error(), None);
    assert_eq!(
        &result.output()[..],
        format!("{count}:{}", count * 12).as_bytes()
    );
}

#[test]
fn a_50_mb_text_node_transforms() {
    let length = 50 * 1024 * 1024;
    let input = format!("<r>{}</r>", "x".repeat(length));
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output method="text"/>
      <xsl:template match="/"><xsl:value-of select="string-length(/r)"/></xsl:template>
    </xsl:stylesheet>"#;
    let result = transform(xsl, input.as_bytes(), &TransformOptions::new());
    assert!(result.error().is_none(), "{}", result.messages());
    assert_eq!(&result.output()[..], length.to_string().as_bytes());
}

const WRITES: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:exsl="http://exslt.org/common" extension-element-prefixes="exsl">
  <xsl:param name="target"/>
  <xsl:template match="/">
    <exsl:document href="{$target}" method="text">written</exsl:document>
    <done/>
  </xsl:template>
</xsl:stylesheet>"#;

/// Runs `WRITES` with `permissions`, asking it to write `target`.
fn write(target: &std::path::Path, permissions: Permissions) -> Transformed {
    let options = TransformOptions::new()
        .param("target", &target.to_string_lossy())
        .expect("valid parameter")
        .permissions(permissions);
    transform(WRITES, b"<go/>", &options)
}

const MAY_WRITE: Permissions = Permissions {
    write_files: true,
    ..Permissions::DEFAULT
};

#[test]
fn a_stylesheet_cannot_write_a_file_by_default() {
    let dir = ScratchDir::new("write");
    let target = dir.0.join("out.txt");
    let result = write(&target, Permissions::DEFAULT);
    let error = result.error().expect("refused");
    assert_eq!(error.kind(), compysition::ErrorKind::Forbidden);
    assert!(
        error.message().contains("writing files is not allowed"),
        "{error}"
    );
    assert!(!target.exists(), "the file was written");
}

#[test]
fn a_stylesheet_cannot_create_a_directory_even_when_it_may_write() {
    let dir = ScratchDir::new("mkdir");
    let result = write(&dir.0.join("sub").join("out.txt"), MAY_WRITE);
    let error = result.error().expect("refused");
    assert!(
        error
            .message()
            .contains("creating directories is not allowed"),
        "{error}"
    );
    assert!(!dir.0.join("sub").exists(), "the directory was created");
}

#[test]
fn writing_files_can_be_allowed() {
    let dir = ScratchDir::new("allowed");
    let target = dir.0.join("out.txt");
    let result = write(&target, MAY_WRITE);
    assert_eq!(result.error(), None, "{}", result.messages());
    assert_eq!(
        std::fs::read_to_string(&target).expect("written"),
        "written"
    );
}

#[test]
fn a_stylesheet_cannot_read_from_the_network_by_default() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:template match="/"><r><xsl:copy-of select="document('http://compysition.invalid/x.xml')"/></r></xsl:template>
    </xsl:stylesheet>"#;
    let result = transform(xsl, b"<go/>", &TransformOptions::new());
    let error = result.error().expect("refused");
    assert_eq!(error.kind(), compysition::ErrorKind::Forbidden);
    assert!(
        error
            .message()
            .contains("reading from the network is not allowed"),
        "{error}"
    );
}

const FOREVER: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:call-template name="again"/></xsl:template>
  <xsl:template name="again"><a><xsl:call-template name="again"/></a></xsl:template>
</xsl:stylesheet>"#;

#[test]
fn endless_recursion_stops_at_the_depth_limit() {
    for options in [
        TransformOptions::new(),
        TransformOptions::new().max_depth(50),
    ] {
        let result = transform(FOREVER, b"<go/>", &options);
        let error = result.error().expect("stopped");
        assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
        assert!(
            error.message().contains("infinite template recursion"),
            "{error}"
        );
    }
}

#[test]
fn endless_recursion_is_stopped_on_a_small_thread_stack() {
    // tokio's blocking threads have 2 MiB of stack by default (the actors' CPU pool has more):
    // the default depth limit must be reached well before that runs out.
    let stylesheet = std::sync::Arc::new(Stylesheet::compile(FOREVER).expect("compiles"));
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let result = stylesheet
                .transform(b"<go/>", &TransformOptions::new())
                .expect("input parses");
            result.error().map(|e| e.kind())
        })
        .expect("thread");
    assert_eq!(
        worker.join().expect("no stack overflow"),
        Some(compysition::ErrorKind::Malformed)
    );
}

#[test]
fn xsl_message_terminate_is_a_400_carrying_the_message() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:template match="/"><xsl:message terminate="yes">order <xsl:value-of select="/order/@id"/> has no lines</xsl:message></xsl:template>
    </xsl:stylesheet>"#;
    let result = transform(xsl, b"<order id='7'/>", &TransformOptions::new());
    let error = result.error().expect("terminated");
    assert_eq!(error.kind(), compysition::ErrorKind::Malformed);
    assert!(error.message().contains("order 7 has no lines"), "{error}");
}

#[test]
fn a_stylesheet_that_does_not_compile_reports_libxslts_messages() {
    let error = Stylesheet::compile(
        r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
             <xsl:template match="/"><xsl:value-of select="(("/></xsl:template>
           </xsl:stylesheet>"#,
    )
    .expect_err("broken XPath");
    let text = error.to_string();
    assert!(
        text.contains("could not compile select expression '(('"),
        "{text}"
    );
}

/// Copies whatever document the input names: the pattern that lets a client pick a file.
const FOLLOWS_INPUT: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/">[<xsl:value-of select="document(/fetch/@href)"/>]</xsl:template>
</xsl:stylesheet>"#;

#[test]
fn document_on_an_input_uri_reads_local_files_without_their_entities_unless_asked() {
    // document() reads a local file the input names (reading files is allowed by default), but
    // parses it like the input: its external entities stay unexpanded unless entity
    // substitution is asked for (`xsltproc --noent`), and forbidding reads refuses it.
    let dir = ScratchDir::new("document");
    let secret_path = dir.0.join("secret.txt");
    std::fs::write(&secret_path, "the-secret").expect("secret file");
    let wrapper = dir.0.join("wrapper.xml");
    std::fs::write(
        &wrapper,
        format!(
            "<!DOCTYPE d [<!ENTITY s SYSTEM \"file://{}\">]>\n<d>before &s; after</d>",
            secret_path.display()
        ),
    )
    .expect("wrapper file");
    let input = format!("<fetch href=\"file://{}\"/>", wrapper.display());

    let read = transform(FOLLOWS_INPUT, input.as_bytes(), &TransformOptions::new());
    assert_eq!(read.error(), None, "{}", read.messages());
    assert!(
        !read.output().windows(10).any(|w| w == b"the-secret"),
        "{:?}",
        String::from_utf8_lossy(read.output())
    );
    assert!(
        read.output().starts_with(b"[before "),
        "{:?}",
        read.output()
    );

    let trusted = TransformOptions::new().substitute_entities(true);
    let expanded = transform(FOLLOWS_INPUT, input.as_bytes(), &trusted);
    assert_eq!(expanded.error(), None, "{}", expanded.messages());
    assert_eq!(expanded.output(), &b"[before the-secret after]"[..]);

    let forbidden = TransformOptions::new().permissions(Permissions {
        read_files: false,
        ..Permissions::DEFAULT
    });
    let refused = transform(FOLLOWS_INPUT, input.as_bytes(), &forbidden);
    let error = refused.error().expect("refused");
    assert_eq!(error.kind(), compysition::ErrorKind::Forbidden);
    assert!(
        error.message().contains("reading files is not allowed"),
        "{error}"
    );
    assert!(!refused.output().windows(10).any(|w| w == b"the-secret"));
}
