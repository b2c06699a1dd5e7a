//! Reading request bodies the way every admin endpoint does.

use actix_web::web;
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};

/// An optional JSON body: none (or only whitespace) means the defaults.
pub fn optional_json<T: DeserializeOwned + Default>(body: &web::Bytes) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
}
