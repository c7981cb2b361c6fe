//! XSLT 1.0 (with EXSLT) on the system libxslt: the [`Stylesheet`] engine and the [`Xslt`] actor.
//!
//! A stylesheet is compiled once and shared: the actor keeps it in an `Arc`, and every event gets
//! a transform of its own (own parser, own transform context, own message collector) on the CPU
//! pool the XML actors share, so transforms run in parallel (one per CPU at most) without holding
//! up the async workers. The actor needs no concurrency setting of its own: the events it takes
//! beyond one per CPU wait in the pool's queue as cheap values, and a deeper queue lets the pool
//! hand outcomes back in batches.
//!
//! By default a stylesheet may read local files through `document()` — also on a URI taken from
//! the input — but may not write files, create directories or use the network; [`Permissions`]
//! opts in or out. Documents that `document()` loads are parsed like the transform's input
//! (see [`TransformOptions::new`]): no entity substitution or DTD loading unless asked for.
//! `xsl:include` and `xsl:import` are resolved when the stylesheet is compiled, which
//! permissions do not govern. Recursion is bounded by a
//! template depth limit, so a stylesheet that recurses forever fails instead of overflowing the
//! stack.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::ffi::{parse_option, RawMethod, RawStylesheet, RawTransformError, RawTransformOptions};
use super::parse::{self, is_name};
use super::{Xml, XmlLimits};
use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::payload::Payload;
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};

/// The default bound on nested template calls. Each level costs the C stack a few hundred
/// bytes to a few kilobytes: this stays within 2 MiB (the stack of tokio's blocking threads, on
/// which a caller may run [`Stylesheet::transform`] itself; the actor's pool threads have 8 MiB)
/// while allowing far deeper recursion than real stylesheets use.
pub const DEFAULT_MAX_DEPTH: u32 = 1000;

/// What a stylesheet may do besides transforming its input. The default allows reading files
/// and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permissions {
    /// Reading local files during a transform: `document()`, whose URI may come from the
    /// input (and, when entity substitution or DTD loading is asked for, the entities and DTDs
    /// of the documents it loads). Off, such a read stops the
    /// transform with a 403. (`xsl:include`/`xsl:import` are read at compile time, whatever
    /// this says.)
    pub read_files: bool,
    /// `exsl:document` / `xsl:document` writing files.
    pub write_files: bool,
    /// Creating directories for written files.
    pub create_directories: bool,
    /// Reading documents over the network.
    pub read_network: bool,
    /// Writing documents over the network.
    pub write_network: bool,
}

impl Permissions {
    /// Read local files; no writes, no directories, no network.
    pub const DEFAULT: Permissions = Permissions {
        read_files: true,
        write_files: false,
        create_directories: false,
        read_network: false,
        write_network: false,
    };

    /// Everything libxslt can do.
    pub const ALL: Permissions = Permissions {
        read_files: true,
        write_files: true,
        create_directories: true,
        read_network: true,
        write_network: true,
    };
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions::DEFAULT
    }
}

/// How one transform runs: string parameters, limits, permissions and how its input is parsed.
#[derive(Clone)]
pub struct TransformOptions {
    raw: RawTransformOptions,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions::new()
    }
}

impl fmt::Debug for TransformOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransformOptions")
            .field("max_depth", &self.raw.max_depth)
            .field("permissions", &self.permissions_of())
            .field("parse_options", &self.raw.parse_options)
            .finish_non_exhaustive()
    }
}

impl TransformOptions {
    /// No parameters, [`DEFAULT_MAX_DEPTH`], [`Permissions::DEFAULT`], and inputs parsed as
    /// safely as event payloads: no network, no DTD loading, no entity substitution; documents
    /// the stylesheet loads with `document()` are parsed the same way
    /// ([`Permissions::read_files`] decides whether local ones are read at all).
    pub fn new() -> Self {
        let mut raw = RawTransformOptions::new();
        raw.parse_options = parse_option::NONET | parse_option::NOCDATA;
        raw.max_depth = DEFAULT_MAX_DEPTH as i32;
        TransformOptions { raw }
    }

    /// Adds a string parameter: `$name` in the stylesheet is `value`, taken literally (not as
    /// an XPath expression). Adding a name again replaces its value.
    pub fn param(mut self, name: &str, value: &str) -> crate::Result<Self> {
        if !is_name(name.as_bytes()) {
            return Err(Error::Config {
                setting: format!("XSLT parameter \"{name}\""),
                message: "the name is not an XML name".into(),
            });
        }
        self.raw
            .add_param(name, value)
            .map_err(|message| Error::Config {
                setting: format!("XSLT parameter \"{name}\""),
                message,
            })?;
        Ok(self)
    }

