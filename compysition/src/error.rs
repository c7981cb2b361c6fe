//! Errors: [`EventError`] travels with a failed event; [`Error`] is what the framework's own
//! operations (building, starting, stopping a topology) return.

use std::fmt;
use std::sync::Arc;

use crate::extensions::{Extension, Extensions};

/// What went wrong with one event, in terms every protocol can answer in its own way.
///
/// The kinds are the Python project's; an HTTP server answers each with its status (`400` for
/// [`Malformed`](ErrorKind::Malformed), `401` for [`Unauthorized`](ErrorKind::Unauthorized), …,
/// see `compysition::http::HttpStatus`), and what a protocol needs beyond the kind (the
/// challenge of a `401`, the methods of a `405`) rides on the error as an
/// [extension](EventError::with_extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input could not be parsed or converted (HTTP 400).
    Malformed,
    /// Missing or wrong credentials (HTTP 401).
    Unauthorized,
    /// Authenticated but not allowed (HTTP 403).
    Forbidden,
    /// Nothing there (HTTP 404).
    NotFound,
    /// The operation is not allowed on this resource (HTTP 405).
    MethodNotAllowed,
    /// The request took too long to arrive (HTTP 408).
    RequestTimeout,
    /// Conflicts with the current state (HTTP 409).
    Conflict,
    /// Gone for good (HTTP 410).
    Gone,
    /// The input is larger than allowed (HTTP 413).
    PayloadTooLarge,
    /// The input's format is not supported (HTTP 415).
    UnsupportedMediaType,
    /// Well-formed but invalid: schema validation failed, say (HTTP 422).
    Unprocessable,
    /// Too many requests (HTTP 429).
    TooManyRequests,
    /// A failure inside the flow, a panic among them (HTTP 500).
    Internal,
    /// A service the flow needs is not available (HTTP 503).
    Unavailable,
    /// The flow, or a service it called, did not answer in time (HTTP 504).
    Timeout,
}

impl ErrorKind {
    /// Every kind, in the order of their HTTP statuses.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::Malformed,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::RequestTimeout,
        ErrorKind::Conflict,
        ErrorKind::Gone,
        ErrorKind::PayloadTooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::Unprocessable,
        ErrorKind::TooManyRequests,
        ErrorKind::Internal,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
    ];

    /// The kind's name in text: `malformed`, `not found`, …
    pub fn label(&self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::MethodNotAllowed => "method not allowed",
            ErrorKind::RequestTimeout => "request timeout",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Gone => "gone",
            ErrorKind::PayloadTooLarge => "payload too large",
            ErrorKind::UnsupportedMediaType => "unsupported media type",
            ErrorKind::Unprocessable => "unprocessable",
            ErrorKind::TooManyRequests => "too many requests",
            ErrorKind::Internal => "internal error",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
        }
    }

    /// The kind named by [`label`](Self::label).
    pub fn from_label(label: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.label() == label)
    }

    /// The kind's stable name, what crosses a process edge: `malformed`, `not_found`, … (the
    /// variant in snake case). Unlike the [`label`](Self::label), which is for people and may
    /// be reworded, a name never changes once released.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Gone => "gone",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::Unprocessable => "unprocessable",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
        }
    }

    /// The kind of a stable [`name`](Self::name); `None` for a name this version does not
    /// know (a peer's newer kind, say: callers decide what it becomes).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The error a failed event carries.
///
/// ```
/// use compysition::{EventError, ErrorKind};
///
/// let error = EventError::malformed("line 1, column 7: unexpected end of input");
/// assert_eq!(error.kind(), ErrorKind::Malformed);
/// assert_eq!(error.to_string(), "malformed: line 1, column 7: unexpected end of input");
/// ```
#[derive(Clone, Debug)]
pub struct EventError {
    kind: ErrorKind,
    message: Arc<str>,
    code: Option<Arc<str>>,
    actor: Option<Arc<str>>,
    extensions: Extensions,
}

