//! Who is calling the admin API: the session token (bearer header or cookie) and the
//! [`CurrentUser`] extractor.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::domain::users::{session_user, CurrentUser};
use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "flowgate_session";

/// The bearer token or session cookie of a request.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        if let Some(t) = v.to_str().ok().and_then(|s| s.strip_prefix("Bearer ")) {
            return Some(t.trim().to_owned());
        }
    }
    req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned())
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = session_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no state")))?;
            let token = token.ok_or(AppError::Unauthorized)?;
            session_user(&state.db, &state.secret, &token).await
        })
    }
}
