//! Stored secrets: credentials that flows use by name (the `auth` of HTTP steps). Values are
//! encrypted at rest with ChaCha20-Poly1305 under a key derived from the server secret (the
//! secret's name is the associated data, so a value cannot be moved to another name), are
//! accepted on creation and rotation only, and are never returned or logged.

use actix_web::{web, HttpResponse};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use flowgate_api::secrets::{SecretIn, SecretOut, SecretValueIn};
use flowgate_api::Page;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set};

use crate::auth::ServerSecret;
use crate::domain::users::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::time::{now_us, rfc3339};
use crate::AppState;

/// Longest secret value, in bytes.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;
const FORMAT: &str = "v1:";

pub mod secret {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Encrypted: `v1:` + base64(nonce || ciphertext).
        pub value: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Secret")
                .field("name", &self.name)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn cipher(server: &ServerSecret) -> Option<ChaCha20Poly1305> {
    let key = server.digest(b"flowgate: stored secrets encryption key, v1");
    ChaCha20Poly1305::new_from_slice(&key).ok()
}

/// Encrypts a value for storage under its name.
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
        "{FORMAT}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

/// Decrypts a stored value; `None` when it was not sealed under this server secret and name.
pub fn open(server: &ServerSecret, name: &str, stored: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored.strip_prefix(FORMAT)?)
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

fn out(m: &secret::Model) -> SecretOut {
    SecretOut {
        name: m.name.clone(),
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
    }
}

fn check_value(value: &str) -> AppResult<()> {
    if value.is_empty() || value.len() > MAX_VALUE_BYTES {
        return Err(AppError::BadRequest(format!(
            "a secret value has 1 to {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(())
}

pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<SecretOut>> {
    let rows = secret::Entity::find()
        .order_by_asc(secret::Column::Name)
        .all(db)
        .await?;
    Ok(rows.iter().map(out).collect())
}

/// The names of all stored secrets.
pub async fn names(db: &DatabaseConnection) -> Result<Vec<String>, sea_orm::DbErr> {
    let rows = secret::Entity::find().all(db).await?;
    Ok(rows.into_iter().map(|m| m.name).collect())
}

pub async fn create(state: &AppState, input: SecretIn) -> AppResult<SecretOut> {
    if let Some(problem) = flows_runtime::secret_name_problem(&input.name) {
        return Err(AppError::BadRequest(problem));
    }
    check_value(&input.value)?;
    if secret::Entity::find_by_id(input.name.clone())
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "a secret named `{}` exists; PUT a new value to rotate it",
            input.name
        )));
    }
    let now = now_us();
    let row = secret::ActiveModel {
        value: Set(seal(&state.secret, &input.name, &input.value)?),
        name: Set(input.name),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(secret = %row.name, "secret created");
    Ok(out(&row))
}

pub async fn rotate(state: &AppState, name: &str, input: SecretValueIn) -> AppResult<SecretOut> {
    check_value(&input.value)?;
    let row = secret::Entity::find_by_id(name.to_owned())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("secret"))?;
    let mut active: secret::ActiveModel = row.into();
    active.value = Set(seal(&state.secret, name, &input.value)?);
    active.updated_at = Set(now_us());
    let row = active.update(&state.db).await?;
    tracing::info!(secret = %row.name, "secret rotated");
    Ok(out(&row))
}

pub async fn delete(state: &AppState, name: &str) -> AppResult<()> {
    let res = secret::Entity::delete_by_id(name.to_owned())
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound("secret"));
    }
    tracing::info!(secret = %name, "secret deleted");
    Ok(())
}

type State = web::Data<AppState>;

/// `/secrets` routes: admins only, reading too (names say which systems are reached).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/secrets", web::get().to(list_handler))
        .route("/secrets", web::post().to(create_handler))
        .route("/secrets/{name}", web::put().to(rotate_handler))
        .route("/secrets/{name}", web::delete().to(delete_handler));
}

async fn list_handler(state: State, user: CurrentUser) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(Page {
        items: list(&state.db).await?,
        next_cursor: None,
    }))
}

async fn create_handler(
    state: State,
    user: CurrentUser,
    body: web::Json<SecretIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Created().json(create(&state, body.into_inner()).await?))
}

async fn rotate_handler(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
    body: web::Json<SecretValueIn>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(rotate(&state, &name, body.into_inner()).await?))
}

async fn delete_handler(
    state: State,
    user: CurrentUser,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(Role::Admin)?;
    delete(&state, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

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