impl PartialEq for EventError {
    /// Kind, message, code and actor; extensions are not compared (they need not be `Eq`).
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.code == other.code
            && self.actor == other.actor
    }
}

impl Eq for EventError {}

impl EventError {
    /// An error of any kind.
    pub fn new(kind: ErrorKind, message: impl Into<Arc<str>>) -> Self {
        EventError {
            kind,
            message: message.into(),
            code: None,
            actor: None,
            extensions: Extensions::new(),
        }
    }

    /// The input could not be parsed or converted.
    pub fn malformed(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    /// Missing or wrong credentials. (An HTTP server challenges with its realm, or with the
    /// one an `http::Challenge` extension names.)
    pub fn unauthorized(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// Authenticated but not allowed.
    pub fn forbidden(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// Nothing there.
    pub fn not_found(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// The operation is not allowed. (An HTTP server lists the allowed methods from an
    /// `http::Allow` extension.)
    pub fn method_not_allowed(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::MethodNotAllowed, message)
    }

    /// Well-formed but invalid.
    pub fn unprocessable(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    /// A failure inside the flow.
    pub fn internal(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// A service the flow needs is not available.
    pub fn unavailable(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// More events than the flow takes at this rate or at once.
    pub fn too_many_requests(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::TooManyRequests, message)
    }

    /// The flow, or a service it called, did not answer in time.
    pub fn timeout(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The application error code, if one was given (an HTTP server shows its status number
    /// otherwise).
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The error with an application error code.
    pub fn with_code(mut self, code: impl Into<Arc<str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The actor the error happened in, when the framework knows it.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The error attributed to an actor (the framework does this when routing it).
    pub fn with_actor(mut self, actor: impl Into<Arc<str>>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub(crate) fn set_actor_if_unset(&mut self, actor: &Arc<str>) {
        if self.actor.is_none() {
            self.actor = Some(Arc::clone(actor));
        }
    }

    /// The error's typed extensions: what a protocol needs to answer it beyond its kind.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The extension of type `X`, if the error carries one.
    pub fn extension<X: Send + Sync + 'static>(&self) -> Option<&X> {
        self.extensions.get()
    }

    /// The error with an extension set (an `http::Challenge` for a `401`, say).
    pub fn with_extension<X: Extension>(mut self, value: X) -> Self {
        self.extensions.insert(value);
        self
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for EventError {}

/// What the framework's own operations return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The topology has wiring mistakes; each is listed.
    #[error("invalid topology:\n{0}")]
    Topology(TopologyErrors),
    /// `start()` was called outside a tokio runtime.
    #[error("a topology must be started inside a tokio runtime")]
    NoRuntime,
    /// `start()` was called twice.
    #[error("the topology was already started")]
    AlreadyStarted,
    /// The graceful stop did not finish within its deadline; the named actors were aborted.
    #[error("shutdown did not finish within {deadline:?}; aborted: {}", .aborted.join(", "))]
    ShutdownTimeout {
        /// The deadline that passed.
        deadline: std::time::Duration,
        /// Actors that were still running and got aborted.
        aborted: Vec<String>,
    },
    /// An address could not be bound: in use, not permitted, not an address of this host.
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address as the caller gave it.
        address: String,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// An address or endpoint that does not parse or resolve (`tcp://host:port`, `host:port`).
    #[error("invalid address `{address}`: {reason}")]
    InvalidAddress {
        /// The address as the caller gave it.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file an actor is built from (a stylesheet, a schema) could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A stylesheet, schema, expression or path that does not compile.
    #[error("{what} does not compile: {message}")]
    Compile {
        /// What was compiled: `stylesheet`, `XML Schema`, `XPath "…"`, …
        what: String,
        /// The compiler's messages.
        message: String,
    },
    /// A setting that is not acceptable (a service name, a user table entry, a parameter).
    #[error("invalid {setting}: {message}")]
    Config {
        /// The setting, as the user knows it.
        setting: String,
        /// What is wrong with it.
        message: String,
    },
    /// A bug in a hand-written port set or in the framework itself: the ports built for an
    /// actor do not fit it.
    #[error("internal wiring error: {0}")]
    Wiring(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Result` with the framework's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every wiring mistake found in one topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyErrors(pub Vec<TopologyError>);

impl fmt::Display for TopologyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "  - {error}")?;
        }
        Ok(())
    }
}

/// One wiring mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// Two actors with one name.
    #[error("actor `{0}` is registered twice")]
    DuplicateActor(String),
    /// An edge names an actor that is not registered.
    #[error("no actor named `{name}`{}", did_you_mean(.suggestion))]
    UnknownActor {
        /// The name used.
        name: String,
        /// The closest registered name, if any is close.
        suggestion: Option<String>,
    },
    /// An edge names a port the actor does not have.
    #[error("actor `{actor}` has no {direction} `{port}` (it has: {})", list_or_none(.available))]
    UnknownPort {
        /// The actor.
        actor: String,
        /// `inbox` or `outbox`.
        direction: &'static str,
        /// The port name used.
        port: String,
        /// The ports it does have.
        available: Vec<String>,
    },
    /// A port was named by its direction only but the actor has several.
    #[error("actor `{actor}` has several {direction}es ({}); name one", .available.join(", "))]
    AmbiguousPort {
        /// The actor.
        actor: String,
        /// `inbox` or `outbox`.
        direction: &'static str,
        /// Its ports.
        available: Vec<String>,
    },
    /// A port named by string was given a payload type it does not have (typed handles are
    /// checked by the compiler instead).
    #[error("port `{port}` was named as `{declared}` but its payload is `{actual}`")]
    PayloadMismatch {
        /// The port, `actor.port`.
        port: String,
        /// The payload type the edge was declared with.
        declared: String,
        /// The port's payload type.
        actual: String,
    },
    /// `connect_error_queue` to an actor without an error inbox.
    #[error("`{from}` !-> `{to}`: actor `{to}` has no error inbox")]
    NoErrorInbox {
        /// The actor whose errors are routed.
        from: String,
        /// The target without an error inbox.
        to: String,
    },
    /// An outbox whose payload cannot be copied was connected to several inboxes.
    #[error("outbox `{outbox}` is connected to {edges} inboxes but its payload `{payload}` cannot be copied")]
    FanOutOfUniquePayload {
        /// The outbox.
        outbox: String,
        /// How many edges it has.
        edges: usize,
        /// Its payload type.
        payload: &'static str,
    },
    /// Two log actors.
    #[error("a topology has one log actor; `{0}` would be the second")]
    SecondLogActor(String),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_by_its_label() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_label(kind.label()), Some(kind));
        }
        assert_eq!(ErrorKind::from_label("nonsense"), None);
    }

    #[test]
    fn every_kind_has_a_distinct_snake_case_name() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let name = kind.name();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert_eq!(ErrorKind::from_name(name), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("not found"), None);
    }

    #[test]
    fn code_is_given_or_absent() {
        assert_eq!(EventError::not_found("x").code(), None);
        assert_eq!(
            EventError::not_found("x").with_code("E17").code(),
            Some("E17")
        );
    }

    #[test]
    fn extensions_ride_on_the_error_but_not_in_its_equality() {
        #[derive(Clone, Debug, PartialEq)]
        struct Realm(&'static str);
        let error = EventError::unauthorized("no").with_extension(Realm("shop"));
        assert_eq!(error.extension::<Realm>(), Some(&Realm("shop")));
        assert_eq!(error, EventError::unauthorized("no"));
    }

    #[test]
    fn unknown_actor_suggests_a_name() {
        let error = TopologyError::UnknownActor {
            name: "outptu".into(),
            suggestion: Some("output".into()),
        };
        assert_eq!(
            error.to_string(),
            "no actor named `outptu`; did you mean `output`?"
        );
    }
}
