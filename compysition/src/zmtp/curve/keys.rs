//! CURVE keys and their text forms: [`PublicKey`], [`SecretKey`] (never shown: its `Debug`
//! says `<redacted>`), a [`KeyPair`], and the [`AllowList`] of the client keys a server
//! accepts.
//!
//! Keys are 32 octets, written as 40 characters of Z85 (RFC 32), as libzmq and pyzmq write
//! them. Files are read in either of two forms:
//!
//! - pyzmq's certificates (`zmq.auth.create_certificates`): `NAME.key` holds a line
//!   `public-key = "…"`, `NAME.key_secret` also a line `secret-key = "…"`; other lines
//!   (comments, `metadata`, `curve`) are skipped;
//! - bare keys, one per line (a key pair: the public key first, then the secret key).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crypto_box::aead::OsRng;

use super::super::z85;
use crate::error::{Error, Result};

/// The octets of a key.
pub(crate) const KEY_LEN: usize = 32;
/// The length of a key in Z85.
const Z85_LEN: usize = 40;

/// A CURVE public key (the long-term key of a server or a client).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// The key of 40 Z85 characters, as `zmq.curve_keypair()` gives it.
    pub fn from_z85(text: &str) -> Result<Self> {
        key_octets(text, "CURVE public key").map(PublicKey)
    }

    /// The key of these octets.
    pub fn from_bytes(octets: [u8; KEY_LEN]) -> Self {
        PublicKey(octets)
    }

    /// The key's octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key in Z85 (40 characters).
    pub fn to_z85(&self) -> String {
        z85::encode(&self.0).unwrap_or_default()
    }

    /// The public key in a file: a pyzmq `.key` (or `.key_secret`) certificate, or a file
    /// whose first key line is the public key.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let keys = KeyFile::read(path)?;
        keys.public
            .or_else(|| keys.bare.first().copied())
            .map(PublicKey)
            .ok_or_else(|| no_key(path, "public"))
    }

    pub(crate) fn crypto(&self) -> crypto_box::PublicKey {
        crypto_box::PublicKey::from(self.0)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z85())
    }
}

/// A CURVE secret key. Its `Debug` never shows it, and its memory is wiped when it is
/// dropped (the crypto crate's key zeroizes itself).
#[derive(Clone)]
pub struct SecretKey(crypto_box::SecretKey);

impl SecretKey {
    /// The key of 40 Z85 characters, as `zmq.curve_keypair()` gives it.
    pub fn from_z85(text: &str) -> Result<Self> {
        key_octets(text, "CURVE secret key").map(|octets| SecretKey(octets.into()))
    }

    /// The public key that goes with this one.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.public_key().as_bytes())
    }

    /// The key in Z85, to write into a file of one's own: handle it as the secret it is.
    pub fn to_z85(&self) -> String {
        z85::encode(&self.0.to_bytes()).unwrap_or_default()
    }

    pub(crate) fn crypto(&self) -> &crypto_box::SecretKey {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A long-term key pair: a server's, or a client's.
#[derive(Clone, Debug)]
pub struct KeyPair {
    public: PublicKey,
    secret: SecretKey,
}

impl KeyPair {
    /// A new key pair from the operating system's random numbers.
    pub fn generate() -> Self {
        let secret = SecretKey(crypto_box::SecretKey::generate(&mut OsRng));
        KeyPair {
            public: secret.public_key(),
            secret,
        }
    }

    /// The pair of these Z85 keys (as `zmq.curve_keypair()` returns them); an error if the
    /// public key is not the secret key's.
    pub fn from_z85(public: &str, secret: &str) -> Result<Self> {
        KeyPair::from_keys(PublicKey::from_z85(public)?, SecretKey::from_z85(secret)?)
    }

    /// The pair of these keys; an error if the public key is not the secret key's.
    pub fn from_keys(public: PublicKey, secret: SecretKey) -> Result<Self> {
        if secret.public_key() != public {
            return Err(Error::Config {
                setting: "CURVE key pair".to_string(),
                message: "the public key is not the secret key's".to_string(),
            });
        }
        Ok(KeyPair { public, secret })
    }

    /// The pair of a secret key alone (its public key is computed).
    pub fn from_secret(secret: SecretKey) -> Self {
        KeyPair {
            public: secret.public_key(),
            secret,
        }
    }

    /// The pair in a file: a pyzmq `.key_secret` certificate, or bare keys (the public key,
    /// then the secret key, one per line; or the secret key alone).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let keys = KeyFile::read(path)?;
        let (public, secret) = match (keys.public, keys.secret, &keys.bare[..]) {
            (public, Some(secret), _) => (public, secret),
            (None, None, [secret]) => (None, *secret),
            (None, None, [public, secret]) => (Some(*public), *secret),
            _ => return Err(no_key(path, "secret")),
        };
        let secret = SecretKey(secret.into());
        match public {
            Some(public) => KeyPair::from_keys(PublicKey(public), secret),
            None => Ok(KeyPair::from_secret(secret)),
        }
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

/// The client public keys a CURVE server accepts. A client whose key is not in it is refused
/// in the handshake, with an ERROR command, before anything it sends reaches the socket's
/// owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    keys: HashSet<PublicKey>,
}

impl AllowList {
    /// An empty list (which accepts nobody).
    pub fn new() -> Self {
        AllowList::default()
    }

    /// The list with `key` added.
    pub fn with(mut self, key: PublicKey) -> Self {
        self.keys.insert(key);
        self
    }

    /// Adds `key`.
    pub fn allow(&mut self, key: PublicKey) {
        self.keys.insert(key);
    }

    /// The public keys of a file (every `public-key = "…"` line and every bare key line) or
    /// of a directory (every `*.key` file in it, as pyzmq's `create_certificates` writes
    /// them: the layout pyzmq's authenticator reads with `configure_curve(location=…)`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut list = AllowList::new();
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| read_error(path, source))?;
            for entry in entries {
                let file = entry.map_err(|source| read_error(path, source))?.path();
                if file.extension().is_some_and(|extension| extension == "key") {
                    list.allow(PublicKey::load(&file)?);
                }
            }
        } else {
            let keys = KeyFile::read(path)?;
            list.keys
                .extend(keys.public.iter().chain(&keys.bare).map(|k| PublicKey(*k)));
        }
        Ok(list)
    }

    /// Whether `key` is allowed.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains(key)
    }

    /// How many keys the list holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl FromIterator<PublicKey> for AllowList {
    fn from_iter<I: IntoIterator<Item = PublicKey>>(keys: I) -> Self {
        AllowList {
            keys: keys.into_iter().collect(),
        }
    }
}

