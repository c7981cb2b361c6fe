//! The binding to libxslt and libxml2: the only place in the crate with `unsafe`.
//!
//! The C side (`csrc/xslt_shim.c`) does the work that needs C — variadic error callbacks,
//! struct fields, libxslt's macros — and exposes a few plain functions. This module declares them
//! by hand and wraps each library object in an owner that frees it on drop, so the rest of the
//! crate (`xslt.rs`, `xsd.rs`, `modifiers.rs`) works with safe types only.
//!
//! Threads: libxml2 is initialised once, under a `Once`. A compiled stylesheet, schema or XPath
//! expression is read-only after compilation and is shared across threads; every operation on
//! it makes its own parser, transform or validation context, and its messages go to a collector
//! of its own (the C side keeps the collector in a thread-local while the call runs).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::Once;

use bytes::Bytes;

#[repr(C)]
struct CxMessages {
    text: *mut c_char,
    len: usize,
    cap: usize,
    count: c_int,
}

#[repr(C)]
struct CxTransformOptions {
    parse_options: c_int,
    max_depth: c_int,
    allow_read_file: c_int,
    allow_write_file: c_int,
    allow_create_directory: c_int,
    allow_read_network: c_int,
    allow_write_network: c_int,
    base_url: *const c_char,
    params: *const *const c_char,
}

#[repr(C)]
struct CxOutput {
    bytes: *mut u8,
    len: c_int,
    shape: c_int,
    failed: c_int,
    denied: c_int,
}

extern "C" {
    fn cx_init();
    fn cx_messages_free(messages: *mut CxMessages);
    fn cx_free(p: *mut c_void);

    fn cx_compile(
        xsl: *const c_char,
        len: c_int,
        base_url: *const c_char,
        messages: *mut CxMessages,
    ) -> *mut c_void;
    fn cx_stylesheet_free(style: *mut c_void);
    fn cx_stylesheet_method(style: *mut c_void) -> c_int;
    fn cx_stylesheet_encoding(style: *mut c_void) -> *const c_char;
    fn cx_transform(
        style: *mut c_void,
        input: *const c_char,
        len: c_int,
        options: *const CxTransformOptions,
        output: *mut CxOutput,
        messages: *mut CxMessages,
    ) -> c_int;

    fn cx_schema_compile(
        xsd: *const c_char,
        len: c_int,
        base_url: *const c_char,
        messages: *mut CxMessages,
    ) -> *mut c_void;
    fn cx_schema_free(schema: *mut c_void);
    fn cx_schema_validate(
        schema: *mut c_void,
        input: *const c_char,
        len: c_int,
        parse_options: c_int,
        messages: *mut CxMessages,
    ) -> c_int;

    fn cx_xpath_compile(expression: *const c_char, messages: *mut CxMessages) -> *mut c_void;
    fn cx_xpath_free(compiled: *mut c_void);
    fn cx_xpath_string(
        compiled: *mut c_void,
        input: *const c_char,
        len: c_int,
        parse_options: c_int,
        namespaces: *const *const c_char,
        messages: *mut CxMessages,
    ) -> *mut u8;
}

/// libxml2 parser options (`xmlParserOption`).
pub(crate) mod parse_option {
    /// Substitute entities.
    pub const NOENT: i32 = 1 << 1;
    /// Load the external DTD subset.
    pub const DTDLOAD: i32 = 1 << 2;
    /// Default attributes from the DTD.
    pub const DTDATTR: i32 = 1 << 3;
    /// No network access.
    pub const NONET: i32 = 1 << 11;
    /// CDATA sections as text nodes.
    pub const NOCDATA: i32 = 1 << 14;
}

/// Initialises libxml2, libxslt and EXSLT once per process, whichever thread gets here first.
fn init() {
    static INIT: Once = Once::new();
    // SAFETY: `cx_init` only calls the libraries' own initialisers and installs callbacks; the
    // `Once` makes it run exactly once, before any other call into the libraries.
    INIT.call_once(|| unsafe { cx_init() });
}

