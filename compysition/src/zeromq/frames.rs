//! [`Frames`]: a ZeroMQ message, or the body of a Majordomo request or reply, as the frames it
//! travels in.
//!
//! A ZeroMQ message is one or more frames, and an MDP body is "opaque binary" in one or more
//! of them. A flow that only forwards a body
//! (a broker-to-broker bridge, an echo worker) must give back exactly the frames it got, empty
//! frames included, so the body is kept as its frames rather than joined into one buffer. Edges
//! convert it to and from the usual payloads: `Bytes` and `String` join the frames (a one-frame
//! body joins without copying), `Json` and `Xml` parse the joined text.

use std::fmt;
use std::sync::Arc;

use crate::error::EventError;
use crate::json::Json;
use crate::payload::{Bytes, Convert};

/// The frames of one ZeroMQ message, or of one MDP message body. Cheap to clone (the frame list
/// is shared and every frame is a reference-counted [`Bytes`]).
///
/// ```
/// use compysition::zeromq::Frames;
/// use compysition::{Bytes, Convert};
///
/// let body = Frames::new(["part one", "", "part three"]);
/// assert_eq!(body.len(), 3);
/// assert_eq!(body[1], "");
/// let joined: Bytes = body.convert().unwrap();
/// assert_eq!(joined, "part onepart three");
/// ```
///
/// The wire needs at least one frame: an empty `Frames` goes out as one empty frame.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Frames(Arc<[Bytes]>);

impl Frames {
    /// A body of the given frames.
    pub fn new<I>(frames: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Bytes>,
    {
        Frames(frames.into_iter().map(Into::into).collect())
    }

    /// A body of one frame.
    pub fn single(frame: impl Into<Bytes>) -> Self {
        Frames(Arc::from([frame.into()]))
    }

    /// How many frames the body has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the body has no frame at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The frames.
    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.0.iter()
    }

    /// The frames as a slice.
    pub fn as_slice(&self) -> &[Bytes] {
        &self.0
    }

    /// One frame.
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.0.get(index)
    }

    /// The frames joined into one buffer; a one-frame body is returned without copying.
    pub fn to_bytes(&self) -> Bytes {
        match &*self.0 {
            [] => Bytes::new(),
            [only] => only.clone(),
            frames => {
                let total = frames.iter().map(Bytes::len).sum();
                let mut joined = Vec::with_capacity(total);
                for frame in frames {
                    joined.extend_from_slice(frame);
                }
                Bytes::from(joined)
            }
        }
    }

    /// The frames, for changing them.
    pub fn into_vec(self) -> Vec<Bytes> {
        self.0.to_vec()
    }
}

impl std::ops::Index<usize> for Frames {
    type Output = Bytes;
    fn index(&self, index: usize) -> &Bytes {
        &self.0[index]
    }
}

impl<'a> IntoIterator for &'a Frames {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Bytes> for Frames {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        Frames(iter.into_iter().collect())
    }
}

impl From<Vec<Bytes>> for Frames {
    fn from(frames: Vec<Bytes>) -> Self {
        Frames(frames.into())
    }
}

impl From<&[Bytes]> for Frames {
    fn from(frames: &[Bytes]) -> Self {
        Frames(frames.into())
    }
}

impl From<Bytes> for Frames {
    fn from(frame: Bytes) -> Self {
        Frames::single(frame)
    }
}

impl fmt::Debug for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Convert<Frames> for Bytes {
    fn convert(self) -> Result<Frames, EventError> {
        Ok(Frames::single(self))
    }
}

impl Convert<Bytes> for Frames {
    fn convert(self) -> Result<Bytes, EventError> {
        Ok(self.to_bytes())
    }
}

impl Convert<Frames> for String {
    fn convert(self) -> Result<Frames, EventError> {
        Ok(Frames::single(self))
    }
}

impl Convert<String> for Frames {
    fn convert(self) -> Result<String, EventError> {
        self.to_bytes().convert()
    }
}

impl Convert<Frames> for Json {
    fn convert(self) -> Result<Frames, EventError> {
        Ok(Frames::single(self.to_bytes()))
    }
}

impl Convert<Json> for Frames {
    fn convert(self) -> Result<Json, EventError> {
        Json::parse(&self.to_bytes())
    }
}

#[cfg(feature = "xml")]
impl Convert<Frames> for crate::xml::Xml {
    fn convert(self) -> Result<Frames, EventError> {
        Ok(Frames::single(self.into_bytes()))
    }
}

#[cfg(feature = "xml")]
impl Convert<crate::xml::Xml> for Frames {
    fn convert(self) -> Result<crate::xml::Xml, EventError> {
        crate::xml::Xml::from_bytes(self.to_bytes())
    }
}

/// A request body from the HTTP server travels as one frame.
#[cfg(feature = "http")]
impl Convert<Frames> for crate::http::Body {
    fn convert(self) -> Result<Frames, EventError> {
        Ok(Frames::single(self.to_bytes()))
    }
}

/// A reply body for the HTTP server: text when the joined frames are UTF-8, else bytes.
#[cfg(feature = "http")]
impl Convert<crate::http::Body> for Frames {
    fn convert(self) -> Result<crate::http::Body, EventError> {
        let joined = self.to_bytes();
        Ok(match std::str::from_utf8(&joined) {
            Ok(text) => crate::http::Body::Text(text.to_owned()),
            Err(_) => crate::http::Body::Bytes(joined),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_frame_body_joins_without_copying() {
        let frame = Bytes::from(vec![1u8, 2, 3]);
        let body = Frames::single(frame.clone());
        assert_eq!(body.to_bytes().as_ptr(), frame.as_ptr());
    }

    #[test]
    fn empty_frames_are_kept() {
        let body = Frames::new(["", "a", ""]);
        assert_eq!(body.len(), 3);
        assert_eq!(body.to_bytes(), "a");
        assert_eq!(body.clone().into_vec()[2], "");
    }

    #[test]
    fn text_becomes_one_frame_and_comes_back() {
        let body: Frames = "hello".to_string().convert().expect("infallible");
        assert_eq!(body.len(), 1);
        let text: String = body.convert().expect("UTF-8");
        assert_eq!(text, "hello");
    }

    #[test]
    fn a_body_that_is_not_utf8_is_a_400_as_text() {
        let body = Frames::new([Bytes::from_static(b"ok"), Bytes::from_static(b"\xff")]);
        let error = Convert::<String>::convert(body).expect_err("not UTF-8");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn json_parses_the_joined_frames() {
        let body = Frames::new(["{\"a\":", "1}"]);
        let json: Json = body.convert().expect("valid JSON across frames");
        assert_eq!(json["a"], 1);
        let back: Frames = json.convert().expect("serialises");
        assert_eq!(back.to_bytes(), "{\"a\":1}");
    }

    #[cfg(feature = "xml")]
    #[test]
    fn xml_checks_the_joined_frames() {
        let body = Frames::new(["<a>", "1</a>"]);
        let xml: crate::xml::Xml = body.convert().expect("well-formed across frames");
        assert_eq!(xml.as_str(), "<a>1</a>");
        let broken = Frames::new(["<a>", "1</b>"]);
        let error = Convert::<crate::xml::Xml>::convert(broken).expect_err("not well-formed");
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }

    #[test]
    fn clones_share_the_frame_list() {
        let body = Frames::new(["x", "y"]);
        let copy = body.clone();
        assert!(Arc::ptr_eq(&body.0, &copy.0));
    }
}