    /// Bounds nested template calls (at least 1).
    pub fn max_depth(mut self, depth: u32) -> Self {
        self.raw.max_depth = depth.clamp(1, i32::MAX as u32) as i32;
        self
    }

    /// Sets what the stylesheet may do.
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.raw.allow_read_file = permissions.read_files;
        self.raw.allow_write_file = permissions.write_files;
        self.raw.allow_create_directory = permissions.create_directories;
        self.raw.allow_read_network = permissions.read_network;
        self.raw.allow_write_network = permissions.write_network;
        self
    }

    fn permissions_of(&self) -> Permissions {
        Permissions {
            read_files: self.raw.allow_read_file,
            write_files: self.raw.allow_write_file,
            create_directories: self.raw.allow_create_directory,
            read_network: self.raw.allow_read_network,
            write_network: self.raw.allow_write_network,
        }
    }

    /// For trusted input only: substitute entities declared in the DTD of the input and of the
    /// documents `document()` loads (`xsltproc --noent`).
    pub fn substitute_entities(mut self, yes: bool) -> Self {
        self.set_parse_option(parse_option::NOENT, yes);
        self
    }

    /// For trusted input only: load the external DTD of the input and of the documents
    /// `document()` loads, and take default attributes from it (`xsltproc --loaddtd`).
    pub fn load_dtd(mut self, yes: bool) -> Self {
        self.set_parse_option(parse_option::DTDLOAD | parse_option::DTDATTR, yes);
        self
    }

    /// The URL (or file path) relative references in the input resolve against.
    pub fn base_url(mut self, url: &str) -> crate::Result<Self> {
        self.raw
            .set_base_url(url)
            .map_err(|message| Error::Config {
                setting: "base URL".into(),
                message,
            })?;
        Ok(self)
    }

    fn set_parse_option(&mut self, option: i32, on: bool) {
        if on {
            self.raw.parse_options |= option;
        } else {
            self.raw.parse_options &= !option;
        }
    }
}

/// `xsl:output method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMethod {
    /// No `xsl:output method`: XML, or HTML when the result's root is `<html>`.
    Unspecified,
    /// `xml`.
    Xml,
    /// `html`.
    Html,
    /// `text`.
    Text,
    /// Another method (a qualified name, `xhtml`).
    Other,
}

/// What a result tree looks like, as far as being an XML document goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultShape {
    /// No result document (nothing was output).
    Empty,
    /// One root element: a well-formed document.
    Document,
    /// Several root elements, or text at the top.
    Fragment,
    /// An HTML result.
    Html,
}

/// A compiled stylesheet, shareable across threads.
///
/// ```
/// use compysition::xml::{Stylesheet, TransformOptions};
///
/// let stylesheet = Stylesheet::compile(r#"
///   <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
///     <xsl:output omit-xml-declaration="yes"/>
///     <xsl:param name="greeting"/>
///     <xsl:template match="/name"><hello to="{.}"><xsl:value-of select="$greeting"/></hello></xsl:template>
///   </xsl:stylesheet>"#)?;
/// let options = TransformOptions::new().param("greeting", "good morning")?;
/// let result = stylesheet.transform(b"<name>Ada</name>", &options)?;
/// assert_eq!(result.output(), &b"<hello to=\"Ada\">good morning</hello>\n"[..]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Stylesheet {
    raw: RawStylesheet,
    method: OutputMethod,
    encoding: Option<String>,
    warnings: String,
}