/// The messages the libraries reported during one call.
struct Collector(CxMessages);

impl Collector {
    fn new() -> Self {
        Collector(CxMessages {
            text: ptr::null_mut(),
            len: 0,
            cap: 0,
            count: 0,
        })
    }

    fn as_mut_ptr(&mut self) -> *mut CxMessages {
        &mut self.0
    }

    /// The messages, one per line, without trailing white space.
    fn take(mut self) -> String {
        if self.0.text.is_null() || self.0.len == 0 {
            return String::new();
        }
        // SAFETY: the C side keeps `text` a buffer of at least `len` initialised bytes (it only
        // ever appends whole `memcpy`s and updates `len` after them); it stays alive until
        // `cx_messages_free` in `drop`, after this copy.
        let bytes = unsafe { std::slice::from_raw_parts(self.0.text.cast::<u8>(), self.0.len) };
        let text = String::from_utf8_lossy(bytes).trim_end().to_owned();
        self.0.len = 0;
        text
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // SAFETY: the buffer was allocated by the C side with `realloc` (or is null) and is freed
        // only here; `cx_messages_free` resets the fields.
        unsafe { cx_messages_free(&mut self.0) }
    }
}

/// The C side's compile functions for documents: stylesheets and schemas.
type CompileDocument = unsafe extern "C" fn(
    document: *const c_char,
    len: c_int,
    base_url: *const c_char,
    messages: *mut CxMessages,
) -> *mut c_void;

/// Compiles a document with `compile`: the object and the warnings, or the messages that say why
/// it did not compile.
fn compile_document(
    document: &[u8],
    base_url: Option<&str>,
    what: &str,
    compile: CompileDocument,
) -> Result<(NonNull<c_void>, String), String> {
    init();
    let len = length(document)?;
    let base_url = base_url.map(|u| c_string(u, "the base URL")).transpose()?;
    let mut messages = Collector::new();
    // SAFETY: `compile` is one of the C side's compile functions, which read `len` bytes of
    // `document`, read `base_url` (null or NUL-terminated) and append to `messages`, all of which
    // outlive the call; it returns a new object owned by the caller, or null.
    let compiled = unsafe {
        compile(
            document.as_ptr().cast(),
            len,
            opt_ptr(&base_url),
            messages.as_mut_ptr(),
        )
    };
    let messages = messages.take();
    match NonNull::new(compiled) {
        Some(compiled) => Ok((compiled, messages)),
        None if messages.is_empty() => Err(format!("{what} did not compile")),
        None => Err(messages),
    }
}

fn length(bytes: &[u8]) -> Result<c_int, String> {
    c_int::try_from(bytes.len()).map_err(|_| "the document is larger than 2 GiB".to_string())
}

fn c_string(text: &str, what: &str) -> Result<CString, String> {
    CString::new(text).map_err(|_| format!("{what} contains a NUL character"))
}

fn opt_ptr(text: &Option<CString>) -> *const c_char {
    text.as_ref().map_or(ptr::null(), |t| t.as_ptr())
}

/// A compiled stylesheet (`xsltStylesheet`), freed on drop.
pub(crate) struct RawStylesheet(NonNull<c_void>);

// SAFETY: a compiled stylesheet is not changed by transforms: each transform has its own
// transform context (with its own dictionary layered over the stylesheet's), so the stylesheet
// may be used from several threads at once and dropped from any thread.
unsafe impl Send for RawStylesheet {}
// SAFETY: see `Send`: transforms only read the stylesheet.
unsafe impl Sync for RawStylesheet {}

/// `xsl:output method` of a stylesheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawMethod {
    Unspecified,
    Xml,
    Html,
    Text,
    Other,
}

