//! The CURVE handshake (RFC 26 commands in ZMTP frames, RFC 25), [`client`] and [`server`]
//! side, after the greetings. It ends with the connection's key and nonces
//! ([`Established`]) and the peer's metadata.
//!
//! Every command is read under [`MAX_COMMAND`](crate::zmtp::limits::MAX_COMMAND) and its
//! length checked before a field is read; a box that does not open ends the handshake.

use bytes::BytesMut;
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadInPlace, OsRng};
use crypto_box::{Nonce, SalsaBox, SecretKey};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::codec::{nonce, CurveRx, CurveTx};
use super::keys::{PublicKey, KEY_LEN};
use super::{CurveClient, CurveServer};
use crate::zmtp::command::{command, split_command};
use crate::zmtp::metadata::{self, PeerMetadata};
use crate::zmtp::stream::read_command;
use crate::zmtp::violation::{HandshakeError, Violation};

const MAC: usize = 16;
const COOKIE: usize = 96;
/// HELLO's data: version, padding, C', short nonce, Box[64 zeros].
const HELLO_LEN: usize = 2 + 72 + KEY_LEN + 8 + MAC + 64;
/// WELCOME's data: long nonce, Box[S' + cookie].
const WELCOME_LEN: usize = 16 + MAC + KEY_LEN + COOKIE;
/// INITIATE's box before the metadata: C, the vouch nonce and the vouch box.
const INITIATE_FIXED: usize = KEY_LEN + 16 + MAC + 2 * KEY_LEN;
/// The status an ERROR carries for a client key that is not allowed (ZAP's "400").
const NOT_ALLOWED: &[u8] = b"400";

/// The prefixes of the nonces of each box.
const HELLO_PREFIX: &[u8; 16] = b"CurveZMQHELLO---";
const INITIATE_PREFIX: &[u8; 16] = b"CurveZMQINITIATE";
const READY_PREFIX: &[u8; 16] = b"CurveZMQREADY---";
const FROM_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
const FROM_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";

/// A connection whose handshake is done: its key and where each direction's nonces are.
pub(crate) struct Established {
    /// Our transient secret key and the peer's transient public key (each half of the
    /// connection builds its cipher from them: the crate's cipher cannot be copied).
    transient: SecretKey,
    peer_transient: crypto_box::PublicKey,
    server_side: bool,
    /// The next nonce we send.
    next: u64,
    /// The last nonce the peer sent.
    last: u64,
}

impl Established {
    /// The sending and receiving halves, the latter for messages of at most `max_message`.
    pub(crate) fn split(self, max_message: usize) -> (CurveTx, CurveRx) {
        let (ours, theirs) = if self.server_side {
            (FROM_SERVER, FROM_CLIENT)
        } else {
            (FROM_CLIENT, FROM_SERVER)
        };
        (
            CurveTx::new(self.cipher(), ours, self.next),
            CurveRx::new(self.cipher(), theirs, self.last, max_message),
        )
    }
}

impl Established {
    fn cipher(&self) -> SalsaBox {
        SalsaBox::new(&self.peer_transient, &self.transient)
    }
}

/// A nonce of an 8-octet prefix and 16 random octets (WELCOME's, a vouch's), and those 16.
fn long_nonce(prefix: &[u8; 8]) -> (Nonce, [u8; 16]) {
    let mut random = [0u8; 16];
    OsRng.fill_bytes(&mut random);
    (long_nonce_of(prefix, &random), random)
}

fn long_nonce_of(prefix: &[u8; 8], random: &[u8]) -> Nonce {
    let mut full = [0u8; 24];
    full[..8].copy_from_slice(prefix);
    full[8..].copy_from_slice(random);
    Nonce::from(full)
}

/// `plaintext` in a box: MAC, then ciphertext (NaCl's layout, which the commands carry).
fn seal(cipher: &SalsaBox, nonce: &Nonce, plaintext: &[u8]) -> Result<Vec<u8>, HandshakeError> {
    let mut sealed = vec![0u8; MAC];
    sealed.extend_from_slice(plaintext);
    let mac = cipher
        .encrypt_in_place_detached(nonce, b"", &mut sealed[MAC..])
        .map_err(|_| Some(Violation::Handshake))?;
    sealed[..MAC].copy_from_slice(&mac);
    Ok(sealed)
}