impl fmt::Debug for Stylesheet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stylesheet")
            .field("method", &self.method)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl Stylesheet {
    /// Compiles a stylesheet; an [`Error::Compile`] carries libxslt's messages. Relative
    /// `xsl:include`/`xsl:import` references resolve against the working directory.
    pub fn compile(xsl: impl AsRef<[u8]>) -> crate::Result<Stylesheet> {
        Stylesheet::compile_with_base(xsl.as_ref(), None)
    }

    /// Compiles the stylesheet in a file; relative references resolve against the file.
    pub fn from_file(path: impl AsRef<Path>) -> crate::Result<Stylesheet> {
        let path = path.as_ref();
        let xsl = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Stylesheet::compile_with_base(&xsl, Some(&path.to_string_lossy()))
    }

    fn compile_with_base(xsl: &[u8], base_url: Option<&str>) -> crate::Result<Stylesheet> {
        let (raw, warnings) =
            RawStylesheet::compile(xsl, base_url).map_err(|messages| Error::Compile {
                what: "stylesheet".into(),
                message: messages,
            })?;
        let method = match raw.method() {
            RawMethod::Unspecified => OutputMethod::Unspecified,
            RawMethod::Xml => OutputMethod::Xml,
            RawMethod::Html => OutputMethod::Html,
            RawMethod::Text => OutputMethod::Text,
            RawMethod::Other => OutputMethod::Other,
        };
        let encoding = raw.encoding();
        Ok(Stylesheet {
            raw,
            method,
            encoding,
            warnings,
        })
    }

    /// `xsl:output method` (looked up through imports).
    pub fn output_method(&self) -> OutputMethod {
        self.method
    }

    /// `xsl:output encoding`, if the stylesheet sets one.
    pub fn output_encoding(&self) -> Option<&str> {
        self.encoding.as_deref()
    }

    /// Warnings libxslt gave while compiling.
    pub fn warnings(&self) -> &str {
        &self.warnings
    }

    /// Transforms one document, on the calling thread.
    ///
    /// `Err` when the input cannot be parsed (400), or when the transform cannot start although
    /// it did (500: libxslt refused the parameters, say). A transform that ran but stopped — a
    /// runtime error, `xsl:message terminate="yes"`, a refused permission — comes back as a
    /// result whose [`Transformed::error`] says why; [`Transformed::into_output`] turns that
    /// into an `Err`.
    pub fn transform(
        &self,
        input: &[u8],
        options: &TransformOptions,
    ) -> Result<Transformed, EventError> {
        let outcome = self
            .raw
            .transform(input, &options.raw)
            .map_err(|error| match error {
                RawTransformError::Input(messages) => {
                    EventError::malformed(format!("XSLT input rejected:\n{messages}"))
                }
                // The input parsed; what failed is this transform's own configuration.
                RawTransformError::Setup(messages) => {
                    EventError::internal(format!("XSLT transform could not start:\n{messages}"))
                }
            })?;
        let shape = match outcome.shape {
            1 => ResultShape::Document,
            2 => ResultShape::Fragment,
            3 => ResultShape::Html,
            _ => ResultShape::Empty,
        };
        let error = if outcome.denied {
            Some(EventError::forbidden(format!(
                "XSLT transform refused:\n{}",
                outcome.messages
            )))
        } else if outcome.failed {
            let messages = if outcome.messages.is_empty() {
                "the transform stopped"
            } else {
                &outcome.messages
            };
            Some(EventError::malformed(format!(
                "XSLT transform failed:\n{messages}"
            )))
        } else {
            None
        };
        Ok(Transformed {
            output: outcome.output,
            shape,
            messages: outcome.messages,
            error,
        })
    }
}

/// What one transform gave.
#[derive(Debug)]
pub struct Transformed {
    output: Bytes,
    shape: ResultShape,
    messages: String,
    error: Option<EventError>,
}

impl Transformed {
    /// The result serialised as `xsl:output` asks (empty when there is no result document).
    pub fn output(&self) -> &Bytes {
        &self.output
    }

    /// What the result tree looks like.
    pub fn shape(&self) -> ResultShape {
        self.shape
    }

    /// Everything libxslt and libxml2 reported during this transform (`xsl:message` output
    /// among it), one message per line.
    pub fn messages(&self) -> &str {
        &self.messages
    }

    /// Why the transform stopped, if it did: a 400 for runtime errors and
    /// `xsl:message terminate="yes"`, a 403 for a refused permission.
    pub fn error(&self) -> Option<&EventError> {
        self.error.as_ref()
    }

    /// The output, or the error that stopped the transform.
    pub fn into_output(self) -> Result<Bytes, EventError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.output),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Xml {}
    impl Sealed for bytes::Bytes {}
    impl Sealed for String {}
}

/// The payload types an [`Xslt`] actor can emit: [`Xml`] (the result must be an XML document),
/// [`Bytes`] (exactly what `xsl:output` asks, any method and encoding) or `String` (any method,
/// UTF-8).
pub trait TransformOutput: Payload + sealed::Sealed + Sized {
    /// Whether a stylesheet's `xsl:output` can give this type; `Err` says why not.
    fn accepts(stylesheet: &Stylesheet) -> Result<(), String>;
    /// The payload for one result.
    fn from_result(output: Bytes, shape: ResultShape) -> Result<Self, EventError>;
}

