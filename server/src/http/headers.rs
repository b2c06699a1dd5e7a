//! Security headers of every answer. Consumer answers (`/t/...`) hold whatever a flow chose to
//! send, on the admin UI's origin: they are sandboxed (no script, no same-origin access, no
//! sniffing), so a flow cannot attack the admin UI. Admin and UI answers get a strict policy
//! the wasm app works under. HSTS when the request came over HTTPS (a proxy saying so).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::ResponseError;

use crate::error::AppError;

/// Largest request head (all header names and values) accepted: larger gets `431`, before
/// anything else looks at the request.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The size of a request's headers, as the limit counts it.
pub fn head_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum()
}

/// Consumers on a listener of their own (`consumer_listen`).
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub consumer: std::net::SocketAddr,
}

/// Whether a path is a consumer endpoint.
pub fn consumer_path(path: &str) -> bool {
    path == "/t" || path.starts_with("/t/") || path == "/oauth/token"
}

/// Every answer's security headers, the head size limit, and, with `consumer_listen`, which
/// listener serves what (consumer endpoints on theirs, everything else on the main one).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let path = req.path();
    let consumer = consumer_path(path) && path != "/oauth/token";
    let https = via_https(req.headers());
    let misplaced = req
        .app_data::<actix_web::web::Data<Option<Split>>>()
        .and_then(|d| *d.get_ref())
        .is_some_and(|split| {
            let on_consumer_port = req.app_config().local_addr() == split.consumer;
            // Health and readiness answer on both, for load balancers.
            let either = matches!(path, "/healthz" | "/readyz");
            !either && on_consumer_port != consumer_path(path)
        });
    let mut res = if misplaced {
        let (r, _) = req.into_parts();
        let answer = AppError::NotFound("route").error_response();
        ServiceResponse::new(r, answer).map_into_right_body()
    } else if head_bytes(req.headers()) > MAX_HEAD_BYTES {
        let (r, _) = req.into_parts();
        let answer = AppError::HeadersTooLarge {
            limit: MAX_HEAD_BYTES,
        }
        .error_response();
        ServiceResponse::new(r, answer).map_into_right_body()
    } else {
        next.call(req).await?.map_into_left_body()
    };
    apply(res.headers_mut(), consumer, https);
    Ok(res)
}

/// The policy of consumer answers: a document opened from one has no script and an opaque
/// origin.
pub const CONSUMER_CSP: &str = "sandbox; default-src 'none'";

/// The policy of the admin origin: only this origin's files (the wasm module compiled with
/// `wasm-unsafe-eval`), no inline script, no framing. Style attributes set by the UI's
/// components stay allowed; style sheets only from here.
pub const ADMIN_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HSTS: &str = "max-age=31536000";

/// Whether the request reached us over HTTPS, as a TLS-terminating proxy tells
/// (`X-Forwarded-Proto: https` or `Forwarded: proto=https`).
pub fn via_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get("forwarded")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| {
            first.split(';').any(|p| {
                p.trim().split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("proto")
                        && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
                })
            })
        });
    forwarded_proto || forwarded
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &'static str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    );
}

/// Sets the headers of an answer (replacing any a flow set).
pub fn apply(headers: &mut HeaderMap, consumer: bool, https: bool) {
    set(headers, "x-content-type-options", "nosniff");
    if consumer {
        set(headers, "content-security-policy", CONSUMER_CSP);
    } else {
        set(headers, "content-security-policy", ADMIN_CSP);
        set(headers, "x-frame-options", "DENY");
        set(headers, "referrer-policy", "no-referrer");
        set(headers, "cross-origin-opener-policy", "same-origin");
    }
    if https {
        set(headers, "strict-transport-security", HSTS);
    }
}

/// Whether a flow may set this answer header: not cookies (they would belong to the admin
/// origin), not hop-by-hop headers, not the ones Flowgate sets itself.
pub fn flow_may_set(name: &str) -> bool {
    !matches!(
        name.to_ascii_lowercase().as_str(),
        "set-cookie"
            | "set-cookie2"
            | "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "content-security-policy"
            | "content-security-policy-report-only"
            | "x-content-type-options"
            | "strict-transport-security"
            | "x-flowgate-execution-id"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_read_from_the_proxy_headers() {
        let mut h = HeaderMap::new();
        assert!(!via_https(&h));
        h.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("https"),
        );
        assert!(via_https(&h));
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("forwarded"),
            HeaderValue::from_static("for=1.2.3.4;proto=https;by=x"),
        );
        assert!(via_https(&h));
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("http"),
        );
        assert!(!via_https(&h));
    }

    #[test]
    fn flows_cannot_set_cookies_or_hop_by_hop_headers() {
        for h in [
            "Set-Cookie",
            "connection",
            "Transfer-Encoding",
            "upgrade",
            "content-security-policy",
        ] {
            assert!(!flow_may_set(h), "{h}");
        }
        for h in ["content-type", "x-request-id", "cache-control", "location"] {
            assert!(flow_may_set(h), "{h}");
        }
    }
}