/// What one transform gave.
pub(crate) struct RawOutcome {
    /// The serialised result (empty when there was no result document).
    pub output: Bytes,
    /// `cx_result_shape`: 0 none, 1 one root element, 2 anything else, 3 HTML.
    pub shape: i32,
    /// A runtime error or `xsl:message terminate="yes"` stopped the transform.
    pub failed: bool,
    /// A security preference refused something the stylesheet tried.
    pub denied: bool,
    /// Everything the libraries reported, one message per line.
    pub messages: String,
}

/// Why a transform did not run.
pub(crate) enum RawTransformError {
    /// The input could not be parsed (libxml2's messages).
    Input(String),
    /// The transform could not start although the input parsed: libxslt refused its
    /// parameters or setup, or memory ran out.
    Setup(String),
}

/// Options of one transform, already in the form the C side takes.
#[derive(Clone)]
pub(crate) struct RawTransformOptions {
    pub parse_options: i32,
    pub max_depth: i32,
    pub allow_read_file: bool,
    pub allow_write_file: bool,
    pub allow_create_directory: bool,
    pub allow_read_network: bool,
    pub allow_write_network: bool,
    pub base_url: Option<CString>,
    params: Vec<CString>,
}

impl RawTransformOptions {
    pub fn new() -> Self {
        RawTransformOptions {
            parse_options: 0,
            max_depth: 0,
            allow_read_file: true,
            allow_write_file: false,
            allow_create_directory: false,
            allow_read_network: false,
            allow_write_network: false,
            base_url: None,
            params: Vec::new(),
        }
    }

    /// Adds a string parameter (the value is taken literally, not as an XPath expression), or
    /// replaces the value of one already there: libxslt refuses a name given twice.
    pub fn add_param(&mut self, name: &str, value: &str) -> Result<(), String> {
        let name = c_string(name, "a parameter name")?;
        let value = c_string(value, "a parameter value")?;
        match self.params.chunks_exact_mut(2).find(|pair| pair[0] == name) {
            Some(pair) => pair[1] = value,
            None => {
                self.params.push(name);
                self.params.push(value);
            }
        }
        Ok(())
    }

    pub fn set_base_url(&mut self, url: &str) -> Result<(), String> {
        self.base_url = Some(c_string(url, "the base URL")?);
        Ok(())
    }
}

impl RawStylesheet {
    /// Compiles a stylesheet; `Err` carries libxslt's messages.
    pub fn compile(xsl: &[u8], base_url: Option<&str>) -> Result<(RawStylesheet, String), String> {
        compile_document(xsl, base_url, "the stylesheet", cx_compile)
            .map(|(style, warnings)| (RawStylesheet(style), warnings))
    }

    pub fn method(&self) -> RawMethod {
        // SAFETY: the stylesheet is alive (owned by `self`) and the call only reads it.
        match unsafe { cx_stylesheet_method(self.0.as_ptr()) } {
            0 => RawMethod::Unspecified,
            1 => RawMethod::Xml,
            2 => RawMethod::Html,
            3 => RawMethod::Text,
            _ => RawMethod::Other,
        }
    }

    pub fn encoding(&self) -> Option<String> {
        // SAFETY: the stylesheet is alive and the call only reads it; the returned string, if
        // any, belongs to the stylesheet and is copied before `self` can be dropped.
        unsafe {
            let encoding = cx_stylesheet_encoding(self.0.as_ptr());
            (!encoding.is_null()).then(|| CStr::from_ptr(encoding).to_string_lossy().into_owned())
        }
    }

