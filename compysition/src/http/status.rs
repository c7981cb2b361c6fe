//! How HTTP answers a failed event: the status for each [`ErrorKind`], and the extensions that
//! give a `401` its challenge and a `405` its `Allow` header.
//!
//! The core's error kinds know no protocol; this is where they become HTTP. The statuses are
//! the Python project's.

use std::sync::Arc;

use http::StatusCode;

use crate::error::{ErrorKind, EventError};

/// The HTTP status that answers an error.
///
/// ```
/// use compysition::http::HttpStatus;
/// use compysition::EventError;
///
/// assert_eq!(EventError::malformed("bad").http_status().as_u16(), 400);
/// ```
pub trait HttpStatus {
    /// The status.
    fn http_status(&self) -> StatusCode;
}

impl HttpStatus for ErrorKind {
    fn http_status(&self) -> StatusCode {
        match self {
            ErrorKind::Malformed => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            // `ErrorKind` is non-exhaustive: a kind added later is a failure of the flow.
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for EventError {
    fn http_status(&self) -> StatusCode {
        self.kind().http_status()
    }
}

/// The realm a `401` challenges for: the server answers
/// `WWW-Authenticate: Basic realm="<realm>", charset="UTF-8"`. Without it a `401` names the
/// default realm, `compysition`.
///
/// ```
/// use compysition::http::Challenge;
/// use compysition::EventError;
///
/// let error = EventError::unauthorized("wrong password").with_extension(Challenge::basic("orders"));
/// assert_eq!(error.extension::<Challenge>().map(Challenge::realm), Some("orders"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    realm: Arc<str>,
}

impl Challenge {
    /// A `Basic` challenge for `realm`.
    pub fn basic(realm: impl Into<Arc<str>>) -> Self {
        Challenge {
            realm: realm.into(),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }
}

/// The methods a `405` offers: the server answers `Allow: <methods>`.
///
/// ```
/// use compysition::http::Allow;
/// use compysition::EventError;
///
/// let error = EventError::method_not_allowed("read only").with_extension(Allow::new("GET"));
/// assert_eq!(error.extension::<Allow>().map(Allow::as_str), Some("GET"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow(Arc<str>);

impl Allow {
    /// The methods, as the header lists them (`"GET, POST"`).
    pub fn new(methods: impl Into<Arc<str>>) -> Self {
        Allow(methods.into())
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_statuses_of_the_python_project() {
        let cases = [
            (ErrorKind::Malformed, 400),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::MethodNotAllowed, 405),
            (ErrorKind::RequestTimeout, 408),
            (ErrorKind::Conflict, 409),
            (ErrorKind::Gone, 410),
            (ErrorKind::PayloadTooLarge, 413),
            (ErrorKind::UnsupportedMediaType, 415),
            (ErrorKind::Unprocessable, 422),
            (ErrorKind::TooManyRequests, 429),
            (ErrorKind::Internal, 500),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Timeout, 504),
        ];
        for (kind, status) in cases {
            assert_eq!(kind.http_status().as_u16(), status, "{kind}");
        }
        assert_eq!(cases.len(), ErrorKind::ALL.len());
    }
}
