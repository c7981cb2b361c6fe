//! [`BasicAuth`]: HTTP Basic authentication as an actor in the flow.
//!
//! An event whose request carries valid credentials passes on unchanged (with the attribute
//! `user` set); any other fails with a `401` carrying a `Basic` challenge, which reaches the
//! client when the actor's errors are routed back to the server (`auth !-> wsgi`).
//!
//! Who is valid is decided by an [`Authenticator`]: implement it to check credentials against
//! anything (the Python actor was subclassed for that), or use the built-in [`UserTable`], which
//! keeps passwords as digests or argon2 hashes and compares them in constant time. Credentials
//! never reach a log record: neither this module nor the server writes them, and the server marks
//! the `Authorization` header sensitive so a printed event shows `Sensitive` instead.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use base64::Engine as _;
use blake2::{Blake2b512, Digest};
use subtle::ConstantTimeEq;

use crate::actor::{Actor, Context};
use crate::error::{Error, EventError};
use crate::event::Event;
use crate::payload::Payload;
use crate::pool::CpuPool;
use crate::port::{Inbox, Outbox};

use super::body::Body;
use super::context::HttpContext;
use super::status::Challenge;

/// The realm named in the challenge unless another is set.
pub(crate) const DEFAULT_REALM: &str = "compysition";

/// A user name and password from an `Authorization: Basic` header. Its `Debug` hides the
/// password.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The user name.
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Decides whether credentials are valid.
///
/// ```
/// use compysition::http::{Authenticator, Credentials};
/// use compysition::actors::BasicAuth;
/// use compysition::EventError;
///
/// /// Lets in every user whose password is the user name backwards (do not do this).
/// struct Backwards;
///
/// impl Authenticator for Backwards {
///     async fn authenticate(&self, credentials: Credentials<'_>) -> Result<bool, EventError> {
///         Ok(credentials.user.chars().rev().eq(credentials.password.chars()))
///     }
/// }
///
/// let auth = BasicAuth::new(Backwards).realm("orders");
/// # let _ = auth;
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// `Ok(true)` lets the request pass, `Ok(false)` answers `401`; an `Err` (a user store that
    /// is down, say: `EventError::unavailable`) answers with its own status.
    fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> impl Future<Output = Result<bool, EventError>> + Send;
}

/// Users and their passwords, kept as BLAKE2b digests (given as plain text) or argon2 hashes
/// (given in the PHC string format, `$argon2id$v=19$m=…`), compared in constant time.
///
/// Every check does the same work whether or not the user exists, so response times do not
/// tell which users do: one digest comparison, and — once the table holds any argon2 hash —
/// exactly one argon2 verification, against the user's own hash or, for unknown users and users
/// with plain-text passwords, against a decoy (the first argon2 hash added). In a table that
/// mixes both kinds, plain-text users therefore cost as much as argon2 ones; give every argon2
/// user hashes of the same parameters, or their costs tell them apart. Argon2 verifications run
/// on the process's CPU pool (one thread per CPU, shared with the XML actors), which bounds how
/// many run, and how much memory they take, at once.
#[derive(Clone, Default)]
pub struct UserTable {
    users: HashMap<String, Secret>,
    /// The argon2 hash verified by checks that have none of their own, once the table holds
    /// any: then every check costs one argon2 verification.
    decoy: Option<Arc<str>>,
}

/// The digest compared by checks whose user has none: no password's BLAKE2b-512 digest is all
/// zeros (finding one would be a preimage), and the comparison costs what any other does.
const NO_DIGEST: [u8; 64] = [0; 64];

#[derive(Clone)]
enum Secret {
    Digest([u8; 64]),
    Argon2(Arc<str>),
}

fn digest(password: &str) -> [u8; 64] {
    Blake2b512::digest(password.as_bytes()).into()
}

impl UserTable {
    /// An empty table: nobody gets in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a user with a password given as plain text; only its digest is kept.
    pub fn user(mut self, user: impl Into<String>, password: &str) -> Self {
        self.users
            .insert(user.into(), Secret::Digest(digest(password)));
        self
    }