    /// Runs one transform of `input` (parsed with `options.parse_options`).
    pub fn transform(
        &self,
        input: &[u8],
        options: &RawTransformOptions,
    ) -> Result<RawOutcome, RawTransformError> {
        let len = length(input).map_err(RawTransformError::Input)?;
        let mut params: Vec<*const c_char> = options.params.iter().map(|p| p.as_ptr()).collect();
        params.push(ptr::null());
        let raw = CxTransformOptions {
            parse_options: options.parse_options,
            max_depth: options.max_depth,
            allow_read_file: options.allow_read_file.into(),
            allow_write_file: options.allow_write_file.into(),
            allow_create_directory: options.allow_create_directory.into(),
            allow_read_network: options.allow_read_network.into(),
            allow_write_network: options.allow_write_network.into(),
            base_url: opt_ptr(&options.base_url),
            params: params.as_ptr(),
        };
        let mut output = CxOutput {
            bytes: ptr::null_mut(),
            len: 0,
            shape: 0,
            failed: 0,
            denied: 0,
        };
        let mut messages = Collector::new();
        // SAFETY: the stylesheet is alive and only read; `input` is valid for `len` bytes; the
        // options, the NULL-terminated parameter array and the strings it points to outlive the
        // call; `output` and `messages` are written by the C side only during it.
        let status = unsafe {
            cx_transform(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                len,
                &raw,
                &mut output,
                messages.as_mut_ptr(),
            )
        };
        let bytes = LibxmlBuffer::take(output.bytes, output.len);
        let messages = messages.take();
        match status {
            0 => {}
            -1 => {
                return Err(RawTransformError::Input(if messages.is_empty() {
                    "the input could not be parsed".to_string()
                } else {
                    messages
                }))
            }
            _ => {
                return Err(RawTransformError::Setup(if messages.is_empty() {
                    "the transform could not start".to_string()
                } else {
                    messages
                }))
            }
        }
        Ok(RawOutcome {
            output: bytes,
            shape: output.shape,
            failed: output.failed != 0,
            denied: output.denied != 0,
            messages,
        })
    }
}

impl Drop for RawStylesheet {
    fn drop(&mut self) {
        // SAFETY: the stylesheet was returned by `cx_compile`, is owned by `self` alone and no
        // transform can be running on it (they borrow `self`).
        unsafe { cx_stylesheet_free(self.0.as_ptr()) }
    }
}

/// A buffer libxml2 allocated, handed to `Bytes` without copying and freed with `xmlFree`.
struct LibxmlBuffer {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is plain memory owned by this value alone; `xmlFree` may be called from any
// thread.
unsafe impl Send for LibxmlBuffer {}

impl LibxmlBuffer {
    fn take(ptr: *mut u8, len: c_int) -> Bytes {
        match (NonNull::new(ptr), usize::try_from(len)) {
            (Some(ptr), Ok(len)) if len > 0 => Bytes::from_owner(LibxmlBuffer { ptr, len }),
            (Some(ptr), _) => {
                // SAFETY: an empty buffer still came from libxml2's allocator; free it once.
                unsafe { cx_free(ptr.as_ptr().cast()) };
                Bytes::new()
            }
            (None, _) => Bytes::new(),
        }
    }
}

impl AsRef<[u8]> for LibxmlBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: libxml2 returned `len` initialised bytes at `ptr`, alive until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for LibxmlBuffer {
    fn drop(&mut self) {
        // SAFETY: the buffer came from libxml2's allocator and is freed exactly once, here.
        unsafe { cx_free(self.ptr.as_ptr().cast()) }
    }
}

/// A compiled XML Schema (`xmlSchema`, with the document it was compiled from), freed on drop.
pub(crate) struct RawSchema(NonNull<c_void>);

// SAFETY: validation never changes a compiled schema (each validation has its own validation
// context), so it may be shared across threads and dropped from any.
unsafe impl Send for RawSchema {}
// SAFETY: see `Send`.
unsafe impl Sync for RawSchema {}

/// The verdict on one document.
pub(crate) enum RawValidity {
    Valid,
    Invalid(String),
    Unreadable(String),
}

impl RawSchema {
    pub fn compile(xsd: &[u8], base_url: Option<&str>) -> Result<RawSchema, String> {
        compile_document(xsd, base_url, "the schema", cx_schema_compile)
            .map(|(schema, _)| RawSchema(schema))
    }

