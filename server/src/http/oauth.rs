//! `POST /oauth/token`: the OAuth2 token endpoint for trigger callers (client credentials
//! grant, RFC 6749 §4.4), answering in the RFC's shapes (§5.1, §5.2) rather than Flowgate's
//! JSON error shape, so that OAuth2 client libraries understand it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use flowgate_api::oauth::{TokenErrorOut, TokenForm, TokenOut};
use futures_util::StreamExt;

use crate::domain::oauth_clients::{self, Grant, GrantError};
use crate::state::AppState;

/// Largest token request body.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(oauth_clients::TOKEN_PATH, web::post().to(token));
}

/// Get an access token (OAuth2 client credentials)
///
/// For callers of `oauth2` triggers: send the token as `Authorization: Bearer <token>`. The
/// client's credentials come by HTTP Basic or as `client_id` and `client_secret` in the form
/// (not both). Errors are RFC 6749 §5.2 JSON, `Cache-Control: no-store`.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    operation_id = "oauth_token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenOut,
         headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`invalid_request` (missing `grant_type`, not form-encoded, a \
         field twice, Basic and body credentials both, body over 16 KiB), \
         `unsupported_grant_type` or `invalid_scope`", body = TokenErrorOut),
        (status = 401, description = "`invalid_client`: unknown client, wrong or revoked secret",
         body = TokenErrorOut,
         headers(("WWW-Authenticate" = String, description = "`Basic realm=\"flowgate\"`"))),
    ),
    security((), ("client_basic" = []))
)]
async fn token(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return refuse(&GrantError::InvalidRequest(
                "reading the body failed".into(),
            ));
        };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return refuse(&GrantError::InvalidRequest(format!(
                "the body is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let grant = match read_grant(&req, &body) {
        Ok(g) => g,
        Err(e) => return refuse(&e),
    };
    match oauth_clients::issue(&state, grant) {
        Ok(out) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(out),
        Err(e) => refuse(&e),
    }
}

/// The grant of a request: form fields, and the client's credentials from HTTP Basic or the
/// body (not both).
fn read_grant(req: &HttpRequest, body: &[u8]) -> Result<Grant, GrantError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if !form_type {
        return Err(GrantError::InvalidRequest(
            "send the request as application/x-www-form-urlencoded".into(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| GrantError::InvalidRequest(format!("the form is not valid: {e}")))?;
    let mut grant = Grant::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "grant_type" => &mut grant.grant_type,
            "client_id" => &mut grant.client_id,
            "client_secret" => &mut grant.client_secret,
            "scope" => &mut grant.scope,
            _ => continue,
        };
        if slot.is_some() {
            return Err(GrantError::InvalidRequest(format!(
                "`{k}` is given more than once"
            )));
        }
        *slot = Some(v);
    }
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        let (id, secret) = basic_credentials(auth.as_bytes()).ok_or(GrantError::InvalidClient)?;
        if grant.client_secret.is_some() || grant.client_id.as_ref().is_some_and(|c| *c != id) {
            return Err(GrantError::InvalidRequest(
                "authenticate the client with HTTP Basic or with the body, not both".into(),
            ));
        }
        grant.client_id = Some(id);
        grant.client_secret = Some(secret);
    }
    Ok(grant)
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn refuse(e: &GrantError) -> HttpResponse {
    let body = TokenErrorOut {
        error: e.code().to_owned(),
        error_description: Some(e.description()),
    };
    let mut resp = if *e == GrantError::InvalidClient {
        let mut r = HttpResponse::Unauthorized();
        r.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"flowgate\""));
        r
    } else {
        HttpResponse::BadRequest()
    };
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::basic_credentials;

    #[test]
    fn basic_credentials_are_url_decoded() {
        // "my%20client:s%3Acret" -> ("my client", "s:cret")
        let v = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                "my%20client:s%3Acret"
            )
        );
        assert_eq!(
            basic_credentials(v.as_bytes()),
            Some(("my client".into(), "s:cret".into()))
        );
        assert_eq!(basic_credentials(b"Bearer x"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
    }
}
