//! Hostile input and hostile stylesheets against the XSLT engine (the one the `Xslt` actor
//! uses): each gets a clear error, and nothing is read, written or fetched that should not be.

use std::path::PathBuf;

use compysition::xml::{Permissions, Stylesheet, TransformOptions};

const COPY: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:template match="/"><copy><xsl:value-of select="."/>|<xsl:copy-of select="/"/></copy></xsl:template>
</xsl:stylesheet>"#;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("compysition-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn transform(xsl: &str, input: &[u8], options: &TransformOptions) -> compysition::xml::Transformed {
    Stylesheet::compile(xsl)
        .expect("compiles")
        .transform(input, options)
        .expect("input parses")
}

#[test]
fn an_external_entity_in_raw_input_is_not_loaded() {
    // Bypassing the Xml payload's own refusal: the engine's parser must not load it either.
    let dir = TempDir::new("xxe");
    let secret_path = dir.0.join("secret.txt");
    let secret = format!("secret-{}", std::process::id());
    std::fs::write(&secret_path, &secret).expect("secret file");
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    for target in [
        secret_path.to_string_lossy().into_owned(),
        "/etc/hostname".to_string(),
    ] {
        let input = format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file://{target}\">]><r>&x;</r>");
        let result = transform(COPY, input.as_bytes(), &TransformOptions::new());
        let output = String::from_utf8_lossy(result.output()).into_owned();
        for leaked in [secret.as_str(), hostname.trim()] {
            if !leaked.is_empty() {
                assert!(!output.contains(leaked), "{output}");
                assert!(!result.messages().contains(leaked), "{}", result.messages());
            }
        }
    }
}

#[test]
fn a_billion_laughs_input_does_not_expand() {
    let mut input = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for level in 1..10 {
        let previous = if level == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", level - 1)
        };
        input.push_str(&format!(
            "<!ENTITY lol{level} \"{}\">",
            format!("&{previous};").repeat(10)
        ));
    }
    input.push_str("]><lolz>&lol9;</lolz>");
    // Default parsing keeps entity references as they are; even a trusted-input run with
    // substitution is stopped by libxml2's amplification limit.
    let plain = Stylesheet::compile(COPY)
        .expect("compiles")
        .transform(input.as_bytes(), &TransformOptions::new());
    let substituted = Stylesheet::compile(COPY).expect("compiles").transform(
        input.as_bytes(),
        &TransformOptions::new().substitute_entities(true),
    );
    for outcome in [plain, substituted] {
        match outcome {
            Ok(result) => assert!(
                result.output().len() < 1 << 20,
                "expanded to {} bytes",
                result.output().len()
            ),
            Err(error) => {
                assert_eq!(error.status().as_u16(), 400);
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
    assert_eq!(error.status().as_u16(), 400);
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

#[test]
fn a_stylesheet_cannot_write_a_file_by_default() {
    let dir = TempDir::new("write");
    let target = dir.0.join("out.txt");
    let options = TransformOptions::new()
        .param("target", &target.to_string_lossy())
        .expect("valid parameter");
    let result = transform(WRITES, b"<go/>", &options);
    let error = result.error().expect("refused");
    assert_eq!(error.status().as_u16(), 403);
    assert!(
        error.message().contains("writing files is not allowed"),
        "{error}"
    );
    assert!(!target.exists(), "the file was written");
}

#[test]
fn a_stylesheet_cannot_create_a_directory_even_when_it_may_write() {
    let dir = TempDir::new("mkdir");
    let target = dir.0.join("sub").join("out.txt");
    let options = TransformOptions::new()
        .param("target", &target.to_string_lossy())
        .expect("valid parameter")
        .permissions(Permissions {
            write_files: true,
            ..Permissions::DEFAULT
        });
    let result = transform(WRITES, b"<go/>", &options);
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
    let dir = TempDir::new("allowed");
    let target = dir.0.join("out.txt");
    let options = TransformOptions::new()
        .param("target", &target.to_string_lossy())
        .expect("valid parameter")
        .permissions(Permissions {
            write_files: true,
            ..Permissions::DEFAULT
        });
    let result = transform(WRITES, b"<go/>", &options);
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
    assert_eq!(error.status().as_u16(), 403);
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
        assert_eq!(error.status().as_u16(), 400);
        assert!(
            error.message().contains("infinite template recursion"),
            "{error}"
        );
    }
}

#[test]
fn endless_recursion_is_stopped_on_a_small_thread_stack() {
    // tokio's blocking threads have 2 MiB of stack by default: the default depth limit must be
    // reached well before that runs out.
    let stylesheet = std::sync::Arc::new(Stylesheet::compile(FOREVER).expect("compiles"));
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let result = stylesheet
                .transform(b"<go/>", &TransformOptions::new())
                .expect("input parses");
            result.error().map(|e| e.status().as_u16())
        })
        .expect("thread");
    assert_eq!(worker.join().expect("no stack overflow"), Some(400));
}

#[test]
fn xsl_message_terminate_is_a_400_carrying_the_message() {
    let xsl = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:template match="/"><xsl:message terminate="yes">order <xsl:value-of select="/order/@id"/> has no lines</xsl:message></xsl:template>
    </xsl:stylesheet>"#;
    let result = transform(xsl, b"<order id='7'/>", &TransformOptions::new());
    let error = result.error().expect("terminated");
    assert_eq!(error.status().as_u16(), 400);
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