fn is_utf8_name(encoding: Option<&str>) -> bool {
    encoding.is_none_or(|e| e.eq_ignore_ascii_case("utf-8") || e.eq_ignore_ascii_case("utf8"))
}

impl TransformOutput for Xml {
    fn accepts(stylesheet: &Stylesheet) -> Result<(), String> {
        match stylesheet.output_method() {
            OutputMethod::Xml | OutputMethod::Unspecified => {}
            method => {
                return Err(format!(
                    "the stylesheet's xsl:output method is {method:?}, whose results are not XML \
                     documents; emit Bytes or String instead (Xslt::compile_bytes, \
                     Xslt::compile_text)"
                ))
            }
        }
        if !is_utf8_name(stylesheet.output_encoding()) {
            return Err(format!(
                "the stylesheet's xsl:output encoding is {}, but Xml payloads are UTF-8; emit \
                 Bytes instead (Xslt::compile_bytes)",
                stylesheet.output_encoding().unwrap_or_default()
            ));
        }
        Ok(())
    }

    fn from_result(output: Bytes, shape: ResultShape) -> Result<Self, EventError> {
        match shape {
            // libxslt writes whatever tree the stylesheet built: nesting deeper than `Xml`
            // allows (a recursive template stays within the template depth limit long after),
            // or characters XML does not allow (from a parameter or a string function). Such
            // a result is the stylesheet's fault, not the client's: a 500 here, rather than a
            // 400 from whichever step parses it next. It is held to the default limits, as any
            // `Xml` made without asking for others is.
            ResultShape::Document => match parse::check_well_formed(&output, &XmlLimits::DEFAULT) {
                Ok(()) => Ok(Xml::from_well_formed(output)),
                Err(malformed) => Err(EventError::internal(format!(
                    "the stylesheet's output is not an acceptable XML document, at {}",
                    malformed.located(&output)
                ))),
            },
            other => Err(EventError::internal(format!(
                "the transform's result is not an XML document ({}); an Xslt actor that emits \
                 Xml needs a result with exactly one root element",
                match other {
                    ResultShape::Empty => "it is empty",
                    ResultShape::Html => "it is HTML",
                    _ => "it has several root elements or text at the top",
                }
            ))),
        }
    }
}

impl TransformOutput for Bytes {
    fn accepts(_: &Stylesheet) -> Result<(), String> {
        Ok(())
    }

    fn from_result(output: Bytes, _: ResultShape) -> Result<Self, EventError> {
        Ok(output)
    }
}

impl TransformOutput for String {
    fn accepts(stylesheet: &Stylesheet) -> Result<(), String> {
        if is_utf8_name(stylesheet.output_encoding()) {
            Ok(())
        } else {
            Err(format!(
                "the stylesheet's xsl:output encoding is {}, but String payloads are UTF-8; emit \
                 Bytes instead (Xslt::compile_bytes)",
                stylesheet.output_encoding().unwrap_or_default()
            ))
        }
    }

    fn from_result(output: Bytes, _: ResultShape) -> Result<Self, EventError> {
        String::from_utf8(output.into())
            .map_err(|e| EventError::internal(format!("the transform's result is not UTF-8: {e}")))
    }
}

/// Transforms each `Xml` event with a compiled stylesheet (the Python `XSLT` actor).
///
/// `Xslt::compile` emits [`Xml`]; [`Xslt::compile_bytes`] and [`Xslt::compile_text`] emit the
/// serialised result for text and HTML output. A transform that fails sends the event to the
/// error outbox: 400 with libxslt's messages for runtime errors and
/// `xsl:message terminate="yes"`, 403 when the stylesheet tried something its
/// [`Permissions`] do not allow, 500 when the fault is the stylesheet's or its configuration's
/// (a result that is not an acceptable [`Xml`] document — several roots, nesting deeper than
/// [`MAX_DEPTH`](crate::xml::MAX_DEPTH), characters XML does not allow — or a parameter
/// libxslt refuses). Other `xsl:message` output is logged.
///
/// ```
/// use compysition::actors::Xslt;
///
/// # fn main() -> compysition::Result<()> {
/// let ack = Xslt::compile(r#"
///   <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
///     <xsl:template match="/"><ack/></xsl:template>
///   </xsl:stylesheet>"#)?
/// .param("status", "ok")?;
/// # let _ = ack;
/// # Ok(())
/// # }
/// ```
pub struct Xslt<Out = Xml> {
    stylesheet: Arc<Stylesheet>,
    options: Arc<TransformOptions>,
    _output: PhantomData<fn() -> Out>,
}