/// What a box holds, if it opens.
fn open(cipher: &SalsaBox, nonce: &Nonce, sealed: &[u8]) -> Result<Vec<u8>, Violation> {
    if sealed.len() < MAC {
        return Err(Violation::Handshake);
    }
    let mut opened = sealed[MAC..].to_vec();
    cipher
        .decrypt_in_place_detached(
            nonce,
            b"",
            &mut opened,
            GenericArray::from_slice(&sealed[..MAC]),
        )
        .map_err(|_| Violation::Handshake)?;
    Ok(opened)
}

/// The data of command `body` if it is `name`; an ERROR from the peer is a refusal.
fn expect<'a>(body: &'a [u8], name: &[u8]) -> Result<&'a [u8], Violation> {
    match split_command(body) {
        Some((found, data)) if found == name => Ok(data),
        Some((b"ERROR", _)) => Err(Violation::Denied),
        _ => Err(Violation::Handshake),
    }
}

fn short_nonce(octets: &[u8]) -> u64 {
    let mut short = [0u8; 8];
    short.copy_from_slice(&octets[..8]);
    u64::from_be_bytes(short)
}

fn key(octets: &[u8]) -> crypto_box::PublicKey {
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&octets[..KEY_LEN]);
    crypto_box::PublicKey::from(key)
}

async fn send(stream: &mut TcpStream, frame: &[u8]) -> Result<(), HandshakeError> {
    stream.write_all(frame).await.map_err(|_| None)
}

/// The client's side: HELLO, WELCOME, INITIATE, READY. `buffer` holds what arrived after the
/// server's greeting; what arrives after its READY is left in it.
pub(crate) async fn client(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    socket_type: &str,
    config: &CurveClient,
) -> Result<(PeerMetadata, Established), HandshakeError> {
    let transient = SecretKey::generate(&mut OsRng);
    let transient_public = transient.public_key();
    let server = config.server_key().crypto();
    let to_server = SalsaBox::new(&server, &transient);
    let mut hello = vec![1, 0];
    hello.resize(2 + 72, 0);
    hello.extend_from_slice(transient_public.as_bytes());
    hello.extend_from_slice(&1u64.to_be_bytes());
    hello.extend(seal(&to_server, &nonce(HELLO_PREFIX, 1), &[0u8; 64])?);
    send(stream, &command(b"HELLO", &hello)).await?;

    let welcome = read_command(stream, buffer, Violation::Handshake).await?;
    let welcome = expect(&welcome, b"WELCOME")?;
    if welcome.len() != WELCOME_LEN {
        return Err(Some(Violation::Handshake));
    }
    let opened = open(
        &to_server,
        &long_nonce_of(b"WELCOME-", &welcome[..16]),
        &welcome[16..],
    )?;
    let server_transient = key(&opened);
    let cookie = &opened[KEY_LEN..];
    let session = SalsaBox::new(&server_transient, &transient);

    // The vouch: our long-term key says that the transient key is ours, for this server.
    let (vouch_nonce, vouch_random) = long_nonce(b"VOUCH---");
    let mut vouched = transient_public.as_bytes().to_vec();
    vouched.extend_from_slice(server.as_bytes());
    let vouch_cipher = SalsaBox::new(&server_transient, config.keys().secret().crypto());
    let vouch = seal(&vouch_cipher, &vouch_nonce, &vouched)?;
    let mut plaintext = config.public_key().as_bytes().to_vec();
    plaintext.extend_from_slice(&vouch_random);
    plaintext.extend(vouch);
    plaintext.extend(metadata::ours(socket_type));
    let mut initiate = cookie.to_vec();
    initiate.extend_from_slice(&2u64.to_be_bytes());
    initiate.extend(seal(&session, &nonce(INITIATE_PREFIX, 2), &plaintext)?);
    send(stream, &command(b"INITIATE", &initiate)).await?;

    let ready = read_command(stream, buffer, Violation::Handshake).await?;
    let ready = expect(&ready, b"READY")?;
    if ready.len() < 8 + MAC {
        return Err(Some(Violation::Handshake));
    }
    let last = short_nonce(ready);
    let properties = open(&session, &nonce(READY_PREFIX, last), &ready[8..])?;
    let peer = PeerMetadata::from(metadata::parse(&properties)?);
    let established = Established {
        transient,
        peer_transient: server_transient,
        server_side: false,
        next: 3,
        last,
    };
    Ok((peer, established))
}