    /// Adds (or replaces) a user with an argon2 hash in the PHC string format; a hash that does
    /// not parse is an [`Error::Config`].
    pub fn user_with_hash(mut self, user: impl Into<String>, hash: &str) -> crate::Result<Self> {
        let user = user.into();
        match PasswordHash::new(hash) {
            Ok(parsed) if parsed.algorithm.as_str().starts_with("argon2") => {}
            Ok(parsed) => {
                return Err(Error::Config {
                    setting: format!("password hash of user `{user}`"),
                    message: format!(
                        "it uses `{}`; only argon2 hashes are supported",
                        parsed.algorithm
                    ),
                })
            }
            Err(error) => {
                return Err(Error::Config {
                    setting: format!("password hash of user `{user}`"),
                    message: format!("not a PHC string: {error}"),
                })
            }
        }
        let hash: Arc<str> = Arc::from(hash);
        self.decoy.get_or_insert_with(|| Arc::clone(&hash));
        self.users.insert(user, Secret::Argon2(hash));
        Ok(self)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl fmt::Debug for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&str> = self.users.keys().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("UserTable").field("users", &users).finish()
    }
}

/// The work one check does: the same for every user of a table (see [`UserTable`]).
struct Check<'a> {
    /// Compared with the password's digest by every check.
    digest: &'a [u8; 64],
    /// Verified against the password by every check once the table holds an argon2 hash.
    argon2: Option<&'a Arc<str>>,
    /// Which of the two decides.
    verdict: Verdict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Digest,
    Argon2,
    /// The user does not exist.
    Refused,
}

impl UserTable {
    fn check_for(&self, user: &str) -> Check<'_> {
        match self.users.get(user) {
            Some(Secret::Digest(stored)) => Check {
                digest: stored,
                argon2: self.decoy.as_ref(),
                verdict: Verdict::Digest,
            },
            Some(Secret::Argon2(hash)) => Check {
                digest: &NO_DIGEST,
                argon2: Some(hash),
                verdict: Verdict::Argon2,
            },
            None => Check {
                digest: &NO_DIGEST,
                argon2: self.decoy.as_ref(),
                verdict: Verdict::Refused,
            },
        }
    }
}

impl Authenticator for UserTable {
    async fn authenticate(&self, credentials: Credentials<'_>) -> Result<bool, EventError> {
        let check = self.check_for(credentials.user);
        let digest_matches = bool::from(digest(credentials.password).ct_eq(check.digest));
        let argon2_matches = match check.argon2 {
            Some(hash) => {
                // Argon2 is slow and memory-hungry on purpose: it runs on the CPU pool, off the
                // async workers and at most one per CPU at once.
                let hash = Arc::clone(hash);
                let password = credentials.password.to_owned();
                CpuPool::per_cpu()
                    .run(move || Ok(verify_argon2(&hash, &password)))
                    .await?
            }
            None => false,
        };
        Ok(match check.verdict {
            Verdict::Digest => digest_matches,
            Verdict::Argon2 => argon2_matches,
            Verdict::Refused => false,
        })
    }
}