impl<Out> Clone for Xslt<Out> {
    fn clone(&self) -> Self {
        Xslt {
            stylesheet: Arc::clone(&self.stylesheet),
            options: Arc::clone(&self.options),
            _output: PhantomData,
        }
    }
}

impl<Out> fmt::Debug for Xslt<Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xslt")
            .field("stylesheet", &self.stylesheet)
            .field("options", &self.options)
            .finish()
    }
}

impl Xslt<Xml> {
    /// Compiles a stylesheet whose results are XML documents.
    pub fn compile(xsl: impl AsRef<[u8]>) -> crate::Result<Self> {
        Xslt::with_stylesheet(Stylesheet::compile(xsl)?)
    }

    /// Compiles the stylesheet in a file (its includes resolve against it).
    pub fn from_file(path: impl AsRef<Path>) -> crate::Result<Self> {
        Xslt::with_stylesheet(Stylesheet::from_file(path)?)
    }
}

impl Xslt<Bytes> {
    /// Compiles a stylesheet; the actor emits its results as bytes, exactly as `xsl:output`
    /// asks (any method, any encoding).
    pub fn compile_bytes(xsl: impl AsRef<[u8]>) -> crate::Result<Self> {
        Xslt::with_stylesheet(Stylesheet::compile(xsl)?)
    }
}

impl Xslt<String> {
    /// Compiles a stylesheet; the actor emits its results as text (the output encoding must be
    /// UTF-8).
    pub fn compile_text(xsl: impl AsRef<[u8]>) -> crate::Result<Self> {
        Xslt::with_stylesheet(Stylesheet::compile(xsl)?)
    }
}

impl<Out: TransformOutput> Xslt<Out> {
    /// An actor on an already compiled (possibly shared) stylesheet.
    pub fn with_stylesheet(stylesheet: impl Into<Arc<Stylesheet>>) -> crate::Result<Self> {
        let stylesheet = stylesheet.into();
        Out::accepts(&stylesheet).map_err(|message| Error::Config {
            setting: "stylesheet output".into(),
            message,
        })?;
        if !stylesheet.warnings().is_empty() {
            tracing::warn!(warnings = %stylesheet.warnings(), "stylesheet compiled with warnings");
        }
        Ok(Xslt {
            stylesheet,
            options: Arc::new(TransformOptions::new()),
            _output: PhantomData,
        })
    }

    /// Passes a string parameter to every transform (see [`TransformOptions::param`]).
    pub fn param(self, name: &str, value: &str) -> crate::Result<Self> {
        let options = self.options.as_ref().clone().param(name, value)?;
        Ok(self.options(options))
    }

    /// Replaces the transform options (parameters, depth limit, permissions).
    pub fn options(mut self, options: TransformOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// Bounds nested template calls (default [`DEFAULT_MAX_DEPTH`]).
    pub fn max_depth(self, depth: u32) -> Self {
        let options = self.options.as_ref().clone().max_depth(depth);
        self.options(options)
    }

    /// Sets what the stylesheet may do (default [`Permissions::DEFAULT`]).
    pub fn permissions(self, permissions: Permissions) -> Self {
        let options = self.options.as_ref().clone().permissions(permissions);
        self.options(options)
    }

    /// The compiled stylesheet.
    pub fn stylesheet(&self) -> &Arc<Stylesheet> {
        &self.stylesheet
    }

    /// Transforms one document on the calling thread, as the actor does for each event.
    pub fn transform(&self, input: &Xml) -> Result<Out, EventError> {
        transform_one::<Out>(&self.stylesheet, &self.options, input)
    }
}

fn transform_one<Out: TransformOutput>(
    stylesheet: &Stylesheet,
    options: &TransformOptions,
    input: &Xml,
) -> Result<Out, EventError> {
    let result = stylesheet.transform(input.as_bytes(), options)?;
    if result.error.is_none() && !result.messages.is_empty() {
        tracing::info!(messages = %result.messages, "xslt messages");
    }
    let shape = result.shape;
    Out::from_result(result.into_output()?, shape)
}

impl<Out: TransformOutput> Actor for Xslt<Out> {
    type Inboxes = Inbox<Xml>;
    type Outboxes = Outbox<Out>;