/// The server's side: HELLO, WELCOME, INITIATE (where the client's key is checked against
/// the allow-list), READY. `buffer` as for [`client`].
pub(crate) async fn server(
    stream: &mut TcpStream,
    buffer: &mut BytesMut,
    socket_type: &str,
    config: &CurveServer,
) -> Result<(PeerMetadata, Established), HandshakeError> {
    let ours = config.keys();
    let hello = read_command(stream, buffer, Violation::Handshake).await?;
    let hello = expect(&hello, b"HELLO")?;
    if hello.len() != HELLO_LEN || hello[..2] != [1, 0] {
        return Err(Some(Violation::Handshake));
    }
    let client_transient = key(&hello[74..]);
    let from_client = SalsaBox::new(&client_transient, ours.secret().crypto());
    let signature = open(
        &from_client,
        &nonce(HELLO_PREFIX, short_nonce(&hello[106..])),
        &hello[114..],
    )?;
    if signature.len() != 64 {
        return Err(Some(Violation::Handshake));
    }

    let transient = SecretKey::generate(&mut OsRng);
    // Each connection has its handshake task, which keeps the transient key: the cookie need
    // not carry it, as a stateless server's would. Random octets that INITIATE must echo
    // suffice (a new one per connection, so comparing them leaks nothing worth timing).
    let mut cookie = [0u8; COOKIE];
    OsRng.fill_bytes(&mut cookie);
    let mut plaintext = transient.public_key().as_bytes().to_vec();
    plaintext.extend_from_slice(&cookie);
    let (welcome_nonce, welcome_random) = long_nonce(b"WELCOME-");
    let mut welcome = welcome_random.to_vec();
    welcome.extend(seal(&from_client, &welcome_nonce, &plaintext)?);
    send(stream, &command(b"WELCOME", &welcome)).await?;

    let initiate = read_command(stream, buffer, Violation::Handshake).await?;
    let initiate = expect(&initiate, b"INITIATE")?;
    if initiate.len() < COOKIE + 8 + MAC + INITIATE_FIXED || initiate[..COOKIE] != cookie {
        return Err(Some(Violation::Handshake));
    }
    let last = short_nonce(&initiate[COOKIE..]);
    let session = SalsaBox::new(&client_transient, &transient);
    let opened = open(
        &session,
        &nonce(INITIATE_PREFIX, last),
        &initiate[COOKIE + 8..],
    )?;
    let client = key(&opened);
    let vouch_cipher = SalsaBox::new(&client, &transient);
    let vouched = open(
        &vouch_cipher,
        &long_nonce_of(b"VOUCH---", &opened[KEY_LEN..KEY_LEN + 16]),
        &opened[KEY_LEN + 16..INITIATE_FIXED],
    )?;
    if vouched.len() != 2 * KEY_LEN
        || vouched[..KEY_LEN] != client_transient.as_bytes()[..]
        || vouched[KEY_LEN..] != ours.public().as_bytes()[..]
    {
        return Err(Some(Violation::Handshake));
    }
    let client = PublicKey::from_bytes(*client.as_bytes());
    if !config.allow_list().contains(&client) {
        tracing::debug!(key = %client, "refused a CURVE client key not on the allow-list");
        let mut reason = vec![NOT_ALLOWED.len() as u8];
        reason.extend_from_slice(NOT_ALLOWED);
        send(stream, &command(b"ERROR", &reason)).await?;
        return Err(Some(Violation::NotAllowed));
    }
    let peer = PeerMetadata::from(metadata::parse(&opened[INITIATE_FIXED..])?);

    let mut ready = 1u64.to_be_bytes().to_vec();
    ready.extend(seal(
        &session,
        &nonce(READY_PREFIX, 1),
        &metadata::ours(socket_type),
    )?);
    send(stream, &command(b"READY", &ready)).await?;
    let established = Established {
        transient,
        peer_transient: client_transient,
        server_side: true,
        next: 2,
        last,
    };
    Ok((peer, established))
}
