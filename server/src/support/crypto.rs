//! Secrets: the server secret, API key digests, admin passwords (argon2id) and session tokens.

use std::path::Path;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{KeyInit, Mac};
use rand::RngCore;
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The server's own secret: keys API-key and session digests. Never logged.
#[derive(Clone)]
pub struct ServerSecret([u8; 32]);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret([redacted])")
    }
}

impl ServerSecret {
    /// Reads `server.secret` from the data dir, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<ServerSecret> {
        let path = data_dir.join("server.secret");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let bytes = hex::decode(text.trim())
                .map_err(|e| anyhow::anyhow!("{} is not hex: {e}", path.display()))?;
            let arr: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display()))?;
            return Ok(ServerSecret(arr));
        }
        std::fs::create_dir_all(data_dir)?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        write_private(&path, &hex::encode(bytes))?;
        tracing::info!(path = %path.display(), "generated a new server secret");
        Ok(ServerSecret(bytes))
    }

    #[cfg(test)]
    pub fn fixed(b: u8) -> ServerSecret {
        ServerSecret([b; 32])
    }

    /// The key OAuth2 access tokens are signed with, derived from the server secret.
    pub fn token_key(&self) -> [u8; 32] {
        self.digest(b"flowgate: oauth2 access tokens, v1")
    }

    /// HMAC-SHA256 of a presented secret or token under the server secret.
    pub fn digest(&self, value: &[u8]) -> [u8; 32] {
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            // HMAC accepts keys of any length; this arm cannot be taken.
            Err(_) => return [0u8; 32],
        };
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// A digest stored as hex; `None` when the text is not 32 bytes of hex.
pub fn digest_from_hex(hex_text: &str) -> Option<[u8; 32]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

/// Equal digests, compared in constant time.
pub fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A fresh high-entropy secret: `fg_` + 32 random bytes, base64url.
pub fn generate_key_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "fg_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The visible part of a key: its first 8 characters.
pub fn key_prefix(secret: &str) -> String {
    secret.chars().take(8).collect()
}

/// A session token (shown to the user once, stored only as its digest).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// argon2id hash (PHC string). CPU-heavy: call on the blocking pool.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against its stored hash. CPU-heavy: call on the blocking pool.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so timing does not tell.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// The format tag of sealed values.
const SEALED_FORMAT: &str = "v1:";

fn cipher(server: &ServerSecret) -> Option<ChaCha20Poly1305> {
    let key = server.digest(b"flowgate: stored secrets encryption key, v1");
    ChaCha20Poly1305::new_from_slice(&key).ok()
}

/// Encrypts a value for storage (ChaCha20-Poly1305 under a key derived from the server
/// secret), bound to `name` as associated data so it cannot be moved to another row.
pub fn seal(server: &ServerSecret, name: &str, value: &str) -> anyhow::Result<String> {
    let cipher = cipher(server).ok_or_else(|| anyhow::anyhow!("bad key length"))?;
    let nonce_bytes: [u8; 12] = rand::random();
    let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| anyhow::anyhow!("bad nonce"))?;
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: value.as_bytes(),
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("encrypting a secret failed"))?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!(
        "{SEALED_FORMAT}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

/// Decrypts a stored value; `None` when it was not sealed under this server secret and name.
pub fn open(server: &ServerSecret, name: &str, stored: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored.strip_prefix(SEALED_FORMAT)?)
        .ok()?;
    let (nonce, sealed) = bytes.split_at_checked(12)?;
    let nonce = Nonce::try_from(nonce).ok()?;
    let plain = cipher(server)?
        .decrypt(
            &nonce,
            Payload {
                msg: sealed,
                aad: name.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_server_secret() {
        let a = ServerSecret::fixed(1).digest(b"key");
        let b = ServerSecret::fixed(2).digest(b"key");
        assert_ne!(a, b);
        assert!(same_digest(&a, &ServerSecret::fixed(1).digest(b"key")));
        assert!(!same_digest(&a, &b));
    }

    #[test]
    fn server_secret_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let s1 = ServerSecret::load_or_create(dir.path()).unwrap();
        let s2 = ServerSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(s1.digest(b"x"), s2.digest(b"x"));
        assert_eq!(format!("{s1:?}"), "ServerSecret([redacted])");
    }

    #[test]
    fn passwords_verify_only_when_equal() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn generated_keys_are_distinct_and_prefixed() {
        let a = generate_key_secret();
        assert!(a.starts_with("fg_") && a.len() > 40);
        assert_ne!(a, generate_key_secret());
        assert_eq!(key_prefix(&a).len(), 8);
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_name() {
        let key = ServerSecret::fixed(7);
        let sealed = seal(&key, "crm", "s3cr3t-value").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("s3cr3t"));
        assert_ne!(
            sealed,
            seal(&key, "crm", "s3cr3t-value").unwrap(),
            "fresh nonce"
        );
        assert_eq!(open(&key, "crm", &sealed).as_deref(), Some("s3cr3t-value"));
        assert_eq!(open(&key, "other", &sealed), None);
        assert_eq!(open(&ServerSecret::fixed(8), "crm", &sealed), None);
        assert_eq!(open(&key, "crm", "v1:AAAA"), None);
        assert_eq!(open(&key, "crm", "plain"), None);
    }
}