    pub fn validate(&self, input: &[u8], parse_options: i32) -> RawValidity {
        let len = match length(input) {
            Ok(len) => len,
            Err(error) => return RawValidity::Unreadable(error),
        };
        let mut messages = Collector::new();
        // SAFETY: the schema is alive and only read; `input` is valid for `len` bytes;
        // `messages` outlives the call.
        let status = unsafe {
            cx_schema_validate(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                len,
                parse_options,
                messages.as_mut_ptr(),
            )
        };
        let messages = messages.take();
        match status {
            0 => RawValidity::Valid,
            1 => RawValidity::Invalid(messages),
            _ => RawValidity::Unreadable(messages),
        }
    }
}

impl Drop for RawSchema {
    fn drop(&mut self) {
        // SAFETY: owned by `self` alone; validations borrow `self`, so none is running.
        unsafe { cx_schema_free(self.0.as_ptr()) }
    }
}

/// A compiled XPath expression (`xmlXPathCompExpr`), freed on drop.
pub(crate) struct RawXPath(NonNull<c_void>);

// SAFETY: evaluation reads a compiled expression and never changes it (each evaluation has its
// own XPath context), so it may be shared across threads and dropped from any.
unsafe impl Send for RawXPath {}
// SAFETY: see `Send`.
unsafe impl Sync for RawXPath {}

impl RawXPath {
    pub fn compile(expression: &str) -> Result<RawXPath, String> {
        init();
        let expression = c_string(expression, "the XPath expression")?;
        let mut messages = Collector::new();
        // SAFETY: `expression` is NUL-terminated and outlives the call, as does `messages`.
        let compiled = unsafe { cx_xpath_compile(expression.as_ptr(), messages.as_mut_ptr()) };
        let messages = messages.take();
        match NonNull::new(compiled) {
            Some(compiled) => Ok(RawXPath(compiled)),
            None if messages.is_empty() => Err("the XPath expression did not compile".to_string()),
            None => Err(messages),
        }
    }

    /// The string value of the expression on `input`; namespaces are (prefix, URI) pairs.
    pub fn string_value(
        &self,
        input: &[u8],
        parse_options: i32,
        namespaces: &[CString],
    ) -> Result<String, String> {
        let len = length(input)?;
        let mut pointers: Vec<*const c_char> = namespaces.iter().map(|n| n.as_ptr()).collect();
        pointers.push(ptr::null());
        let mut messages = Collector::new();
        // SAFETY: the expression is alive and only read; `input` is valid for `len` bytes; the
        // NULL-terminated namespace array and its strings outlive the call, as does `messages`.
        let value = unsafe {
            cx_xpath_string(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                len,
                parse_options,
                pointers.as_ptr(),
                messages.as_mut_ptr(),
            )
        };
        let messages = messages.take();
        let Some(value) = NonNull::new(value) else {
            return Err(if messages.is_empty() {
                "the XPath expression could not be evaluated".to_string()
            } else {
                messages
            });
        };
        // SAFETY: libxml2 returned a NUL-terminated string, copied here and then freed once.
        unsafe {
            let text = CStr::from_ptr(value.as_ptr().cast())
                .to_string_lossy()
                .into_owned();
            cx_free(value.as_ptr().cast());
            Ok(text)
        }
    }
}

impl Drop for RawXPath {
    fn drop(&mut self) {
        // SAFETY: owned by `self` alone; evaluations borrow `self`, so none is running.
        unsafe { cx_xpath_free(self.0.as_ptr()) }
    }
}

/// Namespace bindings as `string_value` takes them: prefix, URI, prefix, URI, ...
pub(crate) fn namespace_strings(pairs: &[(String, String)]) -> Result<Vec<CString>, String> {
    let mut out = Vec::with_capacity(pairs.len() * 2);
    for (prefix, uri) in pairs {
        out.push(c_string(prefix, "a namespace prefix")?);
        out.push(c_string(uri, "a namespace URI")?);
    }
    Ok(out)
}
