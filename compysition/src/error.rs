//! Errors: [`EventError`] travels with a failed event; [`Error`] is what the framework's own
//! operations (building, starting, stopping a topology) return.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

/// What went wrong with one event. The kind decides the HTTP status an HTTP server answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: the input could not be parsed or converted.
    Malformed,
    /// 401: missing or wrong credentials; `WWW-Authenticate: Basic realm="<realm>"`.
    Unauthorized {
        /// The realm named in the challenge.
        realm: Arc<str>,
    },
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 404: nothing there.
    NotFound,
    /// 405: the method is not allowed; `Allow: <allow>`.
    MethodNotAllowed {
        /// The allowed methods, as for the `Allow` header.
        allow: Arc<str>,
    },
    /// 408: the request took too long to arrive.
    RequestTimeout,
    /// 409: conflicts with the current state.
    Conflict,
    /// 410: gone for good.
    Gone,
    /// 413: the body is larger than allowed.
    PayloadTooLarge,
    /// 415: the content type is not supported.
    UnsupportedMediaType,
    /// 422: well-formed but invalid (schema validation failed, say).
    Unprocessable,
    /// 429: too many requests.
    TooManyRequests,
    /// 500: a failure inside the flow, a panic among them.
    Internal,
    /// 503: a service the flow needs is not available.
    Unavailable,
    /// 504: the flow, or a service it called, did not answer in time.
    Timeout,
}

impl ErrorKind {
    /// The HTTP status for this kind.
    pub fn status(&self) -> StatusCode {
        match self {
            ErrorKind::Malformed => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unauthorized { .. } => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::MethodNotAllowed { .. } => "method not allowed",
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
/// assert_eq!(error.status().as_u16(), 400);
/// assert_eq!(error.kind(), &ErrorKind::Malformed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    kind: ErrorKind,
    message: Arc<str>,
    code: Option<Arc<str>>,
    actor: Option<Arc<str>>,
}

impl EventError {
    /// An error of any kind.
    pub fn new(kind: ErrorKind, message: impl Into<Arc<str>>) -> Self {
        EventError {
            kind,
            message: message.into(),
            code: None,
            actor: None,
        }
    }

    /// 400: the input could not be parsed or converted.
    pub fn malformed(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    /// 401 with a `Basic` challenge for `realm`.
    pub fn unauthorized(realm: impl Into<Arc<str>>, message: impl Into<Arc<str>>) -> Self {
        Self::new(
            ErrorKind::Unauthorized {
                realm: realm.into(),
            },
            message,
        )
    }

    /// 403.
    pub fn forbidden(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 405; `allow` lists the allowed methods (`"GET, POST"`).
    pub fn method_not_allowed(allow: impl Into<Arc<str>>, message: impl Into<Arc<str>>) -> Self {
        Self::new(
            ErrorKind::MethodNotAllowed {
                allow: allow.into(),
            },
            message,
        )
    }

    /// 422: well-formed but invalid.
    pub fn unprocessable(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    /// 500.
    pub fn internal(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// 503.
    pub fn unavailable(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// 504.
    pub fn timeout(message: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// An application error code; defaults to the HTTP status number.
    pub fn code(&self) -> std::borrow::Cow<'_, str> {
        match &self.code {
            Some(code) => std::borrow::Cow::Borrowed(code),
            None => std::borrow::Cow::Owned(self.status().as_u16().to_string()),
        }
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
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind,
            self.status().as_u16(),
            self.message
        )
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
    /// An actor could not be built (deprecated in favour of the typed variants above).
    #[error("{0}")]
    Setup(String),
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
    fn kinds_map_to_the_statuses_of_the_python_project() {
        let cases = [
            (EventError::malformed(""), 400),
            (EventError::unauthorized("r", ""), 401),
            (EventError::forbidden(""), 403),
            (EventError::not_found(""), 404),
            (EventError::method_not_allowed("GET", ""), 405),
            (EventError::new(ErrorKind::RequestTimeout, ""), 408),
            (EventError::new(ErrorKind::Conflict, ""), 409),
            (EventError::new(ErrorKind::Gone, ""), 410),
            (EventError::unprocessable(""), 422),
            (EventError::new(ErrorKind::TooManyRequests, ""), 429),
            (EventError::internal(""), 500),
            (EventError::unavailable(""), 503),
            (EventError::timeout(""), 504),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error}");
        }
    }

    #[test]
    fn code_defaults_to_the_status() {
        assert_eq!(EventError::not_found("x").code(), "404");
        assert_eq!(EventError::not_found("x").with_code("E17").code(), "E17");
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