/// The keys a file holds.
struct KeyFile {
    public: Option<[u8; KEY_LEN]>,
    secret: Option<[u8; KEY_LEN]>,
    bare: Vec<[u8; KEY_LEN]>,
}

impl KeyFile {
    /// The keys of a file of at most 64 KiB (a key file is a few hundred octets).
    fn read(path: &Path) -> Result<Self> {
        const MAX_KEY_FILE: u64 = 64 * 1024;
        let size = std::fs::metadata(path)
            .map_err(|source| read_error(path, source))?
            .len();
        if size > MAX_KEY_FILE {
            return Err(Error::Config {
                setting: format!("CURVE key file {}", path.display()),
                message: format!("{size} octets is too long for a key file"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| read_error(path, source))?;
        KeyFile::parse(&text).map_err(|message| Error::Config {
            setting: format!("CURVE key file {}", path.display()),
            message,
        })
    }

    fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut keys = KeyFile {
            public: None,
            secret: None,
            bare: Vec::new(),
        };
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            let named = line.split_once('=').and_then(|(name, value)| {
                let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
                Some((name.trim(), value))
            });
            let bad = |what: &str| format!("line {}: {what} is not 40 Z85 characters", number + 1);
            match named {
                Some(("public-key", value)) => {
                    keys.public = Some(decode_key(value).ok_or_else(|| bad("public-key"))?);
                }
                Some(("secret-key", value)) => {
                    keys.secret = Some(decode_key(value).ok_or_else(|| bad("secret-key"))?);
                }
                // A bare key (`#` is a Z85 digit: a 40-character line that decodes is a key,
                // a comment has spaces or is of another length).
                _ => keys.bare.extend(decode_key(line)),
            }
        }
        Ok(keys)
    }
}

fn decode_key(text: &str) -> Option<[u8; KEY_LEN]> {
    if text.len() != Z85_LEN {
        return None;
    }
    z85::decode(text)?.try_into().ok()
}

fn key_octets(text: &str, setting: &str) -> Result<[u8; KEY_LEN]> {
    decode_key(text.trim()).ok_or_else(|| Error::Config {
        setting: setting.to_string(),
        message: "a key is 40 characters of Z85".to_string(),
    })
}

fn no_key(path: &Path, which: &str) -> Error {
    Error::Config {
        setting: format!("CURVE key file {}", path.display()),
        message: format!("no {which} key in it"),
    }
}

fn read_error(path: &Path, source: std::io::Error) -> Error {
    Error::Read {
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_is_never_shown_by_debug() {
        let pair = KeyPair::generate();
        let shown = format!("{pair:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains(&pair.secret().to_z85()), "{shown}");
        assert!(shown.contains(&pair.public().to_z85()), "{shown}");
    }

    #[test]
    fn pyzmq_certificates_and_bare_keys_are_read() {
        let pair = KeyPair::generate();
        let certificate = format!(
            "#   ****  Generated by pyzmq  ****\n\nmetadata\ncurve\n    public-key = \"{}\"\n    secret-key = \"{}\"\n",
            pair.public().to_z85(),
            pair.secret().to_z85()
        );
        let keys = KeyFile::parse(&certificate).expect("parses");
        assert_eq!(keys.public, Some(*pair.public().as_bytes()));
        assert_eq!(keys.secret, Some(pair.secret().crypto().to_bytes()));
        assert!(keys.bare.is_empty());
        let bare = format!("{}\n{}\n", pair.public(), pair.secret().to_z85());
        assert_eq!(KeyFile::parse(&bare).expect("parses").bare.len(), 2);
        let broken = "    public-key = \"tooshort\"";
        assert!(KeyFile::parse(broken).is_err());
    }

    #[test]
    fn a_pair_whose_keys_do_not_match_is_refused() {
        let one = KeyPair::generate();
        let other = KeyPair::generate();
        let mixed = KeyPair::from_z85(&one.public().to_z85(), &other.secret().to_z85());
        assert!(mixed.is_err());
        let same = KeyPair::from_z85(&one.public().to_z85(), &one.secret().to_z85());
        assert_eq!(same.expect("matches").public(), one.public());
    }
}
