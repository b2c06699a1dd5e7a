//! OAuth2 access tokens: stateless and signed, so checking one costs an HMAC and no database
//! read. `fgat_` + base64url(`client_id \n issued \n expires \n scope`) + `.` +
//! base64url(HMAC-SHA256 of that text under a key derived from the server secret).
//! Revocation works through the registry: a token of a client that is not live is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

pub const PREFIX: &str = "fgat_";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub client_id: String,
    /// Unix seconds.
    pub issued: i64,
    pub expires: i64,
    /// Space-separated scopes granted; empty: none.
    pub scope: String,
}

impl Claims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a token was refused; the message goes to the caller (`error_description`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token is not valid")]
    Forged,
    #[error("the access token has expired")]
    Expired,
}

fn mac(key: &[u8; 32], text: &[u8]) -> Option<[u8; 32]> {
    let mut m = HmacSha256::new_from_slice(key).ok()?;
    m.update(text);
    Some(m.finalize().into_bytes().into())
}

/// A signed token for these claims.
pub fn issue(key: &[u8; 32], claims: &Claims) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}",
        claims.client_id, claims.issued, claims.expires, claims.scope
    );
    let sig = mac(key, text.as_bytes()).unwrap_or([0; 32]);
    format!("{PREFIX}{}.{}", B64.encode(text), B64.encode(sig))
}

/// The claims of a genuine token that has not expired at `now` (Unix seconds).
pub fn read(key: &[u8; 32], token: &str, now: i64) -> Result<Claims, TokenError> {
    let body = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
    if body.len() > 2048 {
        return Err(TokenError::Malformed);
    }
    let (text, sig) = body.split_once('.').ok_or(TokenError::Malformed)?;
    let text = B64.decode(text).map_err(|_| TokenError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
    let expected = mac(key, &text).ok_or(TokenError::Forged)?;
    if sig.len() != expected.len() || !bool::from(expected.ct_eq(&sig)) {
        return Err(TokenError::Forged);
    }
    let text = String::from_utf8(text).map_err(|_| TokenError::Malformed)?;
    let mut parts = text.splitn(4, '\n');
    let mut next = || parts.next().ok_or(TokenError::Malformed);
    let client_id = next()?.to_owned();
    let issued = next()?.parse().map_err(|_| TokenError::Malformed)?;
    let expires: i64 = next()?.parse().map_err(|_| TokenError::Malformed)?;
    let scope = next()?.to_owned();
    if expires <= now {
        return Err(TokenError::Expired);
    }
    Ok(Claims {
        client_id,
        issued,
        expires,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            client_id: "c1".into(),
            issued: 1000,
            expires: 4600,
            scope: "events.write orders".into(),
        }
    }

    #[test]
    fn a_token_reads_back_until_it_expires() {
        let key = [7u8; 32];
        let t = issue(&key, &claims());
        assert!(t.starts_with(PREFIX));
        assert_eq!(read(&key, &t, 2000), Ok(claims()));
        assert!(read(&key, &t, 2000).unwrap().has_scope("orders"));
        assert!(!read(&key, &t, 2000).unwrap().has_scope("order"));
        assert_eq!(read(&key, &t, 4600), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_altered_tokens_are_refused() {
        let key = [7u8; 32];
        let t = issue(&key, &claims());
        assert_eq!(read(&[8u8; 32], &t, 2000), Err(TokenError::Forged));
        // Another client id with the first token's signature.
        let other = issue(
            &key,
            &Claims {
                client_id: "c2".into(),
                ..claims()
            },
        );
        let (head, _) = other.split_once('.').unwrap();
        let (_, sig) = t.split_once('.').unwrap();
        assert_eq!(
            read(&key, &format!("{head}.{sig}"), 2000),
            Err(TokenError::Forged)
        );
        for bad in ["", "fgat_", "fgat_abc", "fg_x.y", "fgat_!!.??"] {
            assert_eq!(read(&key, bad, 2000), Err(TokenError::Malformed), "{bad}");
        }
    }
}
