//! Admin users, sign-in and sessions.

use flowgate_api::users::UserIn;
use flowgate_api::{LoginOut, UserOut};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::auth::{dummy_hash, generate_token, hash_password, verify_password, ServerSecret};
use crate::db::entities::{session, user};
use crate::error::{AppError, AppResult};
use crate::time::{now_us, rfc3339};
use crate::AppState;

pub const ROLES: &[&str] = &["admin", "designer", "viewer"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Designer,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "designer" => Some(Role::Designer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// The signed-in user of an admin request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn require(&self, role: Role) -> AppResult<()> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

pub fn to_out(u: &user::Model) -> UserOut {
    UserOut {
        id: u.id.clone(),
        email: u.email.clone(),
        role: u.role.clone(),
        disabled: u.disabled,
        created_at: rfc3339(u.created_at),
    }
}

fn normalise_email(email: &str) -> AppResult<String> {
    let e = email.trim().to_ascii_lowercase();
    match e.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && e.len() <= 254 => {
            Ok(e)
        }
        _ => Err(AppError::BadRequest(
            "a valid email address is required".into(),
        )),
    }
}

/// Creates a user (argon2id hash computed off the async executor).
pub async fn create(db: &DatabaseConnection, input: UserIn) -> AppResult<user::Model> {
    let email = normalise_email(&input.email)?;
    if input.password.chars().count() < 8 {
        return Err(AppError::BadRequest(
            "the password must have at least 8 characters".into(),
        ));
    }
    if Role::parse(&input.role).is_none() {
        return Err(AppError::BadRequest(format!(
            "role must be one of {}",
            ROLES.join(", ")
        )));
    }
    let password = input.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(anyhow::Error::from)??;
    let model = user::ActiveModel {
        id: Set(crate::executions::new_id()),
        email: Set(email),
        password_hash: Set(hash),
        role: Set(input.role),
        disabled: Set(false),
        created_at: Set(now_us()),
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict("a user with this email exists".into())
        }
        _ => AppError::Db(e),
    })?;
    Ok(model)
}

/// Creates the first admin from the settings when there is no user yet.
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    if email.is_empty() || user::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let input = UserIn {
        email: email.to_owned(),
        password: password.to_owned(),
        role: "admin".to_owned(),
    };
    let u = create(db, input)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    tracing::info!(user_id = %u.id, "first admin created");
    Ok(())
}

pub async fn login(state: &AppState, email: &str, password: &str) -> AppResult<LoginOut> {
    let email = email.trim().to_ascii_lowercase();
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&state.db)
        .await?;
    let hash = found
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(anyhow::Error::from)?;
    let user = match found {
        Some(u) if ok && !u.disabled => u,
        _ => return Err(AppError::BadCredentials),
    };
    let token = generate_token();
    let now = now_us();
    let ttl = i64::try_from(state.cfg.auth.session_ttl_hours).unwrap_or(12) * 3_600_000_000;
    session::ActiveModel {
        id: Set(hex::encode(state.secret.digest(token.as_bytes()))),
        user_id: Set(user.id.clone()),
        created_at: Set(now),
        expires_at: Set(now + ttl),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(LoginOut {
        token,
        expires_at: rfc3339(now + ttl),
        user: to_out(&user),
    })
}

/// Resolves a session token to its user, if the session is live.
pub async fn session_user(
    db: &DatabaseConnection,
    secret: &ServerSecret,
    token: &str,
) -> AppResult<CurrentUser> {
    let id = hex::encode(secret.digest(token.as_bytes()));
    let s = session::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| s.expires_at > now_us())
        .ok_or(AppError::Unauthorized)?;
    let u = user::Entity::find_by_id(s.user_id)
        .one(db)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthorized)?;
    let role = Role::parse(&u.role).ok_or(AppError::Unauthorized)?;
    Ok(CurrentUser {
        id: u.id,
        email: u.email,
        role,
    })
}

pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    let id = hex::encode(state.secret.digest(token.as_bytes()));
    session::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(())
}

pub async fn list(state: &AppState) -> AppResult<Vec<UserOut>> {
    let all = user::Entity::find()
        .order_by_asc(user::Column::Email)
        .all(&state.db)
        .await?;
    Ok(all.iter().map(to_out).collect())
}

pub async fn get(state: &AppState, id: &str) -> AppResult<UserOut> {
    let u = user::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(to_out(&u))
}
