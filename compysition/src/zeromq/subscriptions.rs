//! Subscriptions (RFC 29 PUBSUB): what a SUB tells its PUB peers, and what a PUB keeps per
//! subscriber to filter on the sending side.
//!
//! A subscription is a topic prefix: a message matches when its first frame starts with it
//! (the empty prefix matches everything). In ZMTP 3.0 a SUB subscribes with a one-frame
//! message `%x01 prefix` and cancels with `%x00 prefix`; ZMTP 3.1 adds the commands SUBSCRIBE
//! and CANCEL for the same. A PUB here accepts both; a SUB sends the 3.0 messages, which every
//! libzmq understands.

use bytes::{BufMut, Bytes, BytesMut};

use crate::zmtp::command::split_command;

/// The subscriptions one peer may hold: past it a new one is refused and counted, so that a
/// subscriber cannot make its PUB hold an unbounded list (each is at most a message long).
pub const MAX_SUBSCRIPTIONS_PER_PEER: usize = 10_000;

/// The first octet of a subscription message.
const SUBSCRIBE: u8 = 0x01;
/// The first octet of a cancellation message.
const CANCEL: u8 = 0x00;

/// The ZMTP 3.0 message that subscribes to `prefix`: one frame.
pub(crate) fn subscribe_message(prefix: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(1 + prefix.len());
    frame.put_u8(SUBSCRIBE);
    frame.extend_from_slice(prefix);
    frame.freeze()
}

/// What a subscriber asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    Subscribe(&'a [u8]),
    Cancel(&'a [u8]),
}

/// The request a subscriber's message is, if it is one (one frame, starting `%x01` or `%x00`).
pub(crate) fn from_message(frames: &[Bytes]) -> Option<Request<'_>> {
    let [frame] = frames else { return None };
    match frame.split_first()? {
        (&SUBSCRIBE, prefix) => Some(Request::Subscribe(prefix)),
        (&CANCEL, prefix) => Some(Request::Cancel(prefix)),
        _ => None,
    }
}

/// The request a subscriber's ZMTP 3.1 command is, if it is SUBSCRIBE or CANCEL.
pub(crate) fn from_command(body: &[u8]) -> Option<Request<'_>> {
    match split_command(body)? {
        (b"SUBSCRIBE", prefix) => Some(Request::Subscribe(prefix)),
        (b"CANCEL", prefix) => Some(Request::Cancel(prefix)),
        _ => None,
    }
}

/// Whether `frames` (a message) starts with one of `prefixes`.
pub(crate) fn matches<'a>(mut prefixes: impl Iterator<Item = &'a [u8]>, frames: &[Bytes]) -> bool {
    let topic = frames.first().map(|frame| &frame[..]).unwrap_or_default();
    prefixes.any(|prefix| topic.starts_with(prefix))
}

/// One subscriber's prefixes, each with how many times it was subscribed (a SUB with two
/// subscriptions to one prefix cancels them one at a time, as libzmq counts them).
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    prefixes: Vec<(Bytes, u32)>,
}

/// What a request changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Added,
    Removed,
    Unchanged,
    /// Refused: the peer holds [`MAX_SUBSCRIPTIONS_PER_PEER`] already.
    Refused,
}

impl Subscriptions {
    /// Applies a request.
    pub(crate) fn apply(&mut self, request: Request<'_>) -> Change {
        match request {
            Request::Subscribe(prefix) => {
                if let Some((_, count)) = self.prefixes.iter_mut().find(|(p, _)| p == prefix) {
                    *count = count.saturating_add(1);
                    return Change::Unchanged;
                }
                if self.prefixes.len() >= MAX_SUBSCRIPTIONS_PER_PEER {
                    return Change::Refused;
                }
                self.prefixes.push((Bytes::copy_from_slice(prefix), 1));
                Change::Added
            }
            Request::Cancel(prefix) => {
                let Some(at) = self.prefixes.iter().position(|(p, _)| p == prefix) else {
                    return Change::Unchanged;
                };
                self.prefixes[at].1 -= 1;
                if self.prefixes[at].1 > 0 {
                    return Change::Unchanged;
                }
                self.prefixes.swap_remove(at);
                Change::Removed
            }
        }
    }

    /// How many distinct prefixes are held.
    pub(crate) fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether a message is wanted.
    pub(crate) fn wants(&self, frames: &[Bytes]) -> bool {
        matches(self.prefixes.iter().map(|(prefix, _)| &prefix[..]), frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::command::command;

    #[test]
    fn both_forms_of_a_subscription_are_understood() {
        let message = [subscribe_message(b"weather.")];
        assert_eq!(
            from_message(&message),
            Some(Request::Subscribe(b"weather."))
        );
        let cancel = [Bytes::from_static(b"\x00weather.")];
        assert_eq!(from_message(&cancel), Some(Request::Cancel(b"weather.")));
        let subscribe = command(b"SUBSCRIBE", b"news");
        assert_eq!(
            from_command(&subscribe[2..]),
            Some(Request::Subscribe(b"news"))
        );
        let cancel = command(b"CANCEL", b"news");
        assert_eq!(from_command(&cancel[2..]), Some(Request::Cancel(b"news")));
        assert_eq!(from_message(&[Bytes::from_static(b"\x02x")]), None);
        let two_frames = [subscribe_message(b"a"), Bytes::new()];
        assert_eq!(from_message(&two_frames), None);
        assert_eq!(from_message(&[Bytes::new()]), None);
    }

    #[test]
    fn prefixes_filter_on_the_first_frame_and_cancel_one_at_a_time() {
        let mut subscriptions = Subscriptions::default();
        let message = [
            Bytes::from_static(b"weather.paris"),
            Bytes::from_static(b"21"),
        ];
        assert!(
            !subscriptions.wants(&message),
            "nothing subscribed, nothing wanted"
        );
        assert_eq!(
            subscriptions.apply(Request::Subscribe(b"weather.")),
            Change::Added
        );
        assert_eq!(
            subscriptions.apply(Request::Subscribe(b"weather.")),
            Change::Unchanged
        );
        assert!(subscriptions.wants(&message));
        assert!(!subscriptions.wants(&[Bytes::from_static(b"news")]));
        assert_eq!(
            subscriptions.apply(Request::Cancel(b"weather.")),
            Change::Unchanged
        );
        assert!(
            subscriptions.wants(&message),
            "subscribed twice, cancelled once"
        );
        assert_eq!(
            subscriptions.apply(Request::Cancel(b"weather.")),
            Change::Removed
        );
        assert!(!subscriptions.wants(&message));
        assert_eq!(subscriptions.apply(Request::Subscribe(b"")), Change::Added);
        assert!(subscriptions.wants(&[Bytes::from_static(b"anything")]));
        assert!(
            subscriptions.wants(&[]),
            "the empty prefix matches even no frame"
        );
    }

    #[test]
    fn a_peer_cannot_hold_more_than_the_limit() {
        let mut subscriptions = Subscriptions::default();
        for n in 0..MAX_SUBSCRIPTIONS_PER_PEER {
            let prefix = n.to_string();
            assert_eq!(
                subscriptions.apply(Request::Subscribe(prefix.as_bytes())),
                Change::Added
            );
        }
        assert_eq!(
            subscriptions.apply(Request::Subscribe(b"one more")),
            Change::Refused
        );
        assert_eq!(subscriptions.len(), MAX_SUBSCRIPTIONS_PER_PEER);
    }
}