    async fn run(self, ctx: Context, inbox: Inbox<Xml>, outbox: Outbox<Out>) {
        let this = &self;
        let outbox = &outbox;
        let offload = &CpuPool::per_cpu();
        ctx.serve(inbox, |event| async move {
            let deadline = event.deadline();
            let (envelope, input) = event.split();
            let stylesheet = Arc::clone(&this.stylesheet);
            let options = Arc::clone(&this.options);
            let size = input.as_bytes().len();
            let output = offload
                .run_until(size, deadline, move || {
                    transform_one::<Out>(&stylesheet, &options, &input)
                })
                .await?;
            outbox.send(envelope.with_data(output)).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: &str = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:output method="text"/>
      <xsl:param name="p"/>
      <xsl:template match="/"><xsl:value-of select="$p"/></xsl:template>
    </xsl:stylesheet>"#;

    #[test]
    fn parameters_are_strings_not_expressions() {
        let stylesheet = Stylesheet::compile(ECHO).expect("compiles");
        for value in ["1 + 1", "it's \"quoted\"", "/", "concat('a', 'b')", ""] {
            let options = TransformOptions::new().param("p", value).expect("valid");
            let result = stylesheet.transform(b"<r/>", &options).expect("parses");
            assert_eq!(result.output(), value.as_bytes(), "{value}");
        }
    }

    #[test]
    fn a_parameter_given_again_replaces_its_value() {
        let stylesheet = Stylesheet::compile(ECHO).expect("compiles");
        let options = TransformOptions::new()
            .param("p", "first")
            .and_then(|options| options.param("p", "second"))
            .expect("valid");
        let result = stylesheet.transform(b"<r/>", &options).expect("parses");
        assert!(result.error().is_none(), "{:?}", result.error());
        assert_eq!(result.output(), &b"second"[..]);
    }

    #[test]
    fn a_parameter_libxslt_refuses_is_a_500_not_the_inputs_fault() {
        // The prefix is an XML name but the stylesheet binds no namespace to it.
        let stylesheet = Stylesheet::compile(ECHO).expect("compiles");
        let options = TransformOptions::new()
            .param("nope:p", "x")
            .expect("a QName");
        let error = stylesheet
            .transform(b"<r/>", &options)
            .expect_err("the transform cannot start");
        assert_eq!(error.kind(), crate::ErrorKind::Internal, "{error}");
        assert!(error.message().contains("could not start"), "{error}");
        assert!(error.message().contains("nope"), "{error}");
        // Input that does not parse is still the client's fault.
        let error = stylesheet
            .transform(b"<r>", &TransformOptions::new())
            .expect_err("malformed input");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed, "{error}");
    }

    #[test]
    fn a_parameter_name_must_be_an_xml_name() {
        assert!(TransformOptions::new().param("not a name", "x").is_err());
        assert!(TransformOptions::new().param("ns:name", "x").is_ok());
    }

    #[test]
    fn the_output_method_is_read_through_imports() {
        let stylesheet = Stylesheet::compile(ECHO).expect("compiles");
        assert_eq!(stylesheet.output_method(), OutputMethod::Text);
        let plain = Stylesheet::compile(
            r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>"#,
        )
        .expect("compiles");
        assert_eq!(plain.output_method(), OutputMethod::Unspecified);
    }

    #[test]
    fn the_default_permissions_read_files_only() {
        assert_eq!(
            Permissions::default(),
            Permissions {
                read_files: true,
                write_files: false,
                create_directories: false,
                read_network: false,
                write_network: false,
            }
        );
    }

    #[test]
    fn xml_output_needs_a_utf8_encoding() {
        let latin1 = r#"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
          <xsl:output encoding="ISO-8859-1"/><xsl:template match="/"><r>é</r></xsl:template>
        </xsl:stylesheet>"#;
        let error = Xslt::compile(latin1).expect_err("Xml payloads are UTF-8");
        assert!(error.to_string().contains("ISO-8859-1"), "{error}");
        let bytes = Xslt::compile_bytes(latin1).expect("bytes take any encoding");
        let output = bytes
            .transform(&Xml::parse(b"<a/>").expect("xml"))
            .expect("transforms");
        assert!(output.ends_with(b"<r>\xE9</r>\n"), "{output:?}");
    }
}