fn verify_argon2(hash: &str, password: &str) -> bool {
    // Parsed when the table was built; the output comparison inside is constant-time.
    PasswordHash::new(hash)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Lets through events whose request carries valid HTTP Basic credentials; fails the others with
/// `401` and `WWW-Authenticate: Basic realm="…"`.
///
/// It passes events of the server's payload ([`Body`]) by default; [`taking`](Self::taking)
/// sets another.
///
/// ```
/// use compysition::actors::BasicAuth;
///
/// let auth = BasicAuth::with_users([("alice", "wonderland")]).realm("orders");
/// # let _ = auth;
/// ```
pub struct BasicAuth<A = UserTable, T = Body> {
    authenticator: Arc<A>,
    challenge: Challenge,
    _payload: PhantomData<fn(T) -> T>,
}

impl BasicAuth {
    /// A user table of `(user, password)` pairs given as plain text.
    pub fn with_users<U: Into<String>, P: AsRef<str>>(
        users: impl IntoIterator<Item = (U, P)>,
    ) -> Self {
        let table = users
            .into_iter()
            .fold(UserTable::new(), |table, (user, password)| {
                table.user(user, password.as_ref())
            });
        BasicAuth::new(table)
    }

    /// A user table of `(user, argon2 PHC hash)` pairs.
    pub fn with_hashed_users<U: Into<String>, H: AsRef<str>>(
        users: impl IntoIterator<Item = (U, H)>,
    ) -> crate::Result<Self> {
        let mut table = UserTable::new();
        for (user, hash) in users {
            table = table.user_with_hash(user, hash.as_ref())?;
        }
        Ok(BasicAuth::new(table))
    }
}

impl<A: Authenticator> BasicAuth<A> {
    /// Checks credentials with `authenticator`.
    pub fn new(authenticator: A) -> Self {
        BasicAuth {
            authenticator: Arc::new(authenticator),
            challenge: Challenge::basic(DEFAULT_REALM),
            _payload: PhantomData,
        }
    }
}

impl<A, T> BasicAuth<A, T> {
    /// The realm named in the challenge (default `compysition`). A header carries visible ASCII
    /// only: any other character — a control character, a letter beyond ASCII — becomes `?`
    /// (quotes and backslashes are kept, escaped in the challenge).
    pub fn realm(mut self, realm: impl Into<Arc<str>>) -> Self {
        let realm = realm.into();
        self.challenge = Challenge::basic(match header_safe_realm(&realm) {
            Cow::Borrowed(_) => realm,
            Cow::Owned(safe) => Arc::from(safe),
        });
        self
    }

    /// The same actor, passing events of payload `U`.
    pub fn taking<U>(self) -> BasicAuth<A, U> {
        BasicAuth {
            authenticator: self.authenticator,
            challenge: self.challenge,
            _payload: PhantomData,
        }
    }

    fn unauthorized(&self, message: &'static str) -> EventError {
        EventError::unauthorized(message).with_extension(self.challenge.clone())
    }
}

/// `realm` with every character that a `WWW-Authenticate` header cannot carry as it is (anything
/// but visible ASCII and space) replaced by `?`: borrowed when there is none, as with any realm
/// set through [`BasicAuth::realm`].
pub(crate) fn header_safe_realm(realm: &str) -> Cow<'_, str> {
    let safe = |c: char| c == ' ' || c.is_ascii_graphic();
    if realm.chars().all(safe) {
        return Cow::Borrowed(realm);
    }
    Cow::Owned(
        realm
            .chars()
            .map(|c| if safe(c) { c } else { '?' })
            .collect(),
    )
}

