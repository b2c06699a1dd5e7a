//! Admin users, sign-in and sessions.

use std::time::{Duration, Instant};

use flowgate_api::users::UserIn;
use flowgate_api::{LoginOut, UserOut, UserPatch};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::core::throttle::{ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES};
use crate::db::entities::{session, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::crypto::{
    dummy_hash, generate_token, hash_password, verify_password, ServerSecret,
};
use crate::support::time::{now_us, rfc3339};

pub use flowgate_api::users::{MIN_PASSWORD_CHARS, ROLES};

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

fn check_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::BadRequest(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

fn check_role(role: &str) -> AppResult<Role> {
    Role::parse(role)
        .ok_or_else(|| AppError::BadRequest(format!("role must be one of {}", ROLES.join(", "))))
}

/// Password hashing and checking run at most this many at once (one per core): each costs
/// ~19 MiB and tens of milliseconds of CPU, so a flood of sign-ins cannot starve the flows
/// or the memory.
static PASSWORD_WORK: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    });
/// How long a sign-in waits for its turn before `503 busy`.
const PASSWORD_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Runs argon2 work on the blocking pool, a bounded number at once.
async fn password_work<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = tokio::time::timeout(PASSWORD_QUEUE_WAIT, PASSWORD_WORK.acquire())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(|_| AppError::Busy)?;
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(anyhow::Error::from)?)
}

/// The argon2id hash of a password, computed off the async executor.
async fn hash_off_thread(password: String) -> AppResult<String> {
    Ok(password_work(move || hash_password(&password)).await??)
}

/// Creates a user (argon2id hash computed off the async executor).
pub async fn create(db: &DatabaseConnection, input: UserIn) -> AppResult<user::Model> {
    let email = normalise_email(&input.email)?;
    check_password(&input.password)?;
    check_role(&input.role)?;
    let hash = hash_off_thread(input.password).await?;
    let model = user::ActiveModel {
        id: Set(crate::support::ids::new_id()),
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

/// Signs in. Failed attempts are throttled per account and per client address: after a few,
/// each further attempt must wait (doubling, up to 15 minutes) and gets `429` with
/// `Retry-After` until then; a success forgets them.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> AppResult<LoginOut> {
    let email = email.trim().to_ascii_lowercase();
    let account_key = format!("account:{email}");
    let address_key = client.map(|ip| format!("address:{ip}")).unwrap_or_default();
    let keys = [account_key.as_str(), address_key.as_str()];
    if let Some(wait) = state.login_throttle.wait(&keys, Instant::now()) {
        return Err(AppError::RateLimited {
            what: "signing in after failed attempts",
            retry_after_s: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        });
    }
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&state.db)
        .await?;
    let hash = found
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let pw = password.to_owned();
    let ok = password_work(move || verify_password(&pw, &hash)).await?;
    let user = match found {
        Some(u) if ok && !u.disabled => u,
        _ => {
            state.login_throttle.failed(
                &[
                    (account_key.as_str(), ACCOUNT_FREE_FAILURES),
                    (address_key.as_str(), ADDRESS_FREE_FAILURES),
                ],
                Instant::now(),
            );
            return Err(AppError::BadCredentials);
        }
    };
    state.login_throttle.succeeded(&keys);
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

/// Changes a user's role, disabled flag or password (admin). Disabling ends the user's
/// sessions at once; a new password ends their sessions except the caller's own. An admin
/// cannot disable or demote themself, and the last enabled admin stays one.
pub async fn patch(
    state: &AppState,
    actor: &CurrentUser,
    id: &str,
    input: UserPatch,
    caller_token: Option<&str>,
) -> AppResult<UserOut> {
    if let Some(role) = &input.role {
        check_role(role)?;
    }
    let hash = match input.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash_off_thread(p).await?)
        }
        None => None,
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let u = user::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let disabling = input.disabled == Some(true) && !u.disabled;
    let demoting = u.role == "admin" && input.role.as_deref().is_some_and(|r| r != "admin");
    if u.id == actor.id && (disabling || demoting) {
        return Err(AppError::Conflict(
            "you cannot disable yourself or take away your own admin role; ask another admin"
                .into(),
        ));
    }
    if u.role == "admin" && !u.disabled && (disabling || demoting) {
        let enabled_admins = user::Entity::find()
            .filter(user::Column::Role.eq("admin"))
            .filter(user::Column::Disabled.eq(false))
            .count(&txn)
            .await?;
        if enabled_admins <= 1 {
            return Err(AppError::Conflict(
                "this is the last enabled admin; make another user admin first".into(),
            ));
        }
    }
    let password_changed = hash.is_some();
    let mut am: user::ActiveModel = u.into();
    if let Some(role) = input.role {
        am.role = Set(role);
    }
    if let Some(disabled) = input.disabled {
        am.disabled = Set(disabled);
    }
    if let Some(hash) = hash {
        am.password_hash = Set(hash);
    }
    let updated = am.update(&txn).await?;
    if updated.disabled || password_changed {
        let mut end = session::Entity::delete_many().filter(session::Column::UserId.eq(id));
        if !updated.disabled {
            if let Some(token) = caller_token.filter(|_| id == actor.id) {
                let keep = hex::encode(state.secret.digest(token.as_bytes()));
                end = end.filter(session::Column::Id.ne(keep));
            }
        }
        end.exec(&txn).await?;
    }
    txn.commit().await?;
    tracing::info!(user_id = %id, by = %actor.id, "user changed");
    Ok(to_out(&updated))
}

/// Deletes sessions that have expired.
pub async fn prune_sessions(state: &AppState) -> AppResult<u64> {
    let res = session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lt(now_us()))
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected)
}
