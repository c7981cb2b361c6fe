//! The ZMTP 3 greeting: the 64 octets each side sends first, with the protocol version and the
//! security [`Mechanism`].
//!
//! ```text
//! greeting  = %xFF 8OCTET %x7F  %x03 minor  mechanism(20)  as-server  31%x00     (64 octets)
//! ```

use super::mechanism::Mechanism;
use super::violation::Violation;

/// The length of a greeting.
pub(crate) const GREETING_LEN: usize = 64;
/// Where the mechanism name starts, and its padded length.
const MECHANISM_AT: usize = 12;
const MECHANISM_LEN: usize = 20;
/// Where the as-server flag is.
const AS_SERVER_AT: usize = MECHANISM_AT + MECHANISM_LEN;

/// Our greeting: ZMTP 3.1 with `mechanism`.
pub(crate) fn greeting(mechanism: &Mechanism) -> [u8; GREETING_LEN] {
    let mut greeting = [0u8; GREETING_LEN];
    greeting[0] = 0xFF;
    greeting[9] = 0x7F;
    greeting[10] = 3;
    greeting[11] = 1;
    let name = mechanism.name();
    greeting[MECHANISM_AT..MECHANISM_AT + name.len()].copy_from_slice(name);
    greeting[AS_SERVER_AT] = u8::from(mechanism.as_server());
    greeting
}

/// Checks a peer's greeting: the signature, version 3 or later, the same mechanism as ours.
pub(crate) fn check_greeting(
    greeting: &[u8; GREETING_LEN],
    mechanism: &Mechanism,
) -> Result<(), Violation> {
    if greeting[0] != 0xFF || greeting[9] != 0x7F {
        return Err(Violation::NotZmtp);
    }
    if greeting[10] < 3 {
        return Err(Violation::OldVersion(greeting[10]));
    }
    let theirs = &greeting[MECHANISM_AT..AS_SERVER_AT];
    let name = mechanism.name();
    if &theirs[..name.len()] != name || theirs[name.len()..].iter().any(|&octet| octet != 0) {
        return Err(Violation::Mechanism);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_greeting_passes_our_own_check() {
        assert_eq!(
            check_greeting(&greeting(&Mechanism::Null), &Mechanism::Null),
            Ok(())
        );
    }

    #[test]
    fn greetings_other_than_zmtp3_null_are_refused() {
        let null = Mechanism::Null;
        let mut http = [0u8; GREETING_LEN];
        http[..16].copy_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(check_greeting(&http, &null), Err(Violation::NotZmtp));
        let mut zmtp2 = greeting(&null);
        zmtp2[10] = 1;
        assert_eq!(check_greeting(&zmtp2, &null), Err(Violation::OldVersion(1)));
        let mut curve = greeting(&null);
        curve[12..17].copy_from_slice(b"CURVE");
        assert_eq!(check_greeting(&curve, &null), Err(Violation::Mechanism));
    }
}