/// The user name and password of an `Authorization: Basic …` header (RFC 7617).
fn basic_credentials(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl<A: Authenticator, T: Payload> Actor for BasicAuth<A, T> {
    type Inboxes = Inbox<T>;
    type Outboxes = Outbox<T>;

    async fn run(self, ctx: Context, inbox: Inbox<T>, outbox: Outbox<T>) {
        let this = &self;
        let outbox = &outbox;
        ctx.serve(inbox, |mut event: Event<T>| async move {
            let header = event
                .extension::<HttpContext>()
                .and_then(|http| http.headers.get(http::header::AUTHORIZATION))
                .ok_or_else(|| this.unauthorized("credentials required"))?;
            let (user, password) = basic_credentials(header.as_bytes())
                .ok_or_else(|| this.unauthorized("malformed Basic credentials"))?;
            let credentials = Credentials {
                user: &user,
                password: &password,
            };
            if !this.authenticator.authenticate(credentials).await? {
                return Err(this.unauthorized("invalid credentials"));
            }
            event.set_attribute("user", user);
            outbox.send(event).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Params, Version};

    fn check(table: &UserTable, user: &str, password: &str) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(table.authenticate(Credentials { user, password }))
            .expect("no store errors")
    }

    /// A cheap argon2id hash, so the test does not spend a second on a real one.
    fn cheap_hash(password: &str) -> String {
        let params = Params::new(64, 1, 1, None).expect("valid params");
        let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").expect("valid salt");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .expect("hashes")
            .to_string()
    }

    #[test]
    fn plain_passwords_are_checked() {
        let table = UserTable::new().user("alice", "wonderland");
        assert!(check(&table, "alice", "wonderland"));
        assert!(!check(&table, "alice", "wonderlan"));
        assert!(!check(&table, "alice", ""));
        assert!(!check(&table, "bob", "wonderland"));
    }

    #[test]
    fn argon2_hashes_are_checked() {
        let table = UserTable::new()
            .user_with_hash("alice", &cheap_hash("wonderland"))
            .expect("valid hash");
        assert!(check(&table, "alice", "wonderland"));
        assert!(!check(&table, "alice", "looking-glass"));
        assert!(!check(&table, "mallory", "wonderland"));
    }

    #[test]
    fn a_mixed_table_checks_every_user_alike() {
        let table = UserTable::new()
            .user("alice", "wonderland")
            .user_with_hash("bob", &cheap_hash("builder"))
            .expect("valid hash");
        for user in ["alice", "bob", "mallory"] {
            let check = table.check_for(user);
            assert!(check.argon2.is_some(), "{user}: one argon2 verification");
        }
        assert_eq!(table.check_for("alice").verdict, Verdict::Digest);
        assert_eq!(table.check_for("bob").verdict, Verdict::Argon2);
        assert_eq!(table.check_for("mallory").verdict, Verdict::Refused);
        assert!(check(&table, "alice", "wonderland"));
        assert!(!check(&table, "alice", "builder"));
        assert!(check(&table, "bob", "builder"));
        assert!(!check(&table, "bob", "wonderland"));
        // The decoy is bob's hash: his password opens no other name.
        assert!(!check(&table, "mallory", "builder"));
    }

    #[test]
    fn a_table_of_plain_passwords_needs_no_argon2() {
        let table = UserTable::new().user("alice", "wonderland");
        for user in ["alice", "mallory"] {
            assert!(table.check_for(user).argon2.is_none(), "{user}");
        }
    }

    #[test]
    fn a_hash_that_is_not_argon2_is_refused() {
        let error = UserTable::new()
            .user_with_hash("alice", "wonderland")
            .expect_err("not a PHC string");
        assert!(error.to_string().contains("alice"), "{error}");
        assert!(!error.to_string().contains("wonderland"), "{error}");
    }

    #[test]
    fn a_realm_keeps_only_what_a_header_can_carry() {
        let auth = BasicAuth::with_users([("alice", "wonderland")]).realm("line\nbreak, café");
        assert_eq!(auth.challenge.realm(), "line?break, caf?");
        let plain = BasicAuth::with_users([("alice", "wonderland")]).realm("say \"hi\" \\ o/");
        assert_eq!(plain.challenge.realm(), "say \"hi\" \\ o/");
    }

    #[test]
    fn basic_headers_are_decoded() {
        // "alice:wonder:land" — the password may contain colons.
        assert_eq!(
            basic_credentials(b"Basic YWxpY2U6d29uZGVyOmxhbmQ="),
            Some(("alice".into(), "wonder:land".into()))
        );
        assert_eq!(
            basic_credentials(b"basic YWxpY2U6d29uZGVybGFuZA=="),
            Some(("alice".into(), "wonderland".into()))
        );
        assert_eq!(basic_credentials(b"Bearer abc"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
        assert_eq!(basic_credentials(b"Basic YWxpY2U="), None); // no colon
    }

    #[test]
    fn debug_output_hides_passwords() {
        let credentials = Credentials {
            user: "alice",
            password: "wonderland",
        };
        assert!(!format!("{credentials:?}").contains("wonderland"));
        let table = UserTable::new().user("alice", "wonderland");
        assert!(!format!("{table:?}").contains("wonderland"));
    }
}
